from .mlp_projector import MLPProjector
from .moco_v2 import MoCoV2
from .split_batch_norm import SplitBatchNorm2d

__all__ = ['MLPProjector', 'MoCoV2', 'SplitBatchNorm2d']
