from .cost import CoSTa, CoSTb, ViewAttention, cost_views
from .temporal_shift import SHIFT_PLACES, TemporalShift, make_temporal_shift, temporal_shift

__all__ = ['CoSTa', 'CoSTb', 'SHIFT_PLACES', 'TemporalShift', 'ViewAttention', 'cost_views', 'make_temporal_shift',
           'temporal_shift']
