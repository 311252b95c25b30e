"""Improved Training of Wasserstein GANs (WGAN-GP), Gulrajani et al., NeurIPS 2017, arXiv:1704.00028.

Official repository: https://github.com/igul222/improved_wgan_training

The critic's gradient penalty (the paper's Eq. 3, Algorithm 1 lines 4-7)::

    x_hat = eps * x + (1 - eps) * x_tilde,      eps ~ U[0, 1] per sample
    L_GP  = lambda * E[(||grad_{x_hat} D(x_hat)||_2 - 1)^2],   lambda = 10

with ``x`` real and ``x_tilde = G(z)`` generated images; the norm is over all of a
sample's pixels and channels. The gradient is taken with ``create_graph=True`` so
the penalty is differentiable in the critic's parameters.
"""
from typing import Callable, Optional

import torch
from torch import nn

from tessera_generative.registry import MODELS


@MODELS.register_module()
class GradientPenaltyLoss(nn.Module):
    """Args:
        loss_weight (float): lambda of the paper (10).

    ``forward(discriminator, real, fake, generator=None)`` -> scalar; ``generator`` is an
    optional ``torch.Generator`` for ``eps``. A discriminator auxiliary loss of
    :class:`BaseGAN` (``loss_config=dict(disc_auxiliary_loss=[dict(type='GradientPenaltyLoss')])``).
    """

    def __init__(self, loss_weight: float = 10.0):
        super().__init__()
        self.loss_weight = float(loss_weight)

    @staticmethod
    def loss_name() -> str:
        return 'loss_gp'

    def forward(self, discriminator: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor,
                fake: torch.Tensor, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        if real.shape != fake.shape:
            raise ValueError(f'gradient penalty needs real and fake batches of one shape, got '
                             f'{tuple(real.shape)} and {tuple(fake.shape)}')
        shape = (real.size(0),) + (1,) * (real.dim() - 1)
        if generator is None:
            eps = torch.rand(shape, device=real.device, dtype=real.dtype)
        else:
            eps = torch.rand(shape, generator=generator, device=generator.device, dtype=real.dtype).to(real.device)
        x_hat = (eps * real.detach() + (1.0 - eps) * fake.detach()).requires_grad_(True)
        scores = discriminator(x_hat)
        grad, = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
        penalty = (grad.flatten(1).norm(2, dim=1) - 1.0).pow(2).mean()
        return self.loss_weight * penalty
