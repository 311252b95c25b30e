"""Supervision of a soft foreground mask by a (soft) target mask.

Per pixel, the Bernoulli KL divergence between the target foreground probability t in [0, 1] and the
predicted m = sigmoid(l):

    KL(t || m) = t log(t / m) + (1 - t) log((1 - t) / (1 - m)) = BCE(l, t) - H(t),

i.e. the binary cross-entropy minus the target's own entropy H(t) (0 log 0 = 0). Its gradient in l is that
of the BCE, m - t; unlike the BCE it is zero for a perfect mask also where the target is fractional (a
binary image mask area-averaged down to a feature map is). Averaged over pixels and the batch.
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_reid.registry import MODELS


def bernoulli_entropy(t: torch.Tensor) -> torch.Tensor:
    """Elementwise H(t) = -t log t - (1 - t) log(1 - t), with 0 log 0 = 0."""
    return -(torch.xlogy(t, t) + torch.xlogy(1 - t, 1 - t))


@MODELS.register_module()
class SoftMaskLoss(nn.Module):
    """``loss_weight * mean KL(target || sigmoid(logits))`` over pixels.

    Args:
        loss_weight (float): Weight of the term.

    Shapes: logits (N, 1, h, w) and target (N, 1, h, w) in [0, 1] -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        if loss_weight < 0:
            raise ValueError(f'loss_weight must be >= 0, got {loss_weight}')
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        if logits.shape != target.shape:
            raise ValueError(f'mask logits {tuple(logits.shape)} and target {tuple(target.shape)} differ in shape')
        if target.numel() and (target.min() < 0 or target.max() > 1):
            raise ValueError('mask target must lie in [0, 1]')
        target = target.to(logits.dtype)
        bce = F.binary_cross_entropy_with_logits(logits, target, reduction='none')
        return self.loss_weight * (bce - bernoulli_entropy(target)).mean()
