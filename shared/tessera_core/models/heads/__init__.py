from .cls_head import ClsHead
from .conv_cls_head import ConvClsHead
from .linear_cls_head import LinearClsHead
from .micronet_head import MicroNetClsHead
from .fpn_seg_head import FPNSegHead

__all__ = ['ClsHead', 'ConvClsHead', 'LinearClsHead']
__all__ += ['MicroNetClsHead']
__all__ += ['FPNSegHead']
from .gvb_cls_head import GVBClsHead
__all__ += ['GVBClsHead']
