"""Adversarial losses of a GAN, selected by ``gan_type`` (mmagic's ``GANLoss`` interface).

* ``'vanilla'``: Goodfellow et al., Generative Adversarial Nets, NeurIPS 2014, arXiv:1406.2661.
  Discriminator: binary cross-entropy on logits, ``softplus(-D(x)) + softplus(D(G(z)))``.
  Generator: the *non-saturating* loss of the paper's Section 3, ``-log sigmoid(D(G(z)))
  = softplus(-D(G(z)))`` (cross-entropy with target "real"), not ``log(1 - D(G(z)))``.
* ``'hinge'``: Lim & Ye, Geometric GAN, arXiv:1705.02894 (as used by SNGAN / BigGAN).
  Discriminator: ``relu(1 - D(x)) + relu(1 + D(G(z)))``; generator: ``-D(G(z))``.
* ``'wgan'``: Arjovsky et al., Wasserstein GAN, arXiv:1701.07875.
  Critic: ``-D(x) + D(G(z))``; generator: ``-D(G(z))``. WGAN-GP adds
  :class:`GradientPenaltyLoss` to the critic.
* ``'lsgan'``: Mao et al., Least Squares GAN, arXiv:1611.04076, ``(D - target)^2 / 2`` with
  targets 1 (real) and 0 (fake).

Every term is a mean over the batch; the discriminator's real and fake terms are
separate calls (``target_is_real=True/False``), as in mmagic.
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_generative.registry import MODELS

GAN_TYPES = ('vanilla', 'hinge', 'wgan', 'lsgan')


@MODELS.register_module()
class GANLoss(nn.Module):
    """Args:
        gan_type (str): One of :data:`GAN_TYPES`.
        loss_weight (float): Multiplier of the loss.

    ``forward(pred, target_is_real, is_disc=False)``: ``pred`` are the discriminator's raw
    scores (N, 1) or (N,); returns a scalar.
    """

    def __init__(self, gan_type: str = 'vanilla', loss_weight: float = 1.0):
        super().__init__()
        if gan_type not in GAN_TYPES:
            raise ValueError(f'unknown gan_type {gan_type!r}; valid: {GAN_TYPES}')
        self.gan_type, self.loss_weight = gan_type, float(loss_weight)

    def forward(self, pred: torch.Tensor, target_is_real: bool, is_disc: bool = False) -> torch.Tensor:
        sign = 1.0 if target_is_real else -1.0
        if self.gan_type == 'vanilla':
            # BCE-with-logits against target 1 (real) / 0 (fake): softplus(-pred) / softplus(pred).
            loss = F.softplus(-sign * pred).mean()
        elif self.gan_type == 'lsgan':
            loss = 0.5 * (pred - (1.0 if target_is_real else 0.0)).pow(2).mean()
        elif self.gan_type == 'wgan':
            loss = -sign * pred.mean()
        else:  # hinge
            loss = F.relu(1.0 - sign * pred).mean() if is_disc else -sign * pred.mean()
        return self.loss_weight * loss
