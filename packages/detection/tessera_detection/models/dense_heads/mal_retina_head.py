"""MAL head: RetinaNet with anchor bags, confidence-based selection and selection-depression training.

"Multiple Anchor Learning for Visual Object Detection", Wei Ke, Tianliang Zhang, Zeyi Huang, Qixiang Ye,
Jianzhuang Liu, Dong Huang, CVPR 2020, arXiv:1912.02252. Official code: github.com/DeLightCMU/MAL
(maskrcnn-benchmark: ``modeling/rpn/free_anchor_loss_IA.py``, ``retinanetIA.py``,
``modeling/detector/retinanet.py``); github.com/KevinKecc/MAL holds its configs and inference tools.

What is mmdet's and what is written here
----------------------------------------
The layers, anchors, box coder, smooth-L1 box term, the mean-max positive bag loss and the focal negative
bag loss are mmdet's ``FreeAnchorRetinaHead`` (a ``RetinaHead``): the official MAL code computes exactly
FreeAnchor's loss on its bags. mmdet lacks the MAL parts, written here:

- **bags** (:func:`build_anchor_bags`): for object ``b_i`` the bag ``A_i`` is its ``K`` anchors of highest
  IoU (``K = bag_size``, official ``PRE_ANCHOR_TOPK`` 40 for R-50, 50 for X-101), sorted by IoU;
- **selection**: the joint confidence of anchor ``a_j`` for ``b_i`` (paper, Eq. 2)::

      Psi_ij = P_cls(a_j, y_i) * exp(-beta * smoothL1(delta_j, t_ij))          beta = loss_bbox.loss_weight

  the selected anchor is ``argmax_j Psi_ij``; with the all-to-top-1 schedule (paper, Sec. 3.3) the ``k_t``
  anchors of highest ``Psi`` are selected, ``k_t`` shrinking linearly from ``K`` to 1
  (:mod:`~tessera_detection.models.task_modules.mal_schedules`);
- **loss**: the positive loss of ``b_i`` is FreeAnchor's ``-alpha log MeanMax(Psi_ij)`` over the *selected*
  anchors (at ``k_t = K`` the official loss, at ``k_t = 1`` the MIL loss ``-alpha log max_j Psi_ij``); the
  negative loss is FreeAnchor's ``(1 - alpha) FL(P_cls * (1 - P{a_j in A+}))``, normalised by ``N_gt K``;
- **depression**: in training, before the towers, the features of highest attention are depressed
  (:mod:`~tessera_detection.models.layers.anchor_depression`) with the scheduled ratio; at test time nothing
  is depressed.

Besides the two losses, training logs (keys without ``loss``, not summed): ``mal_bag_k`` (``k_t``),
``mal_depress_ratio``, ``mal_sel_not_maxiou`` (share of objects whose selected anchor is not the anchor of
highest IoU), ``mal_sel_depressed`` (share of selected anchors in a depressed cell) and ``mal_sel_conf``
(mean ``Psi`` of the selected anchors).
"""
from typing import List, Optional, Tuple

import torch
from mmdet.models.dense_heads import FreeAnchorRetinaHead
from mmdet.structures.bbox import bbox_overlaps
from mmdet.utils import InstanceList, OptInstanceList
from mmengine.structures import InstanceData
from torch import Tensor

from tessera_detection.models.layers.anchor_depression import depress_features
from tessera_detection.models.task_modules.mal_schedules import (DEPRESSION_RATIO_SCHEDULES, SELECTION_SCHEDULES,
                                                                 depression_ratio, selected_bag_size)
from tessera_detection.registry import MODELS


def build_anchor_bags(gt_bboxes: Tensor, anchors: Tensor, bag_size: int) -> Tuple[Tensor, Tensor]:
    """Bags of the ``bag_size`` anchors of highest IoU with each object.

    Args:
        gt_bboxes (Tensor): (G, 4) object boxes, xyxy.
        anchors (Tensor): (A, 4) anchors of all levels, xyxy.
        bag_size (int): K, at most A.

    Returns:
        tuple: ``bags`` (G, K) anchor indices sorted by decreasing IoU (``bags[:, 0]`` is the max-IoU anchor)
        and their IoUs (G, K).
    """
    if bag_size > anchors.size(0):
        raise ValueError(f'bag_size {bag_size} exceeds the {anchors.size(0)} anchors of the image')
    ious = bbox_overlaps(gt_bboxes, anchors)
    bag_ious, bags = ious.topk(bag_size, dim=1, sorted=True)
    return bags, bag_ious


