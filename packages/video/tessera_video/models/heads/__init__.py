from .i3d_head import I3DHead
from .tsn_head import TSNHead

__all__ = ['I3DHead', 'TSNHead']
