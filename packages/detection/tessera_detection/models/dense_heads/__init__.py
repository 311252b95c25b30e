"""Dense heads of tessera-detection."""
from .rotated_retina_head import RotatedRetinaHead

__all__ = ['RotatedRetinaHead']
