from .temporal_shift import SHIFT_PLACES, TemporalShift, make_temporal_shift, temporal_shift

__all__ = ['SHIFT_PLACES', 'TemporalShift', 'make_temporal_shift', 'temporal_shift']
