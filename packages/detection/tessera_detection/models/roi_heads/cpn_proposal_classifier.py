"""CPN's stage two: RoIAlign classifiers that reject false corner proposals and score the survivors.

"Corner Proposal Network for Anchor-free, Two-stage Object Detection", Kaiwen Duan, Lingxi Xie, Honggang Qi,
Song Bai, Qingming Huang, Qi Tian, ECCV 2020, arXiv:2007.13816. Official code: github.com/Duankaiwen/CPNDet
(``code/models/py_utils/HG52.py``: ``regions`` / ``groupings`` / ``*_reduces``; ``kp_utils.py``:
``_filter_bboxes``; ``db/detection.py``: RoI extractors, assigner and sampler).

A proposal ``p`` (a top-left / bottom-right corner pair, see
:func:`~tessera_detection.models.dense_heads.cpn_head.enumerate_corner_proposals`) is classified twice on
RoIAlign features of the corner head's input map ``F``::

    binary      s_b(p) = sigmoid(reduce_b(RoIAlign_7x7(conv_b(F), p)))      conv_b: C -> 32 channels, 1 output
    multi-class s_r(p) = sigmoid(reduce_r(RoIAlign_7x7(conv_r(F), p)))      conv_r: C -> C channels, K outputs

with ``conv = [3x3 conv, BN, ReLU, 3x3 conv, BN, ReLU, BN]`` and ``reduce = [7x7 conv (valid, -> 1x1), BN,
ReLU, 1x1 conv]`` (the official ``region_conv`` without its repeated BN-ReLU after the first conv, and
``*_reduces``; last bias -2.19 = prior 0.1).

Targets (:func:`cpn_proposal_targets`): a proposal is positive when its IoU with a ground truth is at least
0.7, or it is that object's best proposal with IoU >= 0.5 (mmdet's ``MaxIoUAssigner``, the official
``pos_iou_thr = neg_iou_thr = 0.7, min_pos_iou = 0.5``); the ground truths themselves are added as
positive proposals in training (official ``add_gt_as_proposals``). Both classifiers are trained with
CornerNet's focal loss on 0/1 targets (mmdet's ``GaussianFocalLoss``, alpha 2, normalised by the positives):
the binary one on every sampled proposal, the multi-class one (one-hot class target, zero for negatives) on
the proposals whose detached binary score is at least ``tau = 0.2`` (and the ground truths).

At test time proposals with ``s_b < tau`` are rejected; a survivor of corner score ``s_c = (s_tl + s_br) / 2``
and class ``k`` scores (:func:`combine_cpn_scores`, official ``_filter_bboxes``)::

    s = (s_c + 0.5) * (s_r[k] + 0.5) - 0.25
"""
from typing import Tuple

import torch
import torch.nn as nn
from mmcv.cnn import ConvModule, build_norm_layer
from mmcv.ops import RoIAlign
from mmengine.model import BaseModule
from mmengine.structures import InstanceData
from torch import Tensor

from tessera_detection.registry import MODELS


def combine_cpn_scores(corner_scores: Tensor, class_scores: Tensor) -> Tensor:
    """CPN's final score ``(s_c + 0.5) * (s_r + 0.5) - 0.25`` (official ``_filter_bboxes``).

    Args:
        corner_scores (Tensor): (P,) ``(s_tl + s_br) / 2`` of the proposals.
        class_scores (Tensor): (P,) multi-class score of each proposal at its corners' class.

    Returns:
        Tensor: (P,) scores in [0, 2]; 0 only when both inputs are 0, monotone in each.
    """
    if corner_scores.shape != class_scores.shape:
        raise ValueError(f'corner_scores {tuple(corner_scores.shape)} and class_scores '
                         f'{tuple(class_scores.shape)} must have the same shape')
    return (corner_scores + 0.5) * (class_scores + 0.5) - 0.25


def cpn_proposal_targets(proposals: Tensor, gt_instances: InstanceData, assigner, sampler,
                         num_classes: int) -> Tuple[Tensor, Tensor, Tensor, Tensor, Tensor]:
    """Binary and multi-class targets of one image's proposals.

    Args:
        proposals (Tensor): (P, 4) proposal boxes, xyxy, in the same frame as ``gt_instances.bboxes``.
        gt_instances (InstanceData): ``bboxes`` (G, 4) and ``labels`` (G,).
        assigner: mmdet assigner (official: ``MaxIoUAssigner(0.7, 0.7, min_pos_iou=0.5)``).
        sampler: mmdet sampler (official: ``RandomSampler(num=4900, pos_fraction=1, add_gt_as_proposals=True)``).
        num_classes (int): K.

    Returns:
        tuple: ``boxes`` (S, 4) the sampled proposals (ground truths first when the sampler adds them),
        ``binary`` (S,) float 0/1 targets, ``onehot`` (S, K) float class targets (zero rows for negatives),
        ``is_gt`` (S,) bool, the proposals that are ground truths, and ``weights`` (S,): 1 for positives,
        ``negatives / sampled negatives`` for the sampled negatives, so that the weighted loss is an unbiased
        estimate of the loss over all negatives (1 when the sampler keeps them all, as the official 4900 does).
    """
    pred = InstanceData(priors=proposals)
    assign_result = assigner.assign(pred, gt_instances)
    res = sampler.sample(assign_result, pred, gt_instances)
    boxes = torch.cat([res.pos_priors, res.neg_priors])
    num_pos, num_neg = len(res.pos_priors), len(res.neg_priors)
    binary = boxes.new_zeros(num_pos + num_neg)
    binary[:num_pos] = 1
    onehot = boxes.new_zeros(num_pos + num_neg, num_classes)
    if num_pos:
        onehot[torch.arange(num_pos, device=boxes.device), res.pos_gt_labels.long()] = 1
    is_gt = torch.zeros(num_pos + num_neg, dtype=torch.bool, device=boxes.device)
    is_gt[:num_pos] = res.pos_is_gt.bool()
    weights = boxes.new_ones(num_pos + num_neg)
    if num_neg:
        weights[num_pos:] = float((assign_result.gt_inds == 0).sum()) / num_neg
    return boxes, binary, onehot, is_gt, weights


