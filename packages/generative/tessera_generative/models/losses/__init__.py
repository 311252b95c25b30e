from .gan_loss import GAN_TYPES, GANLoss
from .gaussian_kl import diagonal_gaussian_kl, standard_normal_kl
from .gradient_penalty_loss import GradientPenaltyLoss

__all__ = ['diagonal_gaussian_kl', 'standard_normal_kl', 'GANLoss', 'GAN_TYPES', 'GradientPenaltyLoss']
