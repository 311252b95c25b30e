"""Target attention loss (TAL) of FANet.

An End-to-End Foreground-Aware Network for Person Re-Identification, Liu, Zhou, Liu, Qi, Tian, Li,
IEEE TIP 30:2060-2071, 2021 (arXiv:1910.11547). No official code is published.

The background branch of FANet must carry the camera (scene) and nothing of the pedestrian, so that the
foreground branch holds the whole target and becomes insensitive to the background. TAL asks the identity
classifier, applied to a background feature, to see no identity: its softmax over the K training
identities should be uniform. Per sample, with identity logits z (K,) of the background feature and
p = softmax(z):

    L_TAL = KL(U || p) = sum_k (1/K) log((1/K) / p_k) = logsumexp(z) - mean_k z_k - log K  >= 0,

zero exactly when all logits are equal (p uniform); averaged over the batch. (Cross-entropy to the uniform
target, minus its constant entropy log K; the gradient is dL/dz = p - 1/K.) The paper's own equation could
not be consulted here (only its abstract); this is our reading of "target attention loss", see
``configs/fanet/README.md``.
"""
import math

import torch
from torch import nn

from tessera_reid.registry import MODELS


@MODELS.register_module()
class TargetAttentionLoss(nn.Module):
    """``loss_weight * mean_i KL(U || softmax(z_i))`` of identity logits z (N, K) of background features.

    Args:
        loss_weight (float): Weight of the term.

    Shapes: logits (N, K) -> scalar.
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        if loss_weight < 0:
            raise ValueError(f'loss_weight must be >= 0, got {loss_weight}')
        self.loss_weight = loss_weight

    def forward(self, logits: torch.Tensor) -> torch.Tensor:
        if logits.dim() != 2 or logits.size(1) < 2:
            raise ValueError(f'TargetAttentionLoss expects (N, K >= 2) logits, got shape {tuple(logits.shape)}')
        kl = torch.logsumexp(logits, dim=1) - logits.mean(dim=1) - math.log(logits.size(1))
        return self.loss_weight * kl.mean()
