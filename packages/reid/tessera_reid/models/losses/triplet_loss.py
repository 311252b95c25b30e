"""Batch-hard triplet loss.

In Defense of the Triplet Loss for Person Re-Identification, Hermans, Beyer and Leibe, arXiv:1703.07737
(the "batch hard" variant), as used by Bag of Tricks and A Strong Baseline for Deep Person Re-identification,
Luo et al., arXiv:1903.07071. Official code: https://github.com/michuanhaohao/reid-strong-baseline
(``layers/triplet_loss.py``: ``euclidean_dist``, ``hard_example_mining``, ``TripletLoss``).

For every anchor ``a`` of a batch, the hardest positive is the farthest sample of the same identity and the
hardest negative the closest sample of another identity:

    L = mean_a max(0, max_p d(a, p) - min_n d(a, n) + margin)          (margin given)
    L = mean_a log(1 + exp(max_p d(a, p) - min_n d(a, n)))              (margin=None, soft margin)

with ``d`` the Euclidean distance. As in the official code the anchor itself counts among its positives (at
distance ~0), so an identity with a single sample in the batch contributes ``max(0, margin - min_n d)``.
Anchors without any negative in the batch (a batch of one identity) have no triplet and are left out.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tessera_reid.registry import MODELS


def euclidean_dist(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Pairwise Euclidean distances.

    Args:
        x (Tensor): (M, D) features.
        y (Tensor): (N, D) features.

    Returns:
        Tensor: (M, N) distances ``sqrt(max(|x|^2 + |y|^2 - 2 x.y, 1e-12))`` (the clamp keeps the gradient of
        the square root finite, as in the official code).
    """
    if x.dim() != 2 or y.dim() != 2 or x.size(1) != y.size(1):
        raise ValueError(f'euclidean_dist expects (M, D) and (N, D) features, got {tuple(x.shape)} and '
                         f'{tuple(y.shape)}')
    xx = x.pow(2).sum(dim=1, keepdim=True)
    yy = y.pow(2).sum(dim=1, keepdim=True).t()
    dist = xx + yy - 2 * x @ y.t()
    return dist.clamp(min=1e-12).sqrt()


def hard_example_mining(dist: torch.Tensor,
                        labels: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Hardest positive and hardest negative distance of every anchor.

    Unlike the official ``hard_example_mining`` (which reshapes the masked matrix and so needs the same number
    of samples per identity), this masked version accepts any label multiset.

    Args:
        dist (Tensor): (N, N) pairwise distances.
        labels (Tensor): (N,) identity labels.

    Returns:
        tuple: ``dist_ap`` (N,) farthest same-identity distance (the anchor itself included),
        ``dist_an`` (N,) closest other-identity distance (``inf`` where there is none) and ``valid`` (N,) bool,
        True where the anchor has at least one negative.
    """
    n = dist.size(0)
    if dist.shape != (n, n) or labels.shape != (n,):
        raise ValueError(f'hard_example_mining expects (N, N) distances and (N,) labels, got '
                         f'{tuple(dist.shape)} and {tuple(labels.shape)}')
    is_pos = labels[:, None].eq(labels[None, :])
    is_neg = ~is_pos
    dist_ap = dist.masked_fill(is_neg, float('-inf')).max(dim=1).values
    dist_an = dist.masked_fill(is_pos, float('inf')).min(dim=1).values
    return dist_ap, dist_an, is_neg.any(dim=1)


@MODELS.register_module()
class TripletLoss(nn.Module):
    """Batch-hard triplet loss on (N, D) features.

    Args:
        margin (float, optional): Margin of the hinge (0.3 in the strong baseline); ``None`` uses the soft
            margin ``softplus(d_ap - d_an)``.
        normalize_feature (bool): L2-normalise the features before measuring distances (False in the strong
            baseline, whose triplet loss sees the raw pooled feature).
        loss_weight (float): Multiplier of the loss.
    """

    def __init__(self, margin: Optional[float] = 0.3, normalize_feature: bool = False, loss_weight: float = 1.0):
        super().__init__()
        if margin is not None and margin < 0:
            raise ValueError(f'margin must be >= 0 or None (soft margin), got {margin}')
        self.margin = margin
        self.normalize_feature = normalize_feature
        self.loss_weight = loss_weight

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """
        Args:
            feats (Tensor): (N, D) embeddings.
            labels (Tensor): (N,) identity labels.

        Returns:
            Tensor: scalar loss (0, still attached to the graph, when no anchor has a negative).
        """
        if feats.dim() != 2 or labels.shape != (feats.size(0),):
            raise ValueError(f'TripletLoss expects (N, D) features and (N,) labels, got {tuple(feats.shape)} '
                             f'and {tuple(labels.shape)}')
        if self.normalize_feature:
            feats = F.normalize(feats, dim=1, eps=1e-12)
        dist_ap, dist_an, valid = hard_example_mining(euclidean_dist(feats, feats), labels)
        if not bool(valid.any()):
            return feats.sum() * 0.0
        diff = dist_ap[valid] - dist_an[valid]
        if self.margin is None:
            loss = F.softplus(diff).mean()
        else:
            loss = F.relu(diff + self.margin).mean()
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return f'margin={self.margin}, normalize_feature={self.normalize_feature}, loss_weight={self.loss_weight}'
