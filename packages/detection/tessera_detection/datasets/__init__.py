"""Datasets of tessera-detection (registered in ``tessera_detection.registry``)."""
from .digit_canvas import DigitCanvas, tight_box
from .digit_canvas_dataset import DigitCanvasDataset
from .dota_dataset import DOTADataset
from .rotated_digit_canvas import RotatedDigitCanvas, min_area_rbox
from .rotated_digit_canvas_dataset import RotatedDigitCanvasDataset
from .transforms import LoadRotatedAnnotations, PackRotatedDetInputs

__all__ = ['DigitCanvas', 'DigitCanvasDataset', 'tight_box', 'DOTADataset', 'RotatedDigitCanvas',
           'RotatedDigitCanvasDataset', 'min_area_rbox', 'LoadRotatedAnnotations', 'PackRotatedDetInputs']
