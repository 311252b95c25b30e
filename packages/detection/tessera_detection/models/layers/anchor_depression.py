"""MAL's anchor depression: perturb the features of highest attention, where the selected anchors sit.

"Multiple Anchor Learning for Visual Object Detection", Ke et al., CVPR 2020, arXiv:1912.02252, Sec. 3.3
("anchor depression", an inverted attention); official code github.com/DeLightCMU/MAL,
``RetinaNet.IA_feat`` (``modeling/detector/retinanet.py``) and the ``MASK_TYPE`` branch of
``RetinaNetHead.forward`` (``modeling/rpn/retinanetIA.py``). Written by hand: mmdet/mmcv have no such layer.

For one feature map ``F`` of shape (C, H, W) of one image (the official code, ``IA_FEAT_TYPE: 0``)::

    M[h, w]  = sum_c F[c, h, w] * mean_{h', w'} F[c, h', w']        attention (a CAM with GAP weights)
    tau      = the (floor(H W r) + 1)-th largest value of M          r = depression ratio (schedule)
    D[h, w]  = 0 if M[h, w] > tau else 1                             the floor(H W r) top positions
    F'       = F * (D + (1 - D) * s)                                 s = kept share in depressed cells

The official ``MASK_TYPE: 0`` is ``F' = (3 F D + F) / 4``, i.e. ``s = 1/4``; ``MASK_TYPE: 1`` is ``s = 0``
(zeroing). ``M`` and ``D`` are computed without gradient (the official code detaches a clone); the gradient
flows through ``F`` in the undepressed cells (and scaled by ``s`` in the depressed ones). The most confident
(selected) anchors of a bag sit where the attention is highest; depressing their features lowers their
confidence, so that the loss must be met by the other anchors of the bag too.
"""
from typing import List, Sequence, Tuple

import torch
from torch import Tensor


def attention_map(feat: Tensor) -> Tensor:
    """(N, C, H, W) features -> (N, H, W) attention ``sum_c F_c * GAP(F_c)``."""
    if feat.dim() != 4:
        raise ValueError(f'features must be (N, C, H, W), got shape {tuple(feat.shape)}')
    gap = feat.mean(dim=(2, 3), keepdim=True)
    return (feat * gap).sum(dim=1)


@torch.no_grad()
def depression_mask(feat: Tensor, ratio: float) -> Tensor:
    """(N, C, H, W) features -> (N, 1, H, W) mask ``D``: 0 on the ``floor(H W ratio)`` positions of highest
    attention of each image (strictly above the next value, as in the official code), 1 elsewhere."""
    if not 0.0 <= ratio < 1.0:
        raise ValueError(f'depression ratio must be in [0, 1), got {ratio}')
    n, _, h, w = feat.shape
    cam = attention_map(feat.detach()).reshape(n, h * w)
    th_idx = int(h * w * ratio)
    tau = cam.sort(dim=1, descending=True).values[:, th_idx:th_idx + 1]
    return (cam <= tau).to(feat.dtype).reshape(n, 1, h, w)


def depress_features(feats: Sequence[Tensor], ratio: float, kept_share: float = 0.25
                     ) -> Tuple[List[Tensor], List[Tensor]]:
    """Depress every level of ``feats`` (each (N, C, H, W)); returns (depressed features, masks (N, 1, H, W))."""
    if not 0.0 <= kept_share <= 1.0:
        raise ValueError(f'kept_share must be in [0, 1], got {kept_share}')
    masks = [depression_mask(f, ratio) for f in feats]
    out = [f * (m + (1.0 - m) * kept_share) for f, m in zip(feats, masks)]
    return out, masks
