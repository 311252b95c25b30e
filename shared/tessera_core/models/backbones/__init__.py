from .ghostnet import GhostNet
from .c_ghostnet import CGhostNet
from .g_ghost_regnet import GGhostRegNet
from .resnet import ResNet

__all__ = ['GhostNet', 'ResNet']
__all__ += ['CGhostNet', 'GGhostRegNet']
