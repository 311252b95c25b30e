"""Dense heads of tessera-detection."""
from .mal_retina_head import MALRetinaHead
from .rotated_retina_head import RotatedRetinaHead

__all__ = ['MALRetinaHead', 'RotatedRetinaHead']
from .centernet_pp_head import CenterNetPPHead  # noqa: E402
__all__ += ['CenterNetPPHead']
