"""PyCenterNet head: the multi-resolution ("pyramid") CenterNet++ on mmdet's RepPoints point-set head.

"CenterNet++ for Object Detection", Kaiwen Duan, Song Bai, Lingxi Xie, Honggang Qi, Qingming Huang, Qi Tian,
arXiv:2204.08394 (the multi-resolution detection paradigm). Official code: github.com/Duankaiwen/PyCenterNet
(``code/mmdet/models/dense_heads/pycenternet_head.py``, ``core/bbox/assigners/point_hm_assigner_v2.py``,
``datasets/pipelines/loading_reppointsv2.py``, configs ``configs/pycenternet/``), on mmdet 2.x.

Mechanism (one FPN level ``l`` of stride ``s_l``, every location ``p`` of that level)
----------------------------------------------------------------------------------
- Two point sets of ``num_points`` points per location, one for each corner (RepPoints' init + refine stages,
  deformable convs sampled at the init points, ``gradient_mul`` on the init points). Only the **first two**
  points of a set are read as a box (per-axis min and max of the two, see :func:`first_two_points_bbox`):
  the top-left set regresses ``(x1, y1, cx, cy)`` (its corner and the object's center), the bottom-right set
  ``(cx, cy, x2, y2)``::

      tl target = (x1, y1, (x1 + x2) / 2, (y1 + y2) / 2)      br target = ((x1 + x2) / 2, (y1 + y2) / 2, x2, y2)

  **Scale assignment** (init stage, mmdet's ``PointAssigner``, ``pos_num=1``): each such half-box target of
  size ``w' x h'`` goes to level ``clamp(int((log2(w' / b) + log2(h' / b)) / 2), l_min, l_max)``
  (``b = point_base_scale``), to the location nearest to its center in the ``w', h'``-normalised distance.
  Refine stage and classification: mmdet's ``ATSSAssigner`` (top-9 per level) on the init boxes.
- Class-agnostic **keypoint heatmaps** ``tl, br, ct`` (1 channel each) and their offsets (2 channels each)
  at every level, from mmdet's ``BiCornerPool`` (top-left, bottom-right; or this package's
  ``CascadeCornerPool``) and a 3x3 conv (center; or this package's ``CenterPool``). Their 9 output channels are
  concatenated to the features of the point-set convs. **Targets** (official ``PointHMAssignerV2``, written
  here because mmdet has no per-level keypoint assigner): every object on **every** level; the location
  nearest to the keypoint ``k`` gets 1 and the offset ``(k - p) / s_l``; the other locations get
  ``exp(-|p - k|^2 / (2 sigma^2))`` if ``|p - k| < r`` (image pixels), ``r`` = mmdet's
  ``gaussian_radius((h, w), gaussian_iou)`` of the whole box, ``sigma = (2 r + 1) / 6``; max over objects.
- A **semantic map** (RepPoints v2): ``num_classes`` channels per level, target 1 inside every box of its
  class at stride ``point_strides[0]`` (resized by nearest to each level), positive weight ``1 / area``
  (smaller boxes drawn last), loss :func:`separate_sigmoid_focal_loss` (written here: mmdet lacks it).
- **Inference**: refined corner boxes of each level; for levels ``l`` with ``hm_refine_levels[l] = j``,
  each of the four points (corner and center of both sets) is moved to the argmax of the keypoint heatmap of
  level ``j`` in the 2x2 window of cells around it, plus that cell's offset (official: ``j = 0`` for levels 1,
  2 and ``j = 1`` for 3, 4). Top-left and bottom-right candidates are NMS'ed separately (mmdet's
  ``multiclass_nms``), then paired (:func:`match_corner_pairs`): same class, ``x2 > x1``, ``y2 > y1``, **both**
  centers regressed from the corners strictly inside the central region ``cx +- mu w / 2, cy +- mu h / 2``
  (``mu = 1/5``, or ``1/4`` if ``w h > central_region_area_thr``, official 3500), and the box spanned by the
  two centers at most ``distance_threshold`` (0.5) of the region's area. Score = mean of the two corner
  scores; mmdet's ``batched_nms`` follows.

From mmdet: ``RepPointsHead`` (point generator, ``offset_to_pts``, ``get_targets`` and the init/refine
target structure, ``dcn_base_offset``), ``PointAssigner``, ``ATSSAssigner``, ``BiCornerPool``, ``FocalLoss``,
``GIoULoss``, ``GaussianFocalLoss``, ``SmoothL1Loss``, ``gaussian_radius``, ``multiclass_nms``; from mmcv:
``DeformConv2d``, ``ConvModule`` (``DCNv2`` for the ``'dcn'`` towers), ``batched_nms``. Written here: the
corner/center box reading of the point sets, the keypoint-heatmap targets, the semantic-map target and
loss, the heatmap refinement and the corner matching (none exists in mmdet 3.3); the ATSS call inside
``_get_targets_single`` (mmdet's RepPointsHead does not pass ``num_level_priors``).
"""
from typing import Dict, List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule
from mmcv.ops import DeformConv2d, batched_nms
from mmdet.models.dense_heads import RepPointsHead
from mmdet.models.dense_heads.corner_head import BiCornerPool
from mmdet.models.layers import multiclass_nms
from mmdet.models.task_modules.assigners import ATSSAssigner
from mmdet.models.utils import gaussian_radius, images_to_levels, multi_apply, unmap
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.model import bias_init_with_prob, normal_init
from mmengine.structures import InstanceData
from torch import Tensor, nn

from tessera_detection.models.layers.center_pool import CascadeCornerPool, CenterPool
from tessera_detection.registry import MODELS

# official PyCenterNet: levels 1, 2 read the heatmap of level 0, levels 3, 4 that of level 1; level 0 none
OFFICIAL_HM_REFINE_LEVELS = (None, 0, 0, 1, 1)


