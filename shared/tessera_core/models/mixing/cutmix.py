"""CutMix: paste a box of a partner image, label by the pasted area.

Paper: "CutMix: Regularization Strategy to Train Strong Classifiers with Localizable Features",
Sangdoo Yun, Dongyoon Han, Seong Joon Oh, Sanghyuk Chun, Junsuk Choe, Youngjoon Yoo, ICCV 2019,
arXiv:1905.04899. Official code: https://github.com/clovaai/CutMix-PyTorch (``rand_bbox``); the
interface and ``correct_lam`` as mmpretrain's ``CutMix`` batch augment.

With ``lam ~ Beta(alpha, alpha)``: a box of ``int(H sqrt(1 - lam)) x int(W sqrt(1 - lam))`` centred at a
uniformly drawn pixel, clipped to the image; the partner ``x_j(i)``'s pixels replace ``x_i``'s inside
it, and the label weight of the partner is the box's share of the image (``correct_lam=True``, the
official code's re-computation after clipping):

    x~_i = M * x_i + (1 - M) * x_j(i),   lam' = 1 - |box| / (H W),   y~_i = lam' y_i + (1 - lam') y_j(i)
"""
from typing import Optional, Sequence, Tuple

import numpy as np
import torch

from tessera_core.registry import MODELS

from .batch_augments import check_beta_alpha, check_mixing_ratio


def cutmix_box(lam: float, height: int, width: int,
               center: Optional[Tuple[int, int]] = None) -> Tuple[int, int, int, int]:
    """The box ``(y1, y2, x1, x2)`` (half-open) of CutMix at ratio ``lam``.

    Args:
        lam: Share of the image that stays, in [0, 1]; the box is ``sqrt(1 - lam)`` of each side.
        height, width: Image size.
        center: ``(cy, cx)``; None draws it uniformly (``np.random.randint``, as the official code).
    """
    lam = check_mixing_ratio(lam)
    cut_rat = np.sqrt(1.0 - lam)
    cut_h, cut_w = int(height * cut_rat), int(width * cut_rat)
    if center is None:
        cy, cx = np.random.randint(height), np.random.randint(width)
    else:
        cy, cx = center
    y1, y2 = int(np.clip(cy - cut_h // 2, 0, height)), int(np.clip(cy + cut_h // 2, 0, height))
    x1, x2 = int(np.clip(cx - cut_w // 2, 0, width)), int(np.clip(cx + cut_w // 2, 0, width))
    return y1, y2, x1, x2


def cutmix(inputs: torch.Tensor, scores: torch.Tensor, box: Sequence[int],
           index: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, float]:
    """Paste ``box`` of each partner ``inputs[index]`` into a copy of ``inputs``.

    Args:
        inputs: (N, C, H, W) images.
        scores: (N, K) labels (rows summing to one).
        box: ``(y1, y2, x1, x2)``, half-open pixel ranges.
        index: (N,) long, the partner of each sample.

    Returns:
        ``(mixed_inputs, mixed_scores, lam)`` with ``lam = 1 - box area / (H W)``, the exact share of
        pixels that kept their own image.
    """
    if index.shape != (inputs.size(0),) or scores.size(0) != inputs.size(0):
        raise ValueError(f'cutmix: index {tuple(index.shape)} and scores {tuple(scores.shape)} must have the '
                         f'batch size {inputs.size(0)}')
    h, w = inputs.shape[-2:]
    y1, y2, x1, x2 = (int(v) for v in box)
    if not (0 <= y1 <= y2 <= h and 0 <= x1 <= x2 <= w):
        raise ValueError(f'cutmix: box {tuple(box)} outside the {h} x {w} image')
    mixed = inputs.clone()
    mixed[..., y1:y2, x1:x2] = inputs[index][..., y1:y2, x1:x2]
    lam = 1.0 - (y2 - y1) * (x2 - x1) / float(h * w)
    return mixed, lam * scores + (1 - lam) * scores[index], lam


@MODELS.register_module()
class CutMix:
    """CutMix batch augment (``dict(type='CutMix', alpha=1.0)``): one ``lam``, one box and one
    permutation per batch.

    Args:
        alpha (float): Beta parameter, > 0 (the paper's and mmpretrain's 1.0).
        correct_lam (bool): Label by the clipped box's area (True, the official code) or by the drawn
            ``lam`` (False).

    Call: ``inputs`` (N, C, H, W), ``scores`` (N, K) -> mixed inputs, soft labels. ``last_lam`` (the
    label weight used), ``last_box`` and ``last_index`` keep the last draw.
    """

    def __init__(self, alpha: float, correct_lam: bool = True):
        self.alpha = check_beta_alpha(alpha, 'CutMix')
        self.correct_lam = bool(correct_lam)
        self.last_lam, self.last_box, self.last_index = None, None, None

    def __call__(self, inputs: torch.Tensor, scores: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        lam = float(np.random.beta(self.alpha, self.alpha))
        h, w = inputs.shape[-2:]
        box = cutmix_box(lam, h, w)
        index = torch.randperm(inputs.size(0), device=inputs.device)
        mixed, mixed_scores, area_lam = cutmix(inputs, scores, box, index)
        if not self.correct_lam:
            mixed_scores = lam * scores + (1 - lam) * scores[index]
            area_lam = lam
        self.last_lam, self.last_box, self.last_index = area_lam, box, index
        return mixed, mixed_scores

    def __repr__(self) -> str:
        return f'CutMix(alpha={self.alpha}, correct_lam={self.correct_lam})'
