"""Datasets of tessera-detection (registered in ``tessera_detection.registry``)."""
from .digit_canvas import DigitCanvas, tight_box
from .digit_canvas_dataset import DigitCanvasDataset

__all__ = ['DigitCanvas', 'DigitCanvasDataset', 'tight_box']
