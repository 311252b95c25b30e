"""Dense heads of tessera-detection."""
from .cpn_head import CPNHead
from .mal_retina_head import MALRetinaHead
from .rotated_retina_head import RotatedRetinaHead

__all__ = ['MALRetinaHead', 'RotatedRetinaHead']
__all__ += ['CPNHead']
from .centernet_pp_head import CenterNetPPHead  # noqa: E402
__all__ += ['CenterNetPPHead']
from .pycenternet_head import PyCenterNetHead  # noqa: E402
__all__ += ['PyCenterNetHead']
