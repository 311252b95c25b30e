"""tessera-detection: object detection on mmdet 3.x."""
from .version import __version__
from ._mmcv_ops_check import check_mmcv_ops as _check_mmcv_ops

_check_mmcv_ops()  # mmcv-lite has no compiled ops: one message naming the missing ops and the build command

__all__ = ['__version__']
