"""Attribute Mix: paste a mined attribute region of a partner image, label by the attribute's class and area.

Paper: "Attribute Mix: Semantic Data Augmentation for Fine Grained Recognition", Li, Zhang, Xiong,
Tian, VCIP 2020, arXiv:2004.02684 (no official code found).

For image i and partner j = index[i] with mined attribute regions B_j,1..k (see
:mod:`.attribute_miner`), one attribute a is drawn uniformly and its region is moved from x_j
into x_i at the same place (attributes of one super-category sit at similar places):

    M        = 1 inside B_j,a, 0 outside                         (H, W)
    x~_i     = (1 - M) * x_i + M * x_j
    lam_i    = |B_j,a| / (H W)                                   share of the pasted attribute
    y~_i     = (1 - lam_i) y_i + lam_i y_j                       rows sum to one

The pasted attribute carries the label of the class it was mined from (y_j); the loss is the
cross-entropy against y~ (a weighted sum of the two classes' cross-entropies).
"""
from typing import Tuple

import torch


def attribute_mix(inputs: torch.Tensor, scores: torch.Tensor, boxes: torch.Tensor, index: torch.Tensor,
                  attribute: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Mix each image with an attribute region of its partner.

    Args:
        inputs: (N, C, H, W) images.
        scores: (N, K) labels, rows summing to one (one-hot for hard labels).
        boxes: (N, k, 4) long mined regions ``(y1, y2, x1, x2)`` (half-open) of every image.
        index: (N,) long partner of each image.
        attribute: (N,) long, which of the partner's k attributes is pasted.

    Returns:
        ``(mixed, mixed_scores, lam)``: (N, C, H, W), (N, K), (N,) with ``lam`` the pasted share.
    """
    n, _, h, w = inputs.shape
    if scores.size(0) != n or boxes.shape[0] != n or boxes.shape[-1] != 4 or index.shape != (n,) \
            or attribute.shape != (n,):
        raise ValueError(f'attribute_mix: batch sizes differ: inputs {tuple(inputs.shape)}, scores '
                         f'{tuple(scores.shape)}, boxes {tuple(boxes.shape)}, index {tuple(index.shape)}, '
                         f'attribute {tuple(attribute.shape)}')
    k = boxes.shape[1]
    if attribute.numel() and (attribute.min() < 0 or attribute.max() >= k):
        raise ValueError(f'attribute_mix: attribute index {int(attribute.max())} outside [0, {k})')
    pasted = boxes[index, attribute]                                   # (N, 4) region of the partner
    ys = torch.arange(h, device=inputs.device).view(1, h, 1)
    xs = torch.arange(w, device=inputs.device).view(1, 1, w)
    y1, y2, x1, x2 = (pasted[:, i].view(n, 1, 1) for i in range(4))
    mask = ((ys >= y1) & (ys < y2) & (xs >= x1) & (xs < x2)).to(inputs.dtype)   # (N, H, W)
    mixed = inputs * (1 - mask[:, None]) + inputs[index] * mask[:, None]
    lam = mask.flatten(1).mean(1)
    mixed_scores = (1 - lam[:, None]) * scores + lam[:, None] * scores[index]
    return mixed, mixed_scores, lam