@MODELS.register_module()
class MALRetinaHead(FreeAnchorRetinaHead):
    """RetinaHead trained with Multiple Anchor Learning.

    Args:
        num_classes, in_channels, stacked_convs, ...: mmdet's ``FreeAnchorRetinaHead`` / ``RetinaHead``
            (``gamma``, ``alpha`` of the bag losses: official 2.0 and 0.5; ``bbox_thr`` official 0.6).
        bag_size (int): K, anchors per bag (official 40 with R-50, 50 with X-101). Sets ``pre_anchor_topk``.
        selection_schedule (str): ``'all-to-top-1'`` (paper) or ``'none'`` (whole bag every iteration, the
            official code's loss).
        depression_schedule (str): a key of ``DEPRESSION_RATIO_SCHEDULES`` (official ``'step-up-down'``;
            ``'none'`` turns depression off).
        depression_kept_share (float): share of a depressed feature kept (official 0.25; 0 zeroes it).
    """

    def __init__(self, *args, bag_size: int = 50, selection_schedule: str = 'all-to-top-1',
                 depression_schedule: str = 'step-up-down', depression_kept_share: float = 0.25, **kwargs) -> None:
        if 'pre_anchor_topk' in kwargs:
            raise ValueError('MALRetinaHead: set bag_size, not pre_anchor_topk')
        if selection_schedule not in SELECTION_SCHEDULES:
            raise ValueError(f'unknown selection_schedule {selection_schedule!r}; '
                             f'choose from {list(SELECTION_SCHEDULES)}')
        if depression_schedule not in DEPRESSION_RATIO_SCHEDULES:
            raise ValueError(f'unknown depression_schedule {depression_schedule!r}; '
                             f'choose from {sorted(DEPRESSION_RATIO_SCHEDULES)}')
        if bag_size < 1 or not 0.0 <= depression_kept_share <= 1.0:
            raise ValueError(f'bag_size must be >= 1 and depression_kept_share in [0, 1], got {bag_size}, '
                             f'{depression_kept_share}')
        super().__init__(*args, pre_anchor_topk=bag_size, **kwargs)
        self.bag_size = bag_size
        self.selection_schedule = selection_schedule
        self.depression_schedule = depression_schedule
        self.depression_kept_share = depression_kept_share
        self.train_progress = 0.0  # t / T, set by MALScheduleHook before every training iteration
        self._depress_masks: Optional[List[Tensor]] = None
        self._stats: List[Tensor] = []

    # ------------------------------------------------------------------ schedules
    def set_train_progress(self, progress: float) -> None:
        """Set ``t / T`` (in [0, 1]) for the schedules."""
        if not 0.0 <= progress <= 1.0:
            raise ValueError(f'train progress must be in [0, 1], got {progress}')
        self.train_progress = float(progress)

    @property
    def current_bag_k(self) -> int:
        return selected_bag_size(self.bag_size, self.selection_schedule, self.train_progress)

    @property
    def current_depression_ratio(self) -> float:
        return depression_ratio(self.depression_schedule, self.train_progress)

    # ------------------------------------------------------------------ training
    def loss(self, x: Tuple[Tensor], batch_data_samples) -> dict:
        """Depress the features (scheduled ratio), then mmdet's ``loss`` (forward + :meth:`loss_by_feat`)."""
        ratio = self.current_depression_ratio
        x, masks = depress_features(x, ratio, self.depression_kept_share) if ratio > 0 else (x, None)
        self._depress_masks = masks
        try:
            return super().loss(tuple(x), batch_data_samples)
        finally:
            self._depress_masks = None

    def loss_by_feat(self, cls_scores: List[Tensor], bbox_preds: List[Tensor], batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict], batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """mmdet's FreeAnchor ``loss_by_feat`` (its :meth:`positive_loss_single` is MAL's here) + MAL's logs."""
        self._stats = []
        self._flat_masks = self._flatten_masks(cls_scores)
        self._img_idx = 0
        losses = super().loss_by_feat(cls_scores, bbox_preds, batch_gt_instances, batch_img_metas,
                                      batch_gt_instances_ignore)
        device = cls_scores[0].device
        stats = torch.cat(self._stats) if self._stats else torch.zeros(0, 3, device=device)
        mean = stats.mean(0) if len(stats) else torch.zeros(3, device=device)
        losses.update(mal_bag_k=torch.tensor(float(self.current_bag_k), device=device),
                      mal_depress_ratio=torch.tensor(float(self.current_depression_ratio), device=device),
                      mal_sel_not_maxiou=mean[0], mal_sel_depressed=mean[1], mal_sel_conf=mean[2])
        self._flat_masks = None
        return losses

    def _flatten_masks(self, cls_scores: List[Tensor]) -> Optional[Tensor]:
        """Depression masks (N, 1, H, W) per level -> (N, num_anchors) in mmdet's anchor order (h, w, a)."""
        if self._depress_masks is None:
            return None
        a = self.num_base_priors
        flat = [m.permute(0, 2, 3, 1).expand(-1, -1, -1, a).reshape(m.size(0), -1) for m in self._depress_masks]
        return torch.cat(flat, dim=1)

    def image_box_prob(self, cls_prob: Tensor, bbox_pred: Tensor, flat_anchors: Tensor,
                       gt_instances: InstanceData) -> Tensor:
        """FreeAnchor's ``P{a_j in A+}`` of each anchor and class, (A, C), from the IoU of the decoded boxes
        (saturated linear between ``bbox_thr`` and the object's best IoU; max over objects of a class)."""
        gt_bboxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        box_prob = cls_prob.new_zeros(flat_anchors.size(0), self.cls_out_channels)
        if len(gt_bboxes) == 0:
            return box_prob
        pred_boxes = self.bbox_coder.decode(flat_anchors, bbox_pred)
        iou = bbox_overlaps(gt_bboxes, pred_boxes)                                   # (G, A)
        t2 = iou.max(dim=1, keepdim=True).values.clamp(min=self.bbox_thr + 1e-12)
        obj_prob = ((iou - self.bbox_thr) / (t2 - self.bbox_thr)).clamp(min=0, max=1)
        index = gt_labels[None].expand(flat_anchors.size(0), -1)                      # (A, G)
        return box_prob.scatter_reduce_(1, index, obj_prob.t(), 'amax', include_self=True)

    def positive_loss_single(self, cls_prob: Tensor, bbox_pred: Tensor, flat_anchors: Tensor,
                             gt_instances: InstanceData) -> tuple:
        """Bags, joint confidences, selection of the top ``k_t``, positive loss of one image.

        Args:
            cls_prob (Tensor): (A, C) sigmoid class probabilities.
            bbox_pred (Tensor): (A, 4) box deltas.
            flat_anchors (Tensor): (A, 4) anchors of all levels.
            gt_instances (InstanceData): ``bboxes`` (G, 4), ``labels`` (G,).

        Returns:
            tuple: box_prob (A, C), positive loss (G,), G.
        """
        img_idx, self._img_idx = self._img_idx, self._img_idx + 1
        with torch.no_grad():
            box_prob = self.image_box_prob(cls_prob, bbox_pred, flat_anchors, gt_instances)
        gt_bboxes, gt_labels = gt_instances.bboxes, gt_instances.labels
        num_gt = len(gt_bboxes)
        if num_gt == 0:
            return box_prob, cls_prob.new_zeros(0), 0
        bags, _ = build_anchor_bags(gt_bboxes, flat_anchors, self.bag_size)            # (G, K)
        bag_cls_prob, bag_box_prob = self.bag_confidences(cls_prob, bbox_pred, flat_anchors, gt_instances, bags)
        psi = (bag_cls_prob * bag_box_prob).detach()                                  # Psi_ij, (G, K)
        sel = psi.topk(self.current_bag_k, dim=1, sorted=True).indices                # (G, k_t), sel[:, 0] = argmax
        positive_loss = self.positive_bag_loss(bag_cls_prob.gather(1, sel), bag_box_prob.gather(1, sel))

        best = sel[:, 0]
        depressed = torch.zeros_like(best, dtype=psi.dtype)
        if self._flat_masks is not None:
            depressed = 1.0 - self._flat_masks[img_idx][bags.gather(1, best[:, None])[:, 0]]
        self._stats.append(torch.stack([(best != 0).to(psi.dtype), depressed,
                                        psi.gather(1, best[:, None])[:, 0]], dim=1))
        return box_prob, positive_loss, num_gt

    def bag_confidences(self, cls_prob: Tensor, bbox_pred: Tensor, flat_anchors: Tensor,
                        gt_instances: InstanceData, bags: Tensor) -> Tuple[Tensor, Tensor]:
        """``P_cls`` (G, K) of each bag anchor for its object's class and ``P_loc = exp(-beta smoothL1)`` (G, K)."""
        k = bags.size(1)
        bag_cls_prob = cls_prob[bags].gather(2, gt_instances.labels.view(-1, 1, 1).expand(-1, k, 1)).squeeze(2)
        bag_anchors = flat_anchors[bags]
        targets = self.bbox_coder.encode(bag_anchors, gt_instances.bboxes[:, None].expand_as(bag_anchors))
        loss_bbox = self.loss_bbox(bbox_pred[bags], targets, reduction_override='none').sum(-1)
        return bag_cls_prob, torch.exp(-loss_bbox)