# --------------------------------------------------------------------------------------- closed-form pieces
def corner_half_boxes(gt_bboxes: Tensor) -> Tuple[Tensor, Tensor]:
    """(K, 4) xyxy boxes -> the targets of the two point sets: tl ``(x1, y1, cx, cy)``, br ``(cx, cy, x2, y2)``."""
    cx, cy = (gt_bboxes[:, 0] + gt_bboxes[:, 2]) / 2, (gt_bboxes[:, 1] + gt_bboxes[:, 3]) / 2
    tl = torch.stack([gt_bboxes[:, 0], gt_bboxes[:, 1], cx, cy], dim=1)
    br = torch.stack([cx, cy, gt_bboxes[:, 2], gt_bboxes[:, 3]], dim=1)
    return tl, br


def first_two_points_bbox(pts: Tensor, y_first: bool = True, ordered: bool = True) -> Tensor:
    """Box of a point set read from its first two points: (N, 2 P, ...) -> (N, 4, ...).

    ``ordered=False`` is the official ``points2bbox``, ``(x_0, y_0, x_1, y_1)``. ``ordered=True`` (used here)
    takes the min and max of the two points per axis, so the box cannot be inverted. For the targets nothing
    changes (a corner is never right of / below its center), but with the official reading an inverted box
    makes mmdet's GIoU loss unbounded below: the enclosing box stays the ground truth's while the "area" of the
    inverted box grows (measured here: ``loss_pts_refine`` -28 after 8 AdamW steps). mmdet's ``points2bbox``
    only has min-max / moment transforms over all points."""
    pts = pts.view(pts.shape[0], -1, 2, *pts.shape[2:])[:, :2]
    ys = pts[:, :, 0] if y_first else pts[:, :, 1]
    xs = pts[:, :, 1] if y_first else pts[:, :, 0]
    if ordered:
        return torch.cat([xs.min(1, keepdim=True)[0], ys.min(1, keepdim=True)[0], xs.max(1, keepdim=True)[0],
                          ys.max(1, keepdim=True)[0]], dim=1)
    return torch.cat([xs[:, 0:1], ys[:, 0:1], xs[:, 1:2], ys[:, 1:2]], dim=1)


def keypoint_heatmap_targets(points: Tensor, gt_bboxes: Tensor, gaussian_iou: float = 0.7) -> Dict[str, Tensor]:
    """Keypoint targets of one image on all levels (official ``PointHMAssignerV2``, ``gaussian_bump=True``).

    Args:
        points (Tensor): (N, 3+) locations of all levels, ``(x, y, stride, ...)``.
        gt_bboxes (Tensor): (K, 4) xyxy boxes.

    Returns:
        dict: for ``k`` in ``tl, br, ct``: ``hm_k`` (N,) in [0, 1], ``off_k`` (N, 2) and ``pos_k`` (N,) bool.
    """
    num_points = points.size(0)
    out = {}
    xy, stride = points[:, :2], points[:, 2]
    keypoints = dict(tl=gt_bboxes[:, :2], br=gt_bboxes[:, 2:4], ct=(gt_bboxes[:, :2] + gt_bboxes[:, 2:4]) / 2)
    if gt_bboxes.numel():
        wh = gt_bboxes[:, 2:4] - gt_bboxes[:, :2]
        radius = xy.new_tensor([gaussian_radius((float(h), float(w)), gaussian_iou) for w, h in wh])
        sigma = (2 * radius + 1) / 6
    for name, kps in keypoints.items():
        hm, off = xy.new_zeros(num_points), xy.new_zeros(num_points, 2)
        pos = torch.zeros(num_points, dtype=torch.bool, device=xy.device)
        for s in stride.unique():
            idx = torch.nonzero(stride == s).squeeze(1)
            if not gt_bboxes.numel():
                continue
            dist = (xy[idx, None, :] - kps[None]).norm(dim=2)  # (n_l, K)
            gauss = torch.exp(-dist.pow(2) / (2 * sigma.pow(2))[None])
            gauss = torch.where(dist < radius[None], gauss, gauss.new_tensor(-1.0)).max(dim=1)[0]
            hm[idx] = torch.maximum(hm[idx], gauss.clamp(min=0))
            nearest = idx[dist.argmin(dim=0)]  # (K,)
            off[nearest] = (kps - xy[nearest]) / s
            pos[nearest] = True
        hm[pos] = 1.0
        out.update({f'hm_{name}': hm, f'off_{name}': off, f'pos_{name}': pos})
    return out


def semantic_map_target(gt_bboxes: Tensor, gt_labels: Tensor, num_classes: int, size: Sequence[int],
                        stride: int) -> Tuple[Tensor, Tensor]:
    """Box-level semantic map of one image (official ``LoadRPDV2Annotations``): (C, H, W) map, 1 inside every
    box of the class (cells ``int(y1 / s) .. int(y2 / s)``, ``int(x1 / s) .. int(x2 / s)``), and weights
    ``1 / area`` of the smallest box covering the cell (large boxes drawn first)."""
    sem = gt_bboxes.new_zeros(num_classes, *size)
    weight = gt_bboxes.new_zeros(num_classes, *size)
    area = (gt_bboxes[:, 2] - gt_bboxes[:, 0]) * (gt_bboxes[:, 3] - gt_bboxes[:, 1])
    for i in torch.argsort(area, descending=True).tolist():
        x1, y1, x2, y2 = [int(v / stride) for v in gt_bboxes[i].tolist()]
        c = int(gt_labels[i])
        sem[c, y1:y2 + 1, x1:x2 + 1] = 1
        weight[c, y1:y2 + 1, x1:x2 + 1] = 1 / area[i].clamp(min=1e-6)
    return sem, weight


