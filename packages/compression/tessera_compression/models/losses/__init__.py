from .info_nce_loss import InfoNCELoss, info_nce_logits
from .kl_divergence import KLDivergence, kd_loss

__all__ = ['InfoNCELoss', 'info_nce_logits', 'KLDivergence', 'kd_loss']
