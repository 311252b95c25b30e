from .center_loss import CenterLoss
from .soft_mask_loss import SoftMaskLoss
from .target_attention_loss import TargetAttentionLoss
from .triplet_loss import TripletLoss, euclidean_dist, hard_example_mining

__all__ = ['CenterLoss', 'TripletLoss', 'euclidean_dist', 'hard_example_mining', 'TargetAttentionLoss',
           'SoftMaskLoss']