def separate_sigmoid_focal_loss(pred: Tensor, target: Tensor, weight: Tensor, gamma: float = 2.0,
                                alpha: float = 0.25, avg_factor: float = 1.0) -> Tensor:
    """Focal loss with the positive and negative terms normalised apart (official ``SEPFocalLoss``)::

        L = sum_pos(-alpha w log(p) (1 - p)^g) / sum_pos(w) + sum_neg(-(1 - alpha) log(1 - p) p^g) / avg_factor
    """
    prob = pred.sigmoid()
    pos = target.eq(1)
    neg_loss = (-(1 - alpha) * torch.log((1 - prob[~pos]).clamp(min=1e-12)) * prob[~pos].pow(gamma)).sum()
    loss = neg_loss / avg_factor
    if pos.any():
        p, w = prob[pos], weight[pos]
        loss = loss + (-alpha * torch.log(p.clamp(min=1e-12)) * (1 - p).pow(gamma) * w).sum() / w.sum()
    return loss


def match_corner_pairs(tl_dets: Tensor, tl_labels: Tensor, br_dets: Tensor, br_labels: Tensor,
                       distance_threshold: float = 0.5, area_thr: float = 3500.0,
                       mu: Tuple[float, float] = (1 / 5, 1 / 4)) -> Tuple[Tensor, Tensor, Tensor]:
    """Pair top-left and bottom-right candidates and verify them by their regressed centers (official
    ``PyCenterNetHead.decode``).

    Args:
        tl_dets (Tensor): (T, 5) ``(x1, y1, cx_tl, cy_tl, score)``: the corner and the center it regresses.
        br_dets (Tensor): (B, 5) ``(cx_br, cy_br, x2, y2, score)``.
        tl_labels, br_labels (Tensor): (T,), (B,) classes.

    Returns:
        tuple: boxes (M, 4) ``(x1, y1, x2, y2)``, scores (M,) ``(s_tl + s_br) / 2``, labels (M,) of the pairs
        that pass, in (tl, br) row-major order.
    """
    x1, y1 = tl_dets[:, None, 0].clamp(min=0), tl_dets[:, None, 1].clamp(min=0)
    x2, y2 = br_dets[None, :, 2].clamp(min=0), br_dets[None, :, 3].clamp(min=0)
    ctl_x, ctl_y = tl_dets[:, None, 2].clamp(min=0), tl_dets[:, None, 3].clamp(min=0)
    cbr_x, cbr_y = br_dets[None, :, 0].clamp(min=0), br_dets[None, :, 1].clamp(min=0)
    w, h = x2 - x1, y2 - y1
    m = torch.where((w * h).abs() > area_thr, w.new_tensor(mu[1]), w.new_tensor(mu[0]))
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    rx1, rx2, ry1, ry2 = cx - m * w / 2, cx + m * w / 2, cy - m * h / 2, cy + m * h / 2
    inside = ((ctl_x > rx1) & (ctl_x < rx2) & (ctl_y > ry1) & (ctl_y < ry2)
              & (cbr_x > rx1) & (cbr_x < rx2) & (cbr_y > ry1) & (cbr_y < ry2))
    center_area = ((cbr_x - ctl_x) * (cbr_y - ctl_y)).abs()
    region_area = ((rx2 - rx1) * (ry2 - ry1)).abs()
    close = center_area <= distance_threshold * region_area  # official: reject dists > thr
    valid = (tl_labels[:, None] == br_labels[None]) & (w > 0) & (h > 0) & inside & close
    scores = (tl_dets[:, None, 4] + br_dets[None, :, 4]) / 2
    valid = valid & (scores > 0)
    boxes = torch.stack([x1.expand_as(w), y1.expand_as(w), x2.expand_as(w), y2.expand_as(w)], dim=-1)
    labels = tl_labels[:, None].expand_as(valid)
    return boxes[valid], scores[valid], labels[valid]


def snap_to_heatmap_peak(heat: Tensor, offset: Tensor, x: Tensor, y: Tensor, stride: float) -> Tuple[Tensor, Tensor]:
    """Move points (x, y) (image pixels) to the heatmap's argmax in the 2x2 window of cells at
    ``floor(p / stride)`` .. ``+1``, plus that cell's offset (official ``select``, ``ks=2``).

    Args:
        heat (Tensor): (H, W) heatmap logits of one keypoint type on the level read.
        offset (Tensor): (2, H, W) its offsets (x, y), in cells.
    """
    height, width = heat.shape
    pooled, indices = F.max_pool2d_with_indices(heat.sigmoid()[None, None], kernel_size=2, stride=1)
    indices = indices[0, 0]  # (H - 1, W - 1) flat indices into (H, W)
    xi = torch.floor((x / stride).clamp(min=0, max=indices.shape[1] - 1)).long()
    yi = torch.floor((y / stride).clamp(min=0, max=indices.shape[0] - 1)).long()
    sel = indices[yi, xi]
    nx, ny = sel % width, sel // width
    return (nx.to(x.dtype) + offset[0, ny, nx]) * stride, (ny.to(y.dtype) + offset[1, ny, nx]) * stride


