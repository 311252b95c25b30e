from .bingo_loss import BINGOLoss, bag_logits
from .dafl_losses import ActivationLoss, InformationEntropyLoss, OnehotLikeLoss
from .info_nce_loss import InfoNCELoss, info_nce_logits
from .kl_divergence import KLDivergence, kd_loss
from .seed_loss import SEEDLoss, seed_logits

__all__ = ['BINGOLoss', 'bag_logits', 'SEEDLoss', 'seed_logits', 'ActivationLoss', 'InformationEntropyLoss', 'OnehotLikeLoss', 'InfoNCELoss', 'info_nce_logits',
           'KLDivergence', 'kd_loss']
