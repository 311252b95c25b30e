from .label_smooth_loss import LabelSmoothLoss
from .bnm_loss import BNMLoss, batch_nuclear_norm

__all__ = ['LabelSmoothLoss']
__all__ += ['BNMLoss', 'batch_nuclear_norm']
from .domain_adversarial_loss import domain_accuracy, domain_adversarial_loss, entropy_domain_weights, prediction_entropy
__all__ += ['domain_accuracy', 'domain_adversarial_loss', 'entropy_domain_weights', 'prediction_entropy']
