from .mlp_projector import MLPProjector
from .moco_v2 import MoCoV2

__all__ = ['MLPProjector', 'MoCoV2']
