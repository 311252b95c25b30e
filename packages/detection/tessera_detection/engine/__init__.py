"""Hooks of tessera-detection (registered in ``tessera_detection.registry``)."""
from .detection_grid_hook import DetectionGridHook

__all__ = ['DetectionGridHook']
