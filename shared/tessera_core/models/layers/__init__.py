from .conv_bn_act import ConvBnAct, fuse_conv_bn
from .g_ghost_stage import GGhostStage, g_ghost_split
from .ghost_bottleneck import GhostBottleneck
from .ghost_module import GhostModule
from .squeeze_excitation import SqueezeExcitation

__all__ = ['ConvBnAct', 'fuse_conv_bn', 'GhostBottleneck', 'GhostModule', 'SqueezeExcitation']
__all__ += ['GGhostStage', 'g_ghost_split']
