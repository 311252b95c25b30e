from .ghostnet import GhostNet
from .c_ghostnet import CGhostNet
from .g_ghost_regnet import GGhostRegNet
from .resnet import ResNet
from .staged_backbone import StagedBackbone
from .mobilenet_v2 import MobileNetV2
from .dcd_mobilenet_v2 import DCDMobileNetV2
from .dcd_resnet import DCDResNet
from .micronet import MicroNet

__all__ = ['GhostNet', 'ResNet']
__all__ += ['CGhostNet', 'GGhostRegNet']
__all__ += ['MobileNetV2', 'DCDMobileNetV2', 'DCDResNet']
__all__ += ['MicroNet']
__all__ += ['StagedBackbone']
from .fe_net import SparseShiftMobileNetV2  # noqa: F401
