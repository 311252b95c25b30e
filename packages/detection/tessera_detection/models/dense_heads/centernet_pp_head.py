"""CenterNet++ head: mmdet's CornerHead plus a center keypoint, cascade corner pooling and triplet decoding.

"CenterNet++ for Object Detection", Kaiwen Duan, Song Bai, Lingxi Xie, Honggang Qi, Qingming Huang, Qi Tian,
arXiv:2204.08394, the extension of "CenterNet: Keypoint Triplets for Object Detection" (ICCV 2019,
arXiv:1904.08189). Official code: github.com/Duankaiwen/CenterNet (``models/CenterNet-52.py``,
``models/py_utils/kp.py``, ``kp_utils.py``, ``sample/coco.py``, ``test/coco.py``) and
github.com/Duankaiwen/PyCenterNet (the pyramid variant, a different point-set head; see the config README).

What is mmdet's and what is written here
----------------------------------------
mmdet's ``CornerHead`` (CornerNet) gives the corner heatmaps, embeddings and offsets, their targets, the
Gaussian focal / associative embedding / smooth-L1 losses, the corner-pair decoding (top-k corners per map,
pairs rejected for different classes, embedding distance > ``distance_threshold`` or negative width/height,
pair score = mean of the two corner scores) and the (soft-)NMS. Written here:

- **cascade corner pooling** (``cascade_corner_pool=True``): the two corner pooling modules are
  :class:`~tessera_detection.models.layers.CascadeCornerPool` instead of mmdet's ``BiCornerPool``;
- **center keypoint branch**: :class:`~tessera_detection.models.layers.CenterPool` -> a center heatmap
  (``num_classes`` channels) and a center offset (2 channels), built like the corner branches;
- **center targets**: a Gaussian bump at the box center of each object, on its class channel, with the
  corners' radius (mmdet's ``gaussian_radius(min_overlap=0.3)``) and ``sigma = diameter / 5`` (the official
  ``draw_gaussian(..., delte=5)``; the corners use ``diameter / 6``); the offset target is
  ``center * stride_ratio - int(center * stride_ratio)`` at the center cell;
- **triplet decoding** (official ``test/coco.py``): the top-``center_topk`` center keypoints (local maxima
  of the sigmoid heatmap, plus offsets); every corner-pair box ``(x1, y1, x2, y2)`` that CornerNet would keep
  is checked against its **scale-aware central region**::

      n = 3 if (x2 - x1) (y2 - y1) <= central_region_area_thr else 5     official: 150 x 150 = 22500 px^2
      ctlx = ((n + 1) x1 + (n - 1) x2) / (2 n)        ctrx = ((n - 1) x1 + (n + 1) x2) / (2 n)
      ctly = ((n + 1) y1 + (n - 1) y2) / (2 n)        ctry = ((n - 1) y1 + (n + 1) y2) / (2 n)

  (``n = 3``: the middle third, ``(2 x1 + x2) / 3 .. (x1 + 2 x2) / 3``; ``n = 5``: the middle fifth). The box
  is kept only if a center keypoint of the same class lies strictly inside the region; its score becomes the
  mean of the three keypoint scores, ``(s_tl + s_br + s_ct) / 3 = (2 s_pair + s_ct) / 3``, with the
  highest-scoring such center (the official loop takes the first match in the score-sorted list). Boxes
  without one are dropped. Soft-NMS (``test_cfg.nms = dict(type='soft_nms', method='gaussian')``) follows.

Losses (the official ``AELoss`` sums the three focal terms and the three offset terms with weight 1; mmdet's
``CornerHead`` averages its two corner terms, so each corner weighs 1/2): ``loss_center_heatmap`` and
``loss_center_offset`` default to weight 0.5, which keeps the official 1 : 1 : 1 between tl, br and ct.

Counts of the ``predict`` calls are kept in ``self.verification_counts`` (``pairs``: corner-pair boxes
CornerNet would output before NMS, ``kept``: those verified by a center, ``images``); setting
``self.rejected = []`` collects the dropped boxes per image (for the measurement script).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from mmdet.models.dense_heads import CornerHead
from mmdet.models.utils import gaussian_radius, multi_apply
from mmdet.models.utils.gaussian_target import (gaussian2D, get_local_maximum, get_topk_from_heatmap,
                                                transpose_and_gather_feat)
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor, nn

from tessera_detection.models.layers.center_pool import CascadeCornerPool, CenterPool
from tessera_detection.registry import MODELS


def central_region(bboxes: Tensor, n) -> Tensor:
    """Central region of boxes: (..., 4) xyxy boxes, ``n`` an odd int or a tensor broadcastable to
    ``bboxes[..., 0]`` -> (..., 4) xyxy regions of size ``w / n`` x ``h / n`` around the box centers."""
    n = torch.as_tensor(n, dtype=bboxes.dtype, device=bboxes.device)
    x1, y1, x2, y2 = bboxes.unbind(-1)
    a, b = (n + 1) / (2 * n), (n - 1) / (2 * n)
    return torch.stack([a * x1 + b * x2, a * y1 + b * y2, b * x1 + a * x2, b * y1 + a * y2], dim=-1)


def scale_aware_n(bboxes: Tensor, area_thr: float = 22500.0, n_small: int = 3, n_large: int = 5) -> Tensor:
    """``n_small`` for boxes of area ``<= area_thr``, ``n_large`` above (official: 3, 5, 150^2 px)."""
    area = (bboxes[..., 2] - bboxes[..., 0]) * (bboxes[..., 3] - bboxes[..., 1])
    return torch.where(area <= area_thr, bboxes.new_tensor(float(n_small)), bboxes.new_tensor(float(n_large)))


def verify_triplets(bboxes: Tensor, scores: Tensor, labels: Tensor, centers: Tensor, center_scores: Tensor,
                    center_labels: Tensor, area_thr: float = 22500.0, n_small: int = 3,
                    n_large: int = 5) -> Tuple[Tensor, Tensor]:
    """Central-region verification of corner-pair boxes by center keypoints.

    Args:
        bboxes (Tensor): (B, 4) corner-pair boxes, xyxy.
        scores (Tensor): (B,) pair scores ``(s_tl + s_br) / 2``.
        labels (Tensor): (B,) classes of the pairs.
        centers (Tensor): (C, 2) center keypoints, xy (same coordinates as the boxes).
        center_scores (Tensor): (C,) their scores.
        center_labels (Tensor): (C,) their classes.

    Returns:
        tuple: ``keep`` (B,) bool, a same-class center strictly inside the scale-aware central region, and
        the new scores (B,) ``(2 s_pair + s_ct) / 3`` with the best such center (unchanged where not kept).
    """
    if bboxes.numel() == 0 or centers.numel() == 0:
        return bboxes.new_zeros(bboxes.size(0), dtype=torch.bool), scores.clone()
    region = central_region(bboxes, scale_aware_n(bboxes, area_thr, n_small, n_large))  # (B, 4)
    cx, cy = centers[:, 0][None], centers[:, 1][None]  # (1, C)
    inside = ((cx > region[:, 0:1]) & (cx < region[:, 2:3]) & (cy > region[:, 1:2]) & (cy < region[:, 3:4])
              & (center_labels[None] == labels[:, None]))  # (B, C)
    keep = inside.any(dim=1)
    best = torch.where(inside, center_scores[None].expand_as(inside), center_scores.new_tensor(-1.0)).max(1)[0]
    new_scores = torch.where(keep, (2 * scores + best) / 3, scores)
    return keep, new_scores


def gen_center_gaussian_target(heatmap: Tensor, center: Sequence[int], radius: int, sigma_ratio: float = 5.0):
    """Draw ``max(heatmap, gaussian)`` of radius ``radius`` and ``sigma = (2 radius + 1) / sigma_ratio`` at
    ``center = (x, y)`` (integer cell) of an (H, W) heatmap, in place; returns the heatmap. ``sigma_ratio``
    6 is mmdet's ``gen_gaussian_target`` (corners), 5 the official center keypoint."""
    diameter = 2 * radius + 1
    gaussian = gaussian2D(radius, sigma=diameter / sigma_ratio, dtype=heatmap.dtype, device=heatmap.device)
    x, y = center
    height, width = heatmap.shape[:2]
    left, right = min(x, radius), min(width - x, radius + 1)
    top, bottom = min(y, radius), min(height - y, radius + 1)
    masked_heatmap = heatmap[y - top:y + bottom, x - left:x + right]
    masked_gaussian = gaussian[radius - top:radius + bottom, radius - left:radius + right]
    torch.max(masked_heatmap, masked_gaussian, out=masked_heatmap)
    return heatmap


