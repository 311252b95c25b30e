"""Hooks of tessera-detection (registered in ``tessera_detection.registry``)."""
from .detection_grid_hook import DetectionGridHook
from .mal_schedule_hook import MALScheduleHook

__all__ = ['DetectionGridHook', 'MALScheduleHook']
