"""BINGO's bag aggregation loss: InfoNCE of a student embedding against the teacher embeddings of
every instance of its bag, weighted, with a queue of teacher embeddings as negatives.

Bag of Instances Aggregation Boosts Self-supervised Distillation, Xu, Fang, Zhang, Xie, Wang, Dai,
Xiong and Tian, ICLR 2022, arXiv:2107.01691 (section 3, eq. 3-5); official code
https://github.com/haohang96/bingo (``moco/builder.py`` ``logits_q_nk``, ``main_moco.py``
``MulposCrossEntropy``).

For an L2-normalised student embedding ``s`` (N, D), the teacher embeddings ``k_1 .. k_M`` (N, M, D)
of the M instances of the sample's bag that are drawn this step (the anchor and a neighbour: M = 2),
a queue ``Q`` (K, D) of teacher embeddings and weights ``w_1 .. w_M``:

    L = sum_m w_m * 1/N sum_i -log( exp(s_i . k_im / tau) / (exp(s_i . k_im / tau) + sum_{q in Q} exp(s_i . q / tau)) )

i.e. each bag member's teacher embedding in turn is the positive of an InfoNCE term (MoCo eq. 1)
against the same negatives. tau = 0.2 and w = (0.5, 0.5) in the paper's runs.
"""
from typing import Sequence, Union

import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['BINGOLoss', 'bag_logits']


def bag_logits(student: torch.Tensor, positives: torch.Tensor, queue: torch.Tensor,
               temperature: float) -> torch.Tensor:
    """``[s . k_m, s . Q^T] / tau`` for every bag member m: (N, D), (N, M, D), (K, D) -> (N, M, 1 + K)."""
    if student.dim() != 2 or positives.dim() != 3 or positives.shape[::2] != student.shape:
        raise ValueError(f'student must be (N, D) and positives (N, M, D); got {tuple(student.shape)} and '
                         f'{tuple(positives.shape)}')
    if queue.dim() != 2 or queue.size(1) != student.size(1):
        raise ValueError(f'queue must be (K, {student.size(1)}), got {tuple(queue.shape)}')
    pos = torch.einsum('nmd,nd->nm', positives.detach(), student).unsqueeze(-1)
    neg = (student @ queue.detach().t()).unsqueeze(1).expand(-1, positives.size(1), -1)
    return torch.cat([pos, neg], dim=2) / temperature


@MODELS.register_module()
class BINGOLoss(nn.Module):
    """Weighted multi-positive InfoNCE over a bag (see the module docstring).

    Args:
        temperature (float): ``tau`` (0.2, MoCo v2's).
        loss_weight (float): Multiplier.

    Shapes: student (N, D), positives (N, M, D), queue (K, D), weights (M,) -> scalar.
    """

    def __init__(self, temperature: float = 0.2, loss_weight: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f'temperature must be positive, got {temperature}')
        self.temperature, self.loss_weight = float(temperature), float(loss_weight)

    def forward(self, student: torch.Tensor, positives: torch.Tensor, queue: torch.Tensor,
                weights: Union[Sequence[float], torch.Tensor]) -> torch.Tensor:
        logits = bag_logits(student, positives, queue, self.temperature)
        weights = torch.as_tensor(weights, dtype=logits.dtype, device=logits.device)
        if weights.shape != (positives.size(1),):
            raise ValueError(f'weights must give one value per bag member ({positives.size(1)}), '
                             f'got shape {tuple(weights.shape)}')
        target = torch.zeros(logits.size(0), dtype=torch.long, device=logits.device)
        per_member = torch.stack([F.cross_entropy(logits[:, m], target) for m in range(logits.size(1))])
        return self.loss_weight * (weights * per_member).sum()

    def extra_repr(self) -> str:
        return f'temperature={self.temperature}, loss_weight={self.loss_weight}'