@MODELS.register_module()
class CenterNetPPHead(CornerHead):
    """CenterNet++ keypoint-triplet head on one feature map (mmdet's ``CornerHead`` with a center branch).

    Args:
        num_classes, in_channels, num_feat_levels, corner_emb_channels, train_cfg, test_cfg, loss_heatmap,
            loss_embedding, loss_offset: mmdet's ``CornerHead``.
        cascade_corner_pool (bool): cascade corner pooling (paper) instead of CornerNet's corner pooling.
        pool_feat_channels (int): channels inside the pooling modules (official and mmdet 128).
        loss_center_heatmap (dict): loss of the center heatmap (official: the corners' focal loss).
        loss_center_offset (dict): loss of the center offset.
        center_sigma_ratio (float): ``sigma = diameter / center_sigma_ratio`` of the center targets (official 5).

    ``test_cfg`` keys besides CornerHead's (``corner_topk``, ``local_maximum_kernel``, ``distance_threshold``,
    ``nms``, ``max_per_img``): ``center_topk`` (default ``corner_topk``; official the same ``K``),
    ``central_region_area_thr`` (default 22500, official), ``central_region_n`` (default ``(3, 5)``) and
    ``center_verification`` (default True; False gives CornerNet's decoding of the same network).
    """

    def __init__(self, *args, cascade_corner_pool: bool = True, pool_feat_channels: int = 128,
                 loss_center_heatmap: dict = dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=0.5),
                 loss_center_offset: dict = dict(type='SmoothL1Loss', beta=1.0, loss_weight=0.5),
                 center_sigma_ratio: float = 5.0, **kwargs):
        self.cascade_corner_pool = cascade_corner_pool
        self.pool_feat_channels = pool_feat_channels
        self.center_sigma_ratio = center_sigma_ratio
        super().__init__(*args, **kwargs)
        self.loss_center_heatmap = MODELS.build(loss_center_heatmap)
        self.loss_center_offset = MODELS.build(loss_center_offset)
        self.verification_counts = dict(images=0, pairs=0, kept=0)
        self.rejected = None  # set to a list to collect the (bboxes, scores, labels) dropped per image

    def _init_layers(self) -> None:
        super()._init_layers()
        if self.cascade_corner_pool:
            self.tl_pool = nn.ModuleList([
                CascadeCornerPool(self.in_channels, ['top', 'left'], self.pool_feat_channels, self.in_channels)
                for _ in range(self.num_feat_levels)])
            self.br_pool = nn.ModuleList([
                CascadeCornerPool(self.in_channels, ['bottom', 'right'], self.pool_feat_channels, self.in_channels)
                for _ in range(self.num_feat_levels)])
        self.ct_pool = nn.ModuleList([CenterPool(self.in_channels, self.pool_feat_channels, self.in_channels)
                                      for _ in range(self.num_feat_levels)])
        self.ct_heat = nn.ModuleList([self._make_layers(out_channels=self.num_classes, in_channels=self.in_channels)
                                      for _ in range(self.num_feat_levels)])
        self.ct_off = nn.ModuleList([
            self._make_layers(out_channels=self.corner_offset_channels, in_channels=self.in_channels)
            for _ in range(self.num_feat_levels)])

    def init_weights(self) -> None:
        super().init_weights()
        for i in range(self.num_feat_levels):  # as CornerHead's corner branches (official: bias -2.19 all three)
            self.ct_heat[i][-1].conv.reset_parameters()
            self.ct_heat[i][-1].conv.bias.data.fill_(self.tl_heat[i][-1].conv.bias.data[0].item())
            self.ct_off[i][-1].conv.reset_parameters()

    def forward(self, feats: Tuple[Tensor]) -> tuple:
        """Corner outputs as ``CornerHead.forward`` plus ``ct_heats`` (N, num_classes, H, W) and ``ct_offs``
        (N, 2, H, W) per level."""
        return multi_apply(self.forward_single, feats, list(range(self.num_feat_levels)))

    def forward_single(self, x: Tensor, lvl_ind: int, return_pool: bool = False) -> List[Tensor]:
        result = super().forward_single(x, lvl_ind, return_pool=False)
        ct_pool = self.ct_pool[lvl_ind](x)
        result += [self.ct_heat[lvl_ind](ct_pool), self.ct_off[lvl_ind](ct_pool)]
        return result

    # ----------------------------------------------------------------------------------------------- training
    def get_center_targets(self, gt_bboxes: List[Tensor], gt_labels: List[Tensor], feat_shape: Sequence[int],
                           img_shape: Sequence[int]) -> dict:
        """Center heatmap (N, num_classes, H, W) and offset (N, 2, H, W) targets of a batch.

        The cell is ``int(min(c * ratio, size - 1))`` of the box center ``c``, the radius the corners' radius,
        the offset ``c * ratio - cell`` (official ``sample/coco.py``).
        """
        batch_size, _, height, width = feat_shape
        img_h, img_w = img_shape[:2]
        width_ratio, height_ratio = float(width / img_w), float(height / img_h)
        ref = gt_bboxes[-1]
        heatmap = ref.new_zeros([batch_size, self.num_classes, height, width])
        offset = ref.new_zeros([batch_size, 2, height, width])
        for b in range(batch_size):
            for box, label in zip(gt_bboxes[b], gt_labels[b]):
                left, top, right, bottom = [float(v) for v in box]
                cx, cy = (left + right) / 2.0 * width_ratio, (top + bottom) / 2.0 * height_ratio
                cx_idx, cy_idx = int(min(cx, width - 1)), int(min(cy, height - 1))
                box_w = int(torch.ceil(torch.tensor((right - left) * width_ratio)))
                box_h = int(torch.ceil(torch.tensor((bottom - top) * height_ratio)))
                radius = max(0, int(gaussian_radius((box_h, box_w), min_overlap=0.3)))
                gen_center_gaussian_target(heatmap[b, int(label)], [cx_idx, cy_idx], radius,
                                           self.center_sigma_ratio)
                offset[b, 0, cy_idx, cx_idx] = cx - cx_idx
                offset[b, 1, cy_idx, cx_idx] = cy - cy_idx
        return dict(center_heatmap=heatmap, center_offset=offset)

    def loss_by_feat(self, tl_heats: List[Tensor], br_heats: List[Tensor], tl_embs: List[Tensor],
                     br_embs: List[Tensor], tl_offs: List[Tensor], br_offs: List[Tensor], ct_heats: List[Tensor],
                     ct_offs: List[Tensor], batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """CornerHead's losses (``det_loss``, ``off_loss``, ``pull_loss``, ``push_loss``) plus ``ct_det_loss``
        and ``ct_off_loss`` per level."""
        losses = super().loss_by_feat(tl_heats, br_heats, tl_embs, br_embs, tl_offs, br_offs, batch_gt_instances,
                                      batch_img_metas, batch_gt_instances_ignore)
        gt_bboxes = [gt.bboxes for gt in batch_gt_instances]
        gt_labels = [gt.labels for gt in batch_gt_instances]
        targets = self.get_center_targets(gt_bboxes, gt_labels, ct_heats[-1].shape,
                                          batch_img_metas[0]['batch_input_shape'])
        ct_det, ct_off = multi_apply(self._center_loss_single, ct_heats, ct_offs,
                                     [targets] * self.num_feat_levels)
        losses.update(ct_det_loss=ct_det, ct_off_loss=ct_off)
        return losses

    def _center_loss_single(self, ct_heat: Tensor, ct_off: Tensor, targets: dict) -> Tuple[Tensor, Tensor]:
        gt_heat, gt_off = targets['center_heatmap'], targets['center_offset']
        det_loss = self.loss_center_heatmap(ct_heat.sigmoid(), gt_heat, avg_factor=max(1, gt_heat.eq(1).sum()))
        mask = gt_heat.eq(1).sum(1).gt(0).unsqueeze(1).type_as(gt_heat)
        off_loss = self.loss_center_offset(ct_off, gt_off, mask, avg_factor=max(1, mask.sum()))
        return det_loss, off_loss

    # ---------------------------------------------------------------------------------------------- inference
    def predict_by_feat(self, tl_heats: List[Tensor], br_heats: List[Tensor], tl_embs: List[Tensor],
                        br_embs: List[Tensor], tl_offs: List[Tensor], br_offs: List[Tensor],
                        ct_heats: List[Tensor], ct_offs: List[Tensor], batch_img_metas: Optional[List[dict]] = None,
                        rescale: bool = False, with_nms: bool = True) -> InstanceList:
        """Boxes of the last level, decoded as keypoint triplets (see the module docstring)."""
        assert tl_heats[-1].shape[0] == br_heats[-1].shape[0] == len(batch_img_metas)
        results = []
        for i, meta in enumerate(batch_img_metas):
            sl = slice(i, i + 1)
            results.append(self._predict_triplets_single(
                tl_heats[-1][sl], br_heats[-1][sl], tl_offs[-1][sl], br_offs[-1][sl], ct_heats[-1][sl],
                ct_offs[-1][sl], meta, tl_emb=tl_embs[-1][sl] if self.with_corner_emb else None,
                br_emb=br_embs[-1][sl] if self.with_corner_emb else None, rescale=rescale, with_nms=with_nms))
        return results

    def decode_centers(self, ct_heat: Tensor, ct_off: Tensor, img_meta: dict, k: int,
                       kernel: int) -> Tuple[Tensor, Tensor, Tensor]:
        """Top-``k`` center keypoints of one image: (k, 2) xy in input-image pixels (the coordinates of
        ``_decode_heatmap``'s boxes), scores (k,), classes (k,)."""
        _, _, height, width = ct_heat.shape
        inp_h, inp_w = img_meta['batch_input_shape'][:2]
        heat = get_local_maximum(ct_heat.sigmoid(), kernel=kernel)
        scores, inds, clses, ys, xs = get_topk_from_heatmap(heat, k=k)
        off = transpose_and_gather_feat(ct_off, inds)  # (1, k, 2)
        xs = (xs + off[..., 0]) * (inp_w / width)
        ys = (ys + off[..., 1]) * (inp_h / height)
        if 'border' in img_meta:  # RandomCenterCropPad's border (CornerNet's COCO pipeline)
            xs = xs - img_meta['border'][2]
            ys = ys - img_meta['border'][0]
        return torch.stack([xs[0], ys[0]], dim=-1), scores[0], clses[0]

    def _predict_triplets_single(self, tl_heat: Tensor, br_heat: Tensor, tl_off: Tensor, br_off: Tensor,
                                 ct_heat: Tensor, ct_off: Tensor, img_meta: dict, tl_emb: Optional[Tensor] = None,
                                 br_emb: Optional[Tensor] = None, rescale: bool = False,
                                 with_nms: bool = True) -> InstanceData:
        cfg = self.test_cfg
        bboxes, scores, clses = self._decode_heatmap(
            tl_heat=tl_heat.sigmoid(), br_heat=br_heat.sigmoid(), tl_off=tl_off, br_off=br_off, tl_emb=tl_emb,
            br_emb=br_emb, img_meta=img_meta, k=cfg.corner_topk, kernel=cfg.local_maximum_kernel,
            distance_threshold=cfg.distance_threshold, num_dets=min(1000, cfg.corner_topk ** 2))
        centers, ct_scores, ct_clses = self.decode_centers(
            ct_heat, ct_off, img_meta, k=cfg.get('center_topk', cfg.corner_topk), kernel=cfg.local_maximum_kernel)
        if rescale and 'scale_factor' in img_meta:
            scale = bboxes.new_tensor(img_meta['scale_factor'])
            bboxes = bboxes / scale.repeat((1, 2))
            centers = centers / scale
        bboxes, scores, clses = bboxes.view(-1, 4), scores.view(-1), clses.view(-1)
        valid = scores > -0.1  # CornerNet's rejected pairs carry score -1
        bboxes, scores, clses = bboxes[valid], scores[valid], clses[valid]
        self.verification_counts['images'] += 1
        self.verification_counts['pairs'] += int(valid.sum())
        if cfg.get('center_verification', True):
            n_small, n_large = cfg.get('central_region_n', (3, 5))
            keep, scores = verify_triplets(bboxes, scores, clses, centers, ct_scores, ct_clses,
                                           area_thr=cfg.get('central_region_area_thr', 22500.0),
                                           n_small=n_small, n_large=n_large)
            if self.rejected is not None:
                self.rejected.append((bboxes[~keep], scores[~keep], clses[~keep]))
            bboxes, scores, clses = bboxes[keep], scores[keep], clses[keep]
        self.verification_counts['kept'] += int(bboxes.size(0))
        det_bboxes = torch.cat([bboxes, scores.unsqueeze(-1)], -1)
        det_labels = clses
        if with_nms:
            det_bboxes, det_labels = self._bboxes_nms(det_bboxes, det_labels, cfg)
        results = InstanceData()
        results.bboxes = det_bboxes[..., :4]
        results.scores = det_bboxes[..., 4]
        results.labels = det_labels.long()
        return results