@MODELS.register_module()
class PyCenterNetHead(RepPointsHead):
    """Multi-resolution CenterNet++ head (corner point sets + keypoint heatmaps + center-region matching).

    Args:
        num_classes, in_channels, feat_channels, stacked_convs, norm_cfg, point_feat_channels, num_points,
            gradient_mul, point_strides, point_base_scale, loss_cls, loss_bbox_init, loss_bbox_refine,
            train_cfg, test_cfg: as mmdet's ``RepPointsHead`` (applied to both corner point sets).
        shared_stacked_convs (int): convs on the sum of the two corner point towers (official 1).
        corner_dim (int): channels inside the corner pooling (official 64).
        conv_module_style (str): ``'norm'`` (conv-GN-ReLU towers, official fast option) or ``'dcn'``
            (modulated deformable convs, the official COCO configs).
        corner_pool (str): ``'plain'`` (mmdet's ``BiCornerPool``, official) or ``'cascade'`` (this package's
            ``CascadeCornerPool``, the hourglass CenterNet++'s module).
        center_pool (bool): center pooling (``CenterPool``) for the center heatmap instead of the official
            3x3 conv-GN-ReLU.
        loss_heatmap (dict): keypoint heatmap loss (official ``GaussianFocalLoss``, weight 0.25).
        loss_offset (dict): keypoint offset loss (official smooth-L1, beta 1/9).
        loss_sem (dict): ``gamma``, ``alpha``, ``loss_weight`` of :func:`separate_sigmoid_focal_loss`.
        hm_refine_levels (sequence, optional): for each level the index of the level whose heatmaps refine
            its corners, or None; default the official ``(None, 0, 0, 1, 1)`` cut to the number of levels.

    ``train_cfg``: ``init.assigner`` (official ``PointAssigner(scale=4, pos_num=1)``), ``refine.assigner``
    (official ``ATSSAssigner(topk=9)``), ``heatmap.gaussian_iou`` (official 0.7), ``init/refine.pos_weight``.
    ``test_cfg``: ``nms_pre``, ``score_thr``, ``nms``, ``max_per_img`` (mmdet), ``distance_threshold``
    (official 0.5), ``central_region_area_thr`` (official 3500), ``central_region_mu`` (official (1/5, 1/4)).
    """

    def __init__(self, num_classes: int, in_channels: int, *, shared_stacked_convs: int = 1, corner_dim: int = 64,
                 first_kernel_size: int = 3, kernel_size: int = 1, conv_module_style: str = 'norm',
                 corner_pool: str = 'plain', center_pool: bool = False,
                 loss_heatmap: dict = dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=0.25),
                 loss_offset: dict = dict(type='SmoothL1Loss', beta=1.0 / 9.0, loss_weight=1.0),
                 loss_sem: dict = dict(gamma=2.0, alpha=0.25, loss_weight=0.1),
                 hm_refine_levels: Optional[Sequence[Optional[int]]] = None,
                 norm_cfg: dict = dict(type='GN', num_groups=32, requires_grad=True), **kwargs):
        if conv_module_style not in ('norm', 'dcn'):
            raise ValueError(f"PyCenterNetHead: conv_module_style={conv_module_style!r}; valid: 'norm', 'dcn'")
        if corner_pool not in ('plain', 'cascade'):
            raise ValueError(f"PyCenterNetHead: corner_pool={corner_pool!r}; valid: 'plain', 'cascade'")
        self.shared_stacked_convs = shared_stacked_convs
        self.corner_dim = corner_dim
        self.first_kernel_size, self.kernel_size = first_kernel_size, kernel_size
        self.conv_module_style = conv_module_style
        self.corner_pool, self.center_pool = corner_pool, center_pool
        kwargs.setdefault('transform_method', 'minmax')  # unused (boxes come from the first two points)
        super().__init__(num_classes, in_channels, norm_cfg=norm_cfg, init_cfg=None, **kwargs)
        if not self.use_sigmoid_cls:
            raise ValueError('PyCenterNetHead: loss_cls must use sigmoid (official FocalLoss)')
        self.loss_heatmap = MODELS.build(loss_heatmap)
        self.loss_offset = MODELS.build(loss_offset)
        self.loss_sem_cfg = dict(loss_sem)
        n = len(self.point_strides)
        if hm_refine_levels is None:
            hm_refine_levels = OFFICIAL_HM_REFINE_LEVELS[:n] + (None,) * max(0, n - len(OFFICIAL_HM_REFINE_LEVELS))
        if len(hm_refine_levels) != n or any(j is not None and not 0 <= j < i
                                             for i, j in enumerate(hm_refine_levels)):
            raise ValueError(f'PyCenterNetHead: hm_refine_levels={hm_refine_levels} needs one entry per level '
                             f'({n}), each None or a finer level index')
        self.hm_refine_levels = tuple(hm_refine_levels)
        self.level_counts = None  # set to a list to count the kept detections per level at test time

    # ----------------------------------------------------------------------------------------------- layers
    def _tower_conv(self, chn: int) -> ConvModule:
        conv_cfg = dict(type='DCNv2') if self.conv_module_style == 'dcn' else self.conv_cfg
        return ConvModule(chn, self.feat_channels, 3, stride=1, padding=1, conv_cfg=conv_cfg, norm_cfg=self.norm_cfg)

    def _init_layers(self) -> None:
        self.relu = nn.ReLU(inplace=True)
        towers = ('tl_cls_convs', 'br_cls_convs', 'tl_reg_convs', 'br_reg_convs')
        for name in towers:
            setattr(self, name, nn.ModuleList([self._tower_conv(self.in_channels if i == 0 else self.feat_channels)
                                               for i in range(self.stacked_convs)]))
        self.shared_convs = nn.ModuleList([
            ConvModule(self.feat_channels, self.feat_channels, 3, padding=1, conv_cfg=self.conv_cfg,
                       norm_cfg=self.norm_cfg) for _ in range(self.shared_stacked_convs)])
        fc = self.feat_channels
        if self.corner_pool == 'plain':
            self.hem_tl = BiCornerPool(fc, ['top', 'left'], feat_channels=self.corner_dim, out_channels=fc,
                                       norm_cfg=self.norm_cfg)
            self.hem_br = BiCornerPool(fc, ['bottom', 'right'], feat_channels=self.corner_dim, out_channels=fc,
                                       norm_cfg=self.norm_cfg)
        else:
            self.hem_tl = CascadeCornerPool(fc, ['top', 'left'], self.corner_dim, fc, norm_cfg=self.norm_cfg)
            self.hem_br = CascadeCornerPool(fc, ['bottom', 'right'], self.corner_dim, fc, norm_cfg=self.norm_cfg)
        self.hem_ct = (CenterPool(fc, self.corner_dim, fc, norm_cfg=self.norm_cfg) if self.center_pool else
                       ConvModule(fc, fc, 3, padding=1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg))
        pts_out_dim = 2 * self.num_points
        pfc = self.point_feat_channels
        for c in ('tl', 'br'):
            setattr(self, f'{c}_cls_conv', DeformConv2d(fc + 9, pfc, self.dcn_kernel, 1, self.dcn_pad))
            setattr(self, f'{c}_cls_out', nn.Conv2d(pfc, self.cls_out_channels, 1))
            setattr(self, f'{c}_pts_init_conv', nn.Conv2d(fc, pfc, 3, 1, 1))
            setattr(self, f'{c}_pts_init_out', nn.Conv2d(pfc, pts_out_dim, 1))
            setattr(self, f'{c}_pts_refine_conv', DeformConv2d(fc + 9, pfc, self.dcn_kernel, 1, self.dcn_pad))
            setattr(self, f'{c}_pts_refine_out', nn.Conv2d(pfc, pts_out_dim, 1))
        for k in ('tl', 'br', 'ct'):
            setattr(self, f'hem_{k}_score_out', nn.Conv2d(fc, 1, 3, 1, 1))
            setattr(self, f'hem_{k}_offset_out', nn.Conv2d(fc, 2, 3, 1, 1))
        self.sem_out = nn.Conv2d(fc, self.cls_out_channels, 1)
        self.sem_embedding = ConvModule(fc, fc, 1, conv_cfg=self.conv_cfg, norm_cfg=self.norm_cfg)

    def init_weights(self) -> None:
        """Official init: normal(0, 0.01) on the towers and every output conv; score biases at prior 0.01."""
        super().init_weights()
        for name in ('tl_cls_convs', 'br_cls_convs', 'tl_reg_convs', 'br_reg_convs', 'shared_convs'):
            for m in getattr(self, name):
                normal_init(m.conv, std=0.01)
        bias_cls = bias_init_with_prob(0.01)
        for c in ('tl', 'br'):
            for part in ('cls_conv', 'pts_init_conv', 'pts_init_out', 'pts_refine_conv', 'pts_refine_out'):
                normal_init(getattr(self, f'{c}_{part}'), std=0.01)
            normal_init(getattr(self, f'{c}_cls_out'), std=0.01, bias=bias_cls)
        for k in ('tl', 'br', 'ct'):
            normal_init(getattr(self, f'hem_{k}_score_out'), std=0.01, bias=bias_cls)
            normal_init(getattr(self, f'hem_{k}_offset_out'), std=0.01)
        normal_init(self.sem_out, std=0.01, bias=bias_cls)

    def forward(self, feats: Tuple[Tensor]) -> tuple:
        """Per level: ``tl_cls``, ``br_cls`` (N, C, H, W); ``tl_pts_init``, ``br_pts_init``, ``tl_pts_refine``,
        ``br_pts_refine`` (N, 2 P, H, W) in stride units, (y, x) pairs; ``hm_score`` (N, 3, H, W) logits of
        tl, br, ct; ``hm_offset`` (N, 6, H, W); ``sem`` (N, C, H, W)."""
        return multi_apply(self.forward_single, feats)

    def forward_single(self, x: Tensor) -> tuple:
        dcn_base_offset = self.dcn_base_offset.type_as(x)
        feats = {}
        for name in ('tl_cls', 'br_cls', 'tl_reg', 'br_reg'):
            f = x
            for conv in getattr(self, f'{name}_convs'):
                f = conv(f)
            feats[name] = f
        shared = feats['tl_reg'] + feats['br_reg']
        for conv in self.shared_convs:
            shared = conv(shared)
        sem_out = self.sem_out(shared)
        sem_feat = self.sem_embedding(shared)
        feats = {k: v + sem_feat for k, v in feats.items()}
        hem = shared + sem_feat
        hem_feats = dict(tl=self.hem_tl(hem), br=self.hem_br(hem), ct=self.hem_ct(hem))
        hm_score = torch.cat([getattr(self, f'hem_{k}_score_out')(hem_feats[k]) for k in ('tl', 'br', 'ct')], 1)
        hm_offset = torch.cat([getattr(self, f'hem_{k}_offset_out')(hem_feats[k]) for k in ('tl', 'br', 'ct')], 1)
        hm_in = torch.cat([hm_score, hm_offset], dim=1)
        outs = {}
        for c in ('tl', 'br'):
            pts_init = getattr(self, f'{c}_pts_init_out')(
                self.relu(getattr(self, f'{c}_pts_init_conv')(feats[f'{c}_reg'])))
            pts_grad_mul = (1 - self.gradient_mul) * pts_init.detach() + self.gradient_mul * pts_init
            dcn_offset = pts_grad_mul - dcn_base_offset
            cls_in = torch.cat([feats[f'{c}_cls'], hm_in], dim=1)
            reg_in = torch.cat([feats[f'{c}_reg'], hm_in], dim=1)
            outs[f'{c}_cls'] = getattr(self, f'{c}_cls_out')(
                self.relu(getattr(self, f'{c}_cls_conv')(cls_in, dcn_offset)))
            outs[f'{c}_refine'] = getattr(self, f'{c}_pts_refine_out')(
                self.relu(getattr(self, f'{c}_pts_refine_conv')(reg_in, dcn_offset)))
            outs[f'{c}_init'] = pts_init
        return (outs['tl_cls'], outs['br_cls'], outs['tl_init'], outs['br_init'], outs['tl_refine'],
                outs['br_refine'], hm_score, hm_offset, sem_out)

    # --------------------------------------------------------------------------------------------- targets
    def get_targets(self, proposals_list, valid_flag_list, batch_gt_instances, batch_img_metas,
                    batch_gt_instances_ignore=None, stage='init', unmap_outputs=True, return_sampling_results=False):
        """mmdet's ``RepPointsHead.get_targets``; records the per-level counts that ATSS needs, and averages by
        the official ``sum over images of max(#positives, 1)``, computed here explicitly (mmdet 3.3's
        ``SamplingResult`` clamps ``num_pos`` to 1 per image, so this equals its own factor)."""
        self._num_level_proposals = [p.size(0) for p in proposals_list[0]]
        res = super().get_targets(proposals_list, valid_flag_list, batch_gt_instances, batch_img_metas,
                                  batch_gt_instances_ignore, stage, unmap_outputs, return_sampling_results=True)
        sampling_results = res[-1]
        avg_factor = float(sum(max(int(r.pos_inds.numel()), 1) for r in sampling_results))
        res = res[:5] + (avg_factor,)
        return res + (sampling_results,) if return_sampling_results else res

    def _get_targets_single(self, flat_proposals, valid_flags, gt_instances, gt_instances_ignore, stage='init',
                            unmap_outputs=True):
        """mmdet's, except that an ``ATSSAssigner`` gets ``num_level_priors`` (official refine stage)."""
        assigner = self.init_assigner if stage == 'init' else self.refine_assigner
        if not isinstance(assigner, ATSSAssigner):
            return super()._get_targets_single(flat_proposals, valid_flags, gt_instances, gt_instances_ignore,
                                               stage, unmap_outputs)
        inside = valid_flags
        proposals = flat_proposals[inside]
        num_level = [int(f.sum()) for f in torch.split(inside, self._num_level_proposals)]
        pred_instances = InstanceData(priors=proposals)
        assign_result = assigner.assign(pred_instances, num_level, gt_instances, gt_instances_ignore)
        sampling_result = self.sampler.sample(assign_result, pred_instances, gt_instances)
        pos_weight = self.train_cfg[stage]['pos_weight']
        n = proposals.shape[0]
        bbox_gt, pos_proposals = proposals.new_zeros(n, 4), torch.zeros_like(proposals)
        weights = proposals.new_zeros(n, 4)
        labels = proposals.new_full((n,), self.num_classes, dtype=torch.long)
        label_weights = proposals.new_zeros(n)
        pos_inds, neg_inds = sampling_result.pos_inds, sampling_result.neg_inds
        if len(pos_inds):
            bbox_gt[pos_inds] = sampling_result.pos_gt_bboxes
            pos_proposals[pos_inds] = proposals[pos_inds]
            weights[pos_inds] = 1.0
            labels[pos_inds] = sampling_result.pos_gt_labels
            label_weights[pos_inds] = 1.0 if pos_weight <= 0 else pos_weight
        if len(neg_inds):
            label_weights[neg_inds] = 1.0
        if unmap_outputs:
            total = flat_proposals.size(0)
            labels = unmap(labels, total, inside, fill=self.num_classes)
            label_weights, bbox_gt = unmap(label_weights, total, inside), unmap(bbox_gt, total, inside)
            pos_proposals, weights = unmap(pos_proposals, total, inside), unmap(weights, total, inside)
        return labels, label_weights, bbox_gt, pos_proposals, weights, pos_inds, neg_inds, sampling_result

    def get_heatmap_targets(self, points_list: List[List[Tensor]], batch_gt_instances: InstanceList) -> dict:
        """Keypoint targets of a batch per level: for ``k`` in tl, br, ct, ``hm_k``/``pos_k`` lists of
        (N, n_l) and ``off_k`` of (N, n_l, 2); ``num_pos_k`` = sum over images of max(#positives, 1)."""
        num_level = [p.size(0) for p in points_list[0]]
        gaussian_iou = (self.train_cfg or {}).get('heatmap', {}).get('gaussian_iou', 0.7)
        per_img = [keypoint_heatmap_targets(torch.cat(points), gt.bboxes, gaussian_iou)
                   for points, gt in zip(points_list, batch_gt_instances)]
        out = {}
        for key in per_img[0]:
            out[key] = images_to_levels([t[key] for t in per_img], num_level)
        for k in ('tl', 'br', 'ct'):
            out[f'num_pos_{k}'] = float(sum(max(int(t[f'pos_{k}'].sum()), 1) for t in per_img))
        return out

    # ------------------------------------------------------------------------------------------------ losses
    def loss_by_feat(self, tl_cls_scores, br_cls_scores, tl_pts_init, br_pts_init, tl_pts_refine, br_pts_refine,
                     hm_scores, hm_offsets, sem_scores, batch_gt_instances: InstanceList, batch_img_metas: List[dict],
                     batch_gt_instances_ignore: OptInstanceList = None) -> Dict[str, Tensor]:
        """``loss_cls``, ``loss_pts_init``, ``loss_pts_refine`` (each the mean of the two corners),
        ``loss_heatmap``, ``loss_offset`` (mean of tl, br, ct) per level, and ``loss_sem``."""
        featmap_sizes = [f.size()[-2:] for f in tl_cls_scores]
        device = tl_cls_scores[0].device
        tl_gts, br_gts = [], []
        for gt in batch_gt_instances:
            tl, br = corner_half_boxes(gt.bboxes)
            tl_gts.append(InstanceData(bboxes=tl, labels=gt.labels))
            br_gts.append(InstanceData(bboxes=br, labels=gt.labels))
        targets = {}
        for c, gts, init, refine in (('tl', tl_gts, tl_pts_init, tl_pts_refine),
                                      ('br', br_gts, br_pts_init, br_pts_refine)):
            centers, valid = self.get_points(featmap_sizes, batch_img_metas, device)
            t_init = self.get_targets(centers, valid, gts, batch_img_metas, batch_gt_instances_ignore, stage='init')
            centers, valid = self.get_points(featmap_sizes, batch_img_metas, device)
            boxes = []
            for i_img, center in enumerate(centers):
                per_lvl = []
                for lvl in range(len(self.point_strides)):
                    shift = first_two_points_bbox(init[lvl].detach()) * self.point_strides[lvl]
                    base = torch.cat([center[lvl][:, :2]] * 2, 1)
                    per_lvl.append(base + shift[i_img].permute(1, 2, 0).reshape(-1, 4))
                boxes.append(per_lvl)
            t_refine = self.get_targets(boxes, valid, gts, batch_img_metas, batch_gt_instances_ignore,
                                        stage='refine')
            centers, _ = self.get_points(featmap_sizes, batch_img_metas, device)
            targets[c] = dict(init=t_init, refine=t_refine, pts_init=self.offset_to_pts(centers, init),
                              pts_refine=self.offset_to_pts(centers, refine))
        points, _ = self.get_points(featmap_sizes, batch_img_metas, device)
        hm_t = self.get_heatmap_targets(points, batch_gt_instances)

        losses = dict(loss_cls=[], loss_pts_init=[], loss_pts_refine=[], loss_heatmap=[], loss_offset=[])
        for lvl, stride in enumerate(self.point_strides):
            cls, init, refine = 0, 0, 0
            norm = self.point_base_scale * stride
            for c, scores in (('tl', tl_cls_scores), ('br', br_cls_scores)):
                t = targets[c]
                labels, label_w, gt_refine, _, w_refine, af_refine = t['refine']
                gt_init, w_init, af_init = t['init'][2][lvl], t['init'][4][lvl], t['init'][5]
                cls = cls + self.loss_cls(scores[lvl].permute(0, 2, 3, 1).reshape(-1, self.cls_out_channels),
                                          labels[lvl].reshape(-1), label_w[lvl].reshape(-1), avg_factor=af_refine)
                box_init = first_two_points_bbox(t['pts_init'][lvl].reshape(-1, 2 * self.num_points), y_first=False)
                box_refine = first_two_points_bbox(t['pts_refine'][lvl].reshape(-1, 2 * self.num_points),
                                                   y_first=False)
                init = init + self.loss_bbox_init(box_init / norm, gt_init.reshape(-1, 4) / norm,
                                                  w_init.reshape(-1, 4), avg_factor=af_init)
                refine = refine + self.loss_bbox_refine(box_refine / norm, gt_refine[lvl].reshape(-1, 4) / norm,
                                                        w_refine[lvl].reshape(-1, 4), avg_factor=af_refine)
            hm = hm_scores[lvl].permute(0, 2, 3, 1).reshape(-1, 3).sigmoid()
            off = hm_offsets[lvl].permute(0, 2, 3, 1).reshape(-1, 6)
            heat, offl = 0, 0
            for i, k in enumerate(('tl', 'br', 'ct')):
                target = hm_t[f'hm_{k}'][lvl].reshape(-1)
                heat = heat + self.loss_heatmap(hm[:, i], target, weight=torch.ones_like(target),
                                                avg_factor=hm_t[f'num_pos_{k}'])
                pos_w = hm_t[f'pos_{k}'][lvl].reshape(-1, 1).float().expand(-1, 2)
                offl = offl + self.loss_offset(off[:, 2 * i:2 * i + 2], hm_t[f'off_{k}'][lvl].reshape(-1, 2), pos_w,
                                               avg_factor=hm_t[f'num_pos_{k}'])
            losses['loss_cls'].append(cls / 2)
            losses['loss_pts_init'].append(init / 2)
            losses['loss_pts_refine'].append(refine / 2)
            losses['loss_heatmap'].append(heat / 3)
            losses['loss_offset'].append(offl / 3)
        losses['loss_sem'] = self.loss_semantic(sem_scores, batch_gt_instances, batch_img_metas)
        return losses

    def loss_semantic(self, sem_scores: List[Tensor], batch_gt_instances: InstanceList,
                      batch_img_metas: List[dict]) -> Tensor:
        """Semantic-map loss over all levels (official: the stride-8 map resized by nearest to each level).

        The map has the size of the finest level (the batch's padded input / stride): the official maps, one per
        image of its own padded size, are zero-padded bottom-right to the batch's size when collated."""
        s0 = self.point_strides[0]
        size = tuple(sem_scores[0].shape[-2:])
        maps, weights = zip(*[semantic_map_target(gt.bboxes, gt.labels, self.num_classes, size, s0)
                              for gt in batch_gt_instances])
        maps, weights = torch.stack(maps), torch.stack(weights)
        preds, tgts, ws = [], [], []
        for sem in sem_scores:
            preds.append(sem.reshape(-1))
            tgts.append(F.interpolate(maps, sem.shape[-2:]).reshape(-1))
            ws.append(F.interpolate(weights, sem.shape[-2:]).reshape(-1))
        tgt = torch.cat(tgts)
        cfg = self.loss_sem_cfg
        return cfg.get('loss_weight', 0.1) * separate_sigmoid_focal_loss(
            torch.cat(preds), tgt, torch.cat(ws), gamma=cfg.get('gamma', 2.0), alpha=cfg.get('alpha', 0.25),
            avg_factor=max(float((tgt > 0).sum()), 1.0))

    # --------------------------------------------------------------------------------------------- inference
    def predict_by_feat(self, tl_cls_scores, br_cls_scores, tl_pts_init, br_pts_init, tl_pts_refine, br_pts_refine,
                        hm_scores, hm_offsets, sem_scores, batch_img_metas: Optional[List[dict]] = None, cfg=None,
                        rescale: bool = False, with_nms: bool = True) -> InstanceList:
        """Detections per image (see the module docstring: corner refinement by the finer heatmaps, separate
        corner NMS, center-verified pairing, NMS)."""
        cfg = self.test_cfg if cfg is None else cfg
        featmap_sizes = [f.size()[-2:] for f in tl_cls_scores]
        points = self.prior_generator.grid_priors(featmap_sizes, device=tl_cls_scores[0].device)
        results = []
        for i, meta in enumerate(batch_img_metas):
            per_lvl = [(tl_cls_scores[j][i], br_cls_scores[j][i], tl_pts_refine[j][i], br_pts_refine[j][i])
                       for j in range(len(featmap_sizes))]
            results.append(self._predict_single(per_lvl, [h[i] for h in hm_scores], [o[i] for o in hm_offsets],
                                                points, meta, cfg, rescale))
        return results

    def decode_level_corners(self, lvl: int, tl_pts: Tensor, br_pts: Tensor, points: Tensor, img_shape,
                             hm_scores: List[Tensor], hm_offsets: List[Tensor]) -> Tuple[Tensor, Tensor]:
        """(2 P, H, W) refined point sets of one level -> tl (HW, 4) ``(x1, y1, cx, cy)`` and br (HW, 4)
        ``(cx, cy, x2, y2)`` in input pixels, refined by the heatmaps of ``hm_refine_levels[lvl]``."""
        stride = self.point_strides[lvl]
        h, w = img_shape[:2]
        boxes = []
        for pts in (tl_pts, br_pts):
            b = first_two_points_bbox(pts[None])[0].permute(1, 2, 0).reshape(-1, 4) * stride
            b = b + torch.cat([points[:, :2]] * 2, dim=1)
            b = torch.stack([b[:, 0].clamp(0, w), b[:, 1].clamp(0, h), b[:, 2].clamp(0, w), b[:, 3].clamp(0, h)], 1)
            boxes.append(b)
        j = self.hm_refine_levels[lvl]
        if j is not None:
            s, heat, off = self.point_strides[j], hm_scores[j], hm_offsets[j]
            # (box, point): tl's corner on the tl map, tl's center and br's center on the ct map, br's corner
            for b, cols, ch in ((0, (0, 1), 0), (0, (2, 3), 2), (1, (0, 1), 2), (1, (2, 3), 1)):
                x, y = boxes[b][:, cols[0]], boxes[b][:, cols[1]]
                nx, ny = snap_to_heatmap_peak(heat[ch], off[2 * ch:2 * ch + 2], x, y, s)
                boxes[b] = boxes[b].clone()
                boxes[b][:, cols[0]], boxes[b][:, cols[1]] = nx.clamp(0, w), ny.clamp(0, h)
        return boxes[0], boxes[1]

    def _predict_single(self, per_lvl, hm_scores, hm_offsets, points, meta, cfg, rescale) -> InstanceData:
        tl_boxes, br_boxes, tl_scores, br_scores, tl_lvls, br_lvls = [], [], [], [], [], []
        nms_pre = cfg.get('nms_pre', -1)
        for lvl, (tl_cls, br_cls, tl_pts, br_pts) in enumerate(per_lvl):
            tl_b, br_b = self.decode_level_corners(lvl, tl_pts, br_pts, points[lvl], meta['img_shape'],
                                                   hm_scores, hm_offsets)
            for cls, b, out_b, out_s, out_l in ((tl_cls, tl_b, tl_boxes, tl_scores, tl_lvls),
                                                (br_cls, br_b, br_boxes, br_scores, br_lvls)):
                sc = cls.permute(1, 2, 0).reshape(-1, self.cls_out_channels).sigmoid()
                if 0 < nms_pre < sc.shape[0]:
                    keep = sc.max(dim=1)[0].topk(nms_pre)[1]
                    sc, b = sc[keep], b[keep]
                out_b.append(b)
                out_s.append(sc)
                out_l.append(torch.full((b.shape[0],), lvl, device=b.device))
        dets, labels = [], []
        for boxes, scores, lvls in ((tl_boxes, tl_scores, tl_lvls), (br_boxes, br_scores, br_lvls)):
            boxes, scores = torch.cat(boxes), torch.cat(scores)
            if rescale and 'scale_factor' in meta:
                boxes = boxes / boxes.new_tensor(meta['scale_factor']).repeat(2)
            scores = torch.cat([scores, scores.new_zeros(scores.shape[0], 1)], dim=1)
            d, lab, keep = multiclass_nms(boxes, scores, cfg.score_thr, cfg.nms, cfg.max_per_img,
                                          return_inds=True)
            dets.append(d)
            labels.append(lab)
            if self.level_counts is not None:
                lvl_of = torch.cat(lvls).repeat_interleave(self.num_classes)[keep] if keep.numel() else keep
                self.level_counts.append(torch.bincount(lvl_of, minlength=len(per_lvl)).tolist())
        bboxes, scores, labels = match_corner_pairs(
            dets[0], labels[0], dets[1], labels[1], distance_threshold=cfg.get('distance_threshold', 0.5),
            area_thr=cfg.get('central_region_area_thr', 3500.0), mu=tuple(cfg.get('central_region_mu', (0.2, 0.25))))
        results = InstanceData()
        if bboxes.numel() == 0:
            results.bboxes, results.scores = bboxes.new_zeros(0, 4), bboxes.new_zeros(0)
            results.labels = labels.new_zeros(0).long()
            return results
        det, keep = batched_nms(bboxes, scores, labels, cfg.nms)
        if cfg.max_per_img > 0:
            det, keep = det[:cfg.max_per_img], keep[:cfg.max_per_img]
        results.bboxes, results.scores, results.labels = det[:, :4], det[:, 4], labels[keep].long()
        return results
