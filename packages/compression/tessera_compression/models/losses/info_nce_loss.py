"""InfoNCE: contrastive cross-entropy of one positive key against a set of negatives.

Representation Learning with Contrastive Predictive Coding, van den Oord, Li and Vinyals,
arXiv:1807.03748 (the InfoNCE bound); used with a queue of negatives and temperature by
Momentum Contrast (MoCo), He et al., CVPR 2020, arXiv:1911.05722, official code
https://github.com/facebookresearch/moco (``moco/builder.py``). For L2-normalised queries ``q``
(N, D), positive keys ``k+`` (N, D) and negatives ``Q`` (K, D), MoCo eq. 1:

    L_q = -log( exp(q . k+ / tau) / (exp(q . k+ / tau) + sum_{k in Q} exp(q . k / tau)) )

i.e. the cross-entropy of the logits ``[q . k+, q . Q^T] / tau`` (N, 1 + K) with target class 0,
averaged over the N queries.
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['InfoNCELoss', 'info_nce_logits']


def info_nce_logits(query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor,
                    temperature: float) -> torch.Tensor:
    """``[q . k+, q . negatives^T] / temperature``: (N, D), (N, D), (K, D) -> (N, 1 + K)."""
    if query.shape != positive.shape:
        raise ValueError(f'query {tuple(query.shape)} and positive {tuple(positive.shape)} differ in shape')
    if negatives.dim() != 2 or negatives.size(1) != query.size(1):
        raise ValueError(f'negatives must be (K, {query.size(1)}), got {tuple(negatives.shape)}')
    l_pos = (query * positive).sum(dim=1, keepdim=True)
    l_neg = query @ negatives.t()
    return torch.cat([l_pos, l_neg], dim=1) / temperature


@MODELS.register_module()
class InfoNCELoss(nn.Module):
    """MoCo's InfoNCE (see the module docstring); the inputs are expected L2-normalised.

    Args:
        temperature (float): ``tau`` (MoCo v1 0.07, MoCo v2 0.2).
        loss_weight (float): Multiplier of the loss.

    Shapes: query, positive (N, D), negatives (K, D) -> scalar.
    """

    def __init__(self, temperature: float = 0.2, loss_weight: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        self.temperature, self.loss_weight = float(temperature), float(loss_weight)

    def forward(self, query: torch.Tensor, positive: torch.Tensor, negatives: torch.Tensor) -> torch.Tensor:
        logits = info_nce_logits(query, positive, negatives, self.temperature)
        target = torch.zeros(logits.size(0), dtype=torch.long, device=logits.device)
        return self.loss_weight * F.cross_entropy(logits, target)

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, loss_weight={self.loss_weight}'
