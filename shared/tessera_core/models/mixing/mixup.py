"""Mixup: convex combinations of pairs of images and of their labels.

Paper: "mixup: Beyond Empirical Risk Minimization", Hongyi Zhang, Moustapha Cisse, Yann N. Dauphin,
David Lopez-Paz, ICLR 2018, arXiv:1710.09412. Official code: https://github.com/facebookresearch/mixup-cifar10
(interface as mmpretrain's ``Mixup`` batch augment).

With ``lam ~ Beta(alpha, alpha)`` and a random permutation ``j`` of the batch:

    x~_i = lam * x_i + (1 - lam) * x_j(i),      y~_i = lam * y_i + (1 - lam) * y_j(i)

(one ``lam`` per batch, as the official code and mmpretrain).
"""
from typing import Tuple

import numpy as np
import torch

from tessera_core.registry import MODELS

from .batch_augments import check_beta_alpha, check_mixing_ratio


def mixup(inputs: torch.Tensor, scores: torch.Tensor, lam: float,
          index: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mix every sample with ``index``'s partner at ratio ``lam``.

    Args:
        inputs: (N, C, H, W) images (or any (N, ...) tensor).
        scores: (N, K) labels (one-hot or soft, rows summing to one).
        lam: Weight of the sample itself, in [0, 1].
        index: (N,) long, the partner of each sample (a permutation of the batch).

    Returns:
        ``(mixed_inputs, mixed_scores)`` of the input shapes.
    """
    lam = check_mixing_ratio(lam)
    if index.shape != (inputs.size(0),) or scores.size(0) != inputs.size(0):
        raise ValueError(f'mixup: index {tuple(index.shape)} and scores {tuple(scores.shape)} must have the '
                         f'batch size {inputs.size(0)}')
    mixed = lam * inputs + (1 - lam) * inputs[index]
    return mixed, lam * scores + (1 - lam) * scores[index]


@MODELS.register_module()
class Mixup:
    """Mixup batch augment (``dict(type='Mixup', alpha=...)``); draws ``lam ~ Beta(alpha, alpha)`` and a
    random permutation per batch (NumPy's and torch's global generators, seeded by the runner).

    Args:
        alpha (float): Beta parameter, > 0 (mmpretrain's ImageNet configs: 0.8; the paper's CIFAR: 1.0).

    Call: ``inputs`` (N, C, H, W), ``scores`` (N, K) -> mixed inputs, soft labels. ``last_lam`` and
    ``last_index`` keep the last draw.
    """

    def __init__(self, alpha: float):
        self.alpha = check_beta_alpha(alpha, 'Mixup')
        self.last_lam, self.last_index = None, None

    def __call__(self, inputs: torch.Tensor, scores: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        lam = float(np.random.beta(self.alpha, self.alpha))
        index = torch.randperm(inputs.size(0), device=inputs.device)
        self.last_lam, self.last_index = lam, index
        return mixup(inputs, scores, lam, index)

    def __repr__(self) -> str:
        return f'Mixup(alpha={self.alpha})'
