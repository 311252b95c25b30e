"""Batch Nuclear-norm Maximization (BNM) and its fast approximation (FBNM).

Papers: "Towards Discriminability and Diversity: Batch Nuclear-norm Maximization under Label
Insufficient Situations", Cui, Wang, Zhuo, Li, Huang, Tian, CVPR 2020, arXiv:2003.12237; FBNM from
"Fast Batch Nuclear-norm Maximization and Minimization for Robust Domain Adaptation", same authors,
arXiv:2107.06154. Official code: https://github.com/cuishuhao/BNM (``DA/BNM/train_image.py``,
``UODR/train_loader.py``, ``SSL/base.py``).

For a batch of B unlabelled predictions ``A = softmax(logits)`` (B x C), BNM maximises the nuclear
norm ``||A||_* = sum of the singular values`` -- an upper bound of the Frobenius norm
(discriminability: confident rows) and a convex surrogate of the rank (diversity: many classes
predicted in the batch). The loss is ``L_bnm = -||A||_* / B`` (paper Eq. 11; the official UODR and
SSL code). The official domain-adaptation script instead averages the singular values,
``-mean(svd(A).S) = -||A||_* / min(B, C)`` (``normalization='rank'`` here).

FBNM replaces the SVD by the L2 norms of the C columns of A: their ``D = min(B, C)`` largest values
summed. When every row is one-hot the columns are orthogonal and those norms are exactly the
singular values (FBNM = BNM); in general ``||A||_* <= sum_c ||A[:, c]||_2`` (triangle inequality over
the rank-one column terms), so with ``C <= B`` FBNM is an upper bound of BNM, tight as predictions
become confident. Official: ``-mean(sort(sqrt(sum(A**2, 0)), desc)[:D])`` in ``train_image.py``
(normalised by D), ``-sum(...)`` in the README (unnormalised).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.registry import MODELS

APPROXIMATIONS = (None, 'fast')
NORMALIZATIONS = ('batch', 'rank', 'none')


def batch_nuclear_norm(probs: torch.Tensor, approximation: Optional[str] = None) -> torch.Tensor:
    """Nuclear norm of the prediction matrix, exact or with FBNM's column-norm approximation.

    Args:
        probs: (B, C) matrix (softmax outputs).
        approximation: None (sum of singular values) or ``'fast'`` (sum of the min(B, C) largest
            column L2 norms).

    Returns:
        A scalar tensor.
    """
    if approximation not in APPROXIMATIONS:
        raise ValueError(f'unknown approximation {approximation!r}; valid: {APPROXIMATIONS}')
    if probs.dim() != 2:
        raise ValueError(f'expected a (batch, classes) matrix, got shape {tuple(probs.shape)}')
    if approximation is None:
        return torch.linalg.svdvals(probs).sum()
    column_norms = probs.pow(2).sum(dim=0).sqrt()
    return column_norms.topk(min(probs.shape)).values.sum()


@MODELS.register_module()
class BNMLoss(nn.Module):
    """``-loss_weight * ||softmax(cls_score)||_* / normaliser`` on an unlabelled batch.

    Args:
        loss_weight (float): Multiplier (the official ``trade_off``, 1.0 in domain adaptation).
        approximation (str, optional): None for BNM (SVD) or ``'fast'`` for FBNM.
        normalization (str): ``'batch'`` divides by B (paper Eq. 11), ``'rank'`` by min(B, C) (the
            official DA script's mean of singular values), ``'none'`` not at all.
    """

    def __init__(self, loss_weight: float = 1.0, approximation: Optional[str] = None, normalization: str = 'batch'):
        super().__init__()
        if approximation not in APPROXIMATIONS:
            raise ValueError(f'unknown approximation {approximation!r}; valid: {APPROXIMATIONS}')
        if normalization not in NORMALIZATIONS:
            raise ValueError(f'unknown normalization {normalization!r}; valid: {NORMALIZATIONS}')
        self.loss_weight, self.approximation, self.normalization = loss_weight, approximation, normalization

    def forward(self, cls_score: torch.Tensor, label: Optional[torch.Tensor] = None) -> torch.Tensor:
        """cls_score: (B, C) logits of target samples; ``label`` is ignored (unsupervised).
        Returns a scalar."""
        if cls_score.dim() != 2 or cls_score.size(0) == 0:
            raise ValueError(f'expected (batch, classes) logits with batch >= 1, got shape {tuple(cls_score.shape)}')
        probs = F.softmax(cls_score, dim=1)
        norm = batch_nuclear_norm(probs, self.approximation)
        denom = {'batch': probs.size(0), 'rank': min(probs.shape), 'none': 1}[self.normalization]
        return -self.loss_weight * norm / denom
