"""The domain classifier's binary cross-entropy (source = 1, target = 0), optionally entropy-weighted.

Used behind a gradient reversal layer by GVB (arXiv:2003.13183; official ``GVB-GD/loss.py``:
``GVB`` and ``Myloss``) and SCAL (arXiv:2103.02808, Eq. 3/8). For a batch whose first ``n_s``
domain logits are source samples and the other ``n_t`` target samples::

    L_d = sum_{i in S} w_i BCE(d_i, 1) + sum_{j in T} w_j BCE(d_j, 0)

with uniform weights ``w = 1/n_s`` on the source and ``1/n_t`` on the target (the two expectations
of SCAL's Eq. 3), or CDAN+E's entropy conditioning that GVB's official code uses:
``w_i = exp(-H(p_i))`` normalised to sum to one within each domain (the sums detached), where the
gradient reaching the entropies ``H`` is reversed and scaled by the GRL coefficient (official
``entropy.register_hook(grl_hook(coeff))``). GVB's official loss is half of ``L_d`` (``/ 2``).
"""
from typing import Optional

import torch
import torch.nn.functional as F

from tessera_core.models.layers.gradient_reversal import grad_reverse


def prediction_entropy(probs: torch.Tensor, eps: float = 1e-5) -> torch.Tensor:
    """Row entropies ``-sum_c p log(p + eps)`` of a (N, C) probability matrix -> (N,) (official eps 1e-5)."""
    return -(probs * torch.log(probs + eps)).sum(dim=1)


def entropy_domain_weights(probs: torch.Tensor, num_source: int, coeff: float = 1.0) -> torch.Tensor:
    """CDAN+E weights ``exp(-H(p))``, normalised within the source rows ``[:num_source]`` and within
    the target rows, the gradient into ``H`` reversed and scaled by ``coeff``. probs (N, C) -> (N,)."""
    _check_split(probs.size(0), num_source)
    weight = torch.exp(-grad_reverse(prediction_entropy(probs), coeff))
    source, target = weight[:num_source], weight[num_source:]
    return torch.cat([source / source.sum().detach(), target / target.sum().detach()])


def domain_adversarial_loss(domain_logits: torch.Tensor, num_source: int,
                            weights: Optional[torch.Tensor] = None) -> torch.Tensor:
    """``L_d`` above: domain_logits (N,) with the source first; weights (N,) or None (uniform per
    domain: the mean BCE of the source plus the mean BCE of the target). Returns a scalar."""
    if domain_logits.dim() != 1:
        raise ValueError(f'expected (batch,) domain logits, got shape {tuple(domain_logits.shape)}')
    n = domain_logits.size(0)
    _check_split(n, num_source)
    labels = torch.zeros_like(domain_logits)
    labels[:num_source] = 1.0
    bce = F.binary_cross_entropy_with_logits(domain_logits, labels, reduction='none')
    if weights is None:
        return bce[:num_source].mean() + bce[num_source:].mean()
    if weights.shape != bce.shape:
        raise ValueError(f'weights must have shape {tuple(bce.shape)}, got {tuple(weights.shape)}')
    return (bce * weights).sum()


def domain_accuracy(domain_logits: torch.Tensor, num_source: int) -> torch.Tensor:
    """Percentage of samples the discriminator puts in their own domain (logit > 0 means source)."""
    is_source = torch.zeros_like(domain_logits, dtype=torch.bool)
    is_source[:num_source] = True
    return ((domain_logits > 0) == is_source).float().mean() * 100


def _check_split(n: int, num_source: int) -> None:
    if not 0 < num_source < n:
        raise ValueError(f'need source and target rows: num_source={num_source} of {n} rows')