@MODELS.register_module()
class CPNProposalClassifier(BaseModule):
    """One RoIAlign classifier of CPN's stage two (the binary one or the multi-class one).

    Args:
        in_channels (int): C, channels of the corner head's input map.
        feat_channels (int): channels of the classifier's own feature map (official: 32 binary,
            256 = C multi-class).
        num_outputs (int): 1 (binary) or K (multi-class); each output is a sigmoid score.
        roi_size (int): RoIAlign output size (official 7).
        sampling_ratio (int): RoIAlign samples per bin (official 2 for HG-52, 1 for HG-104 / DLA-34).
        norm_cfg (dict): norm of the convs (official BN).
        prior_prob (float): initial sigmoid output (official bias -2.19, i.e. 0.1).
    """

    def __init__(self, in_channels: int, feat_channels: int, num_outputs: int, roi_size: int = 7,
                 sampling_ratio: int = 2, norm_cfg: dict = dict(type='BN', requires_grad=True),
                 prior_prob: float = 0.1, init_cfg=None) -> None:
        super().__init__(init_cfg)
        if min(in_channels, feat_channels, num_outputs, roi_size) < 1 or not 0 < prior_prob < 1:
            raise ValueError(f'CPNProposalClassifier: channels, num_outputs and roi_size must be >= 1 and '
                             f'prior_prob in (0, 1); got in_channels={in_channels}, feat_channels={feat_channels}, '
                             f'num_outputs={num_outputs}, roi_size={roi_size}, prior_prob={prior_prob}')
        self.roi_size, self.prior_prob = roi_size, prior_prob
        self.feat_conv = nn.Sequential(
            ConvModule(in_channels, in_channels, 3, padding=1, norm_cfg=norm_cfg),
            ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg),
            build_norm_layer(norm_cfg, feat_channels)[1])
        # RoIs come in feature-map cells (the official extractor's featmap_strides=[1] on heatmap coordinates)
        self.roi_align = RoIAlign(roi_size, spatial_scale=1.0, sampling_ratio=sampling_ratio, aligned=True)
        self.reduce = nn.Sequential(
            ConvModule(feat_channels, feat_channels, roi_size, norm_cfg=norm_cfg),
            nn.Conv2d(feat_channels, num_outputs, 1))

    def init_weights(self) -> None:
        super().init_weights()
        nn.init.constant_(self.reduce[-1].bias, -torch.log(torch.tensor((1 - self.prior_prob) / self.prior_prob)))

    def feature_map(self, x: Tensor) -> Tensor:
        """(N, C, H, W) -> the classifier's map (N, feat_channels, H, W)."""
        return self.feat_conv(x)

    def roi_features(self, feat: Tensor, rois: Tensor) -> Tensor:
        """RoIAlign of ``rois`` (R, 5: image index, x1, y1, x2, y2 in cells of ``feat``) -> (R, feat_channels, s, s).

        ``aligned=True``: a cell ``i`` spans ``[i, i + 1)``, so the box ``(x, y, x + 1, y + 1)`` is exactly cell
        ``(x, y)``."""
        if rois.dim() != 2 or rois.size(1) != 5:
            raise ValueError(f'rois must be (R, 5) [batch index, x1, y1, x2, y2], got {tuple(rois.shape)}')
        return self.roi_align(feat, rois)

    def classify(self, roi_feats: Tensor) -> Tensor:
        """(R, feat_channels, s, s) -> logits (R, num_outputs).

        A single RoI in training is run twice (BatchNorm needs two values per channel), its logit kept once.
        """
        if self.training and roi_feats.size(0) == 1:
            return self.reduce(roi_feats.expand(2, -1, -1, -1)).flatten(1)[:1]
        return self.reduce(roi_feats).flatten(1)

    def forward(self, feat: Tensor, rois: Tensor) -> Tensor:
        """Logits (R, num_outputs) of ``rois`` on the classifier's map ``feat`` (see :meth:`feature_map`)."""
        if rois.size(0) == 0:
            return feat.new_zeros(0, self.reduce[-1].out_channels)
        return self.classify(self.roi_features(feat, rois))
