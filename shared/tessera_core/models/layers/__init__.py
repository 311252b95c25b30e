from .conv_bn_act import ConvBnAct, fuse_conv_bn
from .g_ghost_stage import GGhostStage, g_ghost_split
from .ghost_bottleneck import GhostBottleneck
from .ghost_module import GhostModule
from .squeeze_excitation import SqueezeExcitation
from .dcd_conv import DCDConv2d
from .dynamic_shift_max import DynamicShiftMax, group_shift_index
from .micro_factorized_conv import ChannelShuffle, MicroFactorizedDepthwiseConv, MicroFactorizedPointwiseConv, channel_shuffle_index  # noqa: E501
from .memorized_batch_norm import MemorizedBatchNorm2d, combine_batch_statistics, refresh_memorized_statistics

__all__ = ['ConvBnAct', 'fuse_conv_bn', 'GhostBottleneck', 'GhostModule', 'SqueezeExcitation']
__all__ += ['GGhostStage', 'g_ghost_split']
__all__ += ['DCDConv2d']
__all__ += ['DynamicShiftMax', 'group_shift_index', 'ChannelShuffle', 'channel_shuffle_index', 'MicroFactorizedDepthwiseConv', 'MicroFactorizedPointwiseConv']  # noqa: E501
__all__ += ['MemorizedBatchNorm2d', 'combine_batch_statistics', 'refresh_memorized_statistics']
from .gradient_reversal import GradientReversalLayer, dann_coeff, grad_reverse
from .domain_discriminator import DomainDiscriminator
__all__ += ['GradientReversalLayer', 'dann_coeff', 'grad_reverse', 'DomainDiscriminator']
from .sparse_shift import SparseShift2d, bilinear_shift, integer_shift, quantize_sparse_shifts, sparse_shift_statistics  # noqa: E501,F401
