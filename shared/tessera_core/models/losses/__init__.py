from .label_smooth_loss import LabelSmoothLoss
from .bnm_loss import BNMLoss, batch_nuclear_norm

__all__ = ['LabelSmoothLoss']
__all__ += ['BNMLoss', 'batch_nuclear_norm']
