from .dafl_losses import ActivationLoss, InformationEntropyLoss, OnehotLikeLoss
from .info_nce_loss import InfoNCELoss, info_nce_logits
from .kl_divergence import KLDivergence, kd_loss

__all__ = ['ActivationLoss', 'InformationEntropyLoss', 'OnehotLikeLoss', 'InfoNCELoss', 'info_nce_logits',
           'KLDivergence', 'kd_loss']
