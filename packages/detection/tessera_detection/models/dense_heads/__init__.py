"""Dense heads of tessera-detection."""
from .mal_retina_head import MALRetinaHead
from .rotated_retina_head import RotatedRetinaHead

__all__ = ['MALRetinaHead', 'RotatedRetinaHead']
