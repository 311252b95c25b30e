"""CPN head: CornerNet's corner keypoints enumerate anchor-free proposals, two RoIAlign classifiers score them.

"Corner Proposal Network for Anchor-free, Two-stage Object Detection", Kaiwen Duan, Lingxi Xie, Honggang Qi,
Song Bai, Qingming Huang, Qi Tian, ECCV 2020, arXiv:2007.13816. Official code: github.com/Duankaiwen/CPNDet
(``code/models/py_utils/HG52.py`` ``_train`` / ``_test``, ``kp_utils.py`` ``_generate_bboxes`` / ``_decode``,
``db/detection.py``, ``config/*.json``).

What is mmdet's and what is written here
----------------------------------------
Stage one is mmdet's ``CornerHead`` without associative embeddings (``corner_emb_channels=0``): corner pooling,
top-left / bottom-right heatmaps with the Gaussian focal loss, offsets with smooth-L1, and its targets. CPN
groups corners without embeddings (:func:`enumerate_corner_proposals`, official ``_generate_bboxes``): after a
3x3 local-maximum filter of the sigmoid heatmaps, the ``k`` highest top-left and the ``k`` highest bottom-right
peaks over all classes (official ``k = 70``) give ``k^2`` pairs, and a pair is a proposal when

    class(tl) == class(br),   x_tl < x_br,   y_tl < y_br          (on the heatmap grid; ``<=`` in the official code)

with the corner score ``s_c = (s_tl + s_br) / 2``. There are at most ``k^2 = 4900`` per image; all are scored at
test time, and in training the sampler keeps all positives and fills its budget with random negatives, weighted
to estimate the loss over all of them (official budget 4900, i.e. every proposal; 512 in the digit-canvas config). Stage two is
:mod:`~tessera_detection.models.roi_heads.cpn_proposal_classifier`: the binary classifier (its loss on every
sampled proposal) rejects proposals with ``s_b < tau = 0.2``, the multi-class classifier scores the rest, and a
detection scores ``(s_c + 0.5) (s_r[k] + 0.5) - 0.25``; the 1000 best go to mmdet's soft-NMS (as CornerNet's),
100 per image are kept.

Proposal boxes for stage two are those of the official code: the integer heatmap cells of the two corners
without offsets, the bottom-right cell included (official ``+1`` IoU / RoIAlign convention), i.e. in heatmap
cells ``(x_tl, y_tl, x_br + 1, y_br + 1)``; the ground truths they are matched to are snapped to their corner
cells the same way (``floor(x / s)``, as the heatmap targets). The detections add the predicted offsets and
the stride ``s`` (as CornerNet's ``_decode_heatmap``).

Training logs (keys without ``loss``, not summed): ``cpn_proposals`` (proposals per image), ``cpn_pos_share``
(share of positive proposals, ground truths excluded), ``cpn_rejected`` (share of proposals, ground truths
excluded, whose binary score is below ``tau``: not passed to the multi-class classifier), ``cpn_to_class`` (RoIs
per image that the multi-class classifier is trained on).
"""
from typing import List, Optional, Tuple

import torch
from mmdet.models.dense_heads import CornerHead
from mmdet.models.utils import get_local_maximum, get_topk_from_heatmap
from mmdet.structures.bbox import bbox2roi
from mmdet.utils import ConfigType, InstanceList, OptInstanceList
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from torch import Tensor

from tessera_detection.models.roi_heads.cpn_proposal_classifier import (CPNProposalClassifier, combine_cpn_scores,
                                                                        cpn_proposal_targets)
from tessera_detection.registry import MODELS, TASK_UTILS


def enumerate_corner_proposals(tl_heat: Tensor, br_heat: Tensor, k: int = 70, kernel: int = 3,
                               allow_equal_corners: bool = False) -> List[InstanceData]:
    """CPN's proposals: every same-class, geometrically valid pair of the top-``k`` corners of each image.

    Args:
        tl_heat, br_heat (Tensor): (B, C, H, W) corner heatmaps, sigmoid probabilities.
        k (int): corners of each type kept per image (over all classes; official 70).
        kernel (int): local-maximum window of the heatmaps (official 3).
        allow_equal_corners (bool): accept ``x_tl == x_br`` / ``y_tl == y_br`` (the official ``_generate_bboxes``
            rejects only ``x_br < x_tl``); default False, the strict order.

    Returns:
        list[InstanceData]: per image, ``P <= k^2`` proposals in row-major order of (tl rank, br rank):
        ``tl_rank``, ``br_rank`` (P,) ranks in the top-``k``; ``tl_xy``, ``br_xy`` (P, 2) integer cells (x, y);
        ``tl_ind``, ``br_ind`` (P,) flat cell indices ``y W + x``; ``labels`` (P,); ``tl_scores``, ``br_scores`` and
        ``corner_scores = (s_tl + s_br) / 2`` (P,). Pairs whose two corners both score 0 (suppressed peaks) are
        dropped, as in the official ``score > 0`` test.
    """
    if tl_heat.shape != br_heat.shape or tl_heat.dim() != 4:
        raise ValueError(f'tl_heat and br_heat must be (B, C, H, W) of one shape, got {tuple(tl_heat.shape)} '
                         f'and {tuple(br_heat.shape)}')
    k = min(k, tl_heat[0].numel())
    tl_s, tl_i, tl_c, tl_y, tl_x = get_topk_from_heatmap(get_local_maximum(tl_heat, kernel), k=k)
    br_s, br_i, br_c, br_y, br_x = get_topk_from_heatmap(get_local_maximum(br_heat, kernel), k=k)
    results = []
    for b in range(tl_heat.size(0)):
        same_class = tl_c[b][:, None] == br_c[b][None, :]
        if allow_equal_corners:
            ordered = (br_x[b][None, :] >= tl_x[b][:, None]) & (br_y[b][None, :] >= tl_y[b][:, None])
        else:
            ordered = (br_x[b][None, :] > tl_x[b][:, None]) & (br_y[b][None, :] > tl_y[b][:, None])
        scores = (tl_s[b][:, None] + br_s[b][None, :]) / 2
        ti, bi = (same_class & ordered & (scores > 0)).nonzero(as_tuple=True)
        tl_xy = torch.stack([tl_x[b][ti], tl_y[b][ti]], 1).long()
        br_xy = torch.stack([br_x[b][bi], br_y[b][bi]], 1).long()
        results.append(InstanceData(
            tl_rank=ti, br_rank=bi, tl_xy=tl_xy, br_xy=br_xy, tl_ind=tl_i[b][ti], br_ind=br_i[b][bi],
            labels=tl_c[b][ti].long(), tl_scores=tl_s[b][ti], br_scores=br_s[b][bi], corner_scores=scores[ti, bi]))
    return results


def proposal_cell_boxes(tl_xy: Tensor, br_xy: Tensor) -> Tensor:
    """Boxes in heatmap cells spanned by two corner cells, bottom-right cell included: ``(x_tl, y_tl, x_br + 1,
    y_br + 1)`` (the official ``+1`` convention of its IoU and RoIAlign)."""
    return torch.cat([tl_xy, br_xy + 1], 1).float()


def gt_cell_boxes(gt_bboxes: Tensor, stride_xy: Tuple[float, float], feat_hw: Tuple[int, int]) -> Tensor:
    """Pixel ground truths (G, 4) -> boxes in heatmap cells of their corner cells (``floor(x / s)`` clamped to the
    map, as CornerHead's heatmap targets), bottom-right cell included."""
    sx, sy = stride_xy
    h, w = feat_hw
    x1 = (gt_bboxes[:, 0] / sx).floor().clamp(0, w - 1)
    y1 = (gt_bboxes[:, 1] / sy).floor().clamp(0, h - 1)
    x2 = (gt_bboxes[:, 2] / sx).floor().clamp(0, w - 1)
    y2 = (gt_bboxes[:, 3] / sy).floor().clamp(0, h - 1)
    return proposal_cell_boxes(torch.stack([x1, y1], 1), torch.stack([x2, y2], 1))


@MODELS.register_module()
class CPNHead(CornerHead):
    """Corner Proposal Network head (stage one: CornerHead without embeddings; stage two: two RoI classifiers).

    Args:
        num_classes, in_channels, num_feat_levels, loss_heatmap, loss_offset: mmdet's ``CornerHead``
            (``corner_emb_channels`` is 0: CPN has no associative embeddings).
        num_corners (int): top-``k`` corners per type and image (official ``top_k`` 70).
        local_maximum_kernel (int): heatmap peak window (official ``nms_kernel`` 3).
        reject_thr (float): ``tau``, proposals with binary score below it are rejected (official
            ``gr_threshold`` 0.2), in training (for the multi-class classifier's samples) and at test time.
        allow_equal_corners (bool): see :func:`enumerate_corner_proposals`.
        binary_channels (int): channels of the binary classifier's map (official 32).
        class_channels (int | None): channels of the multi-class classifier's map (official 256 = the corner head's
            input channels; None: ``in_channels``).
        roi_size, sampling_ratio: RoIAlign (official 7; 2 for HG-52, 1 for HG-104 / DLA-34).
        stage2_norm_cfg (dict): norm of the classifiers (official BN).
        loss_binary, loss_class (dict): losses of the two classifiers (official: CornerNet's focal loss, i.e. mmdet's
            ``GaussianFocalLoss`` with alpha 2, on 0/1 targets).
        train_cfg (dict): ``assigner`` and ``sampler`` of the proposals (official ``MaxIoUAssigner`` 0.7 / 0.7 /
            min 0.5, ``RandomSampler`` num 4900, pos_fraction 1, ground truths added).
        test_cfg (dict): ``num_dets`` (best combined scores kept before NMS, official 1000), ``max_per_img``,
            ``nms`` (mmdet's, e.g. soft-NMS as CornerNet's); ``stage2`` (ablations at test time, not in the
            paper): ``'full'`` (default), ``'binary_only'`` (rejection, then the corner score), ``'corner_only'``
            (every proposal, scored by its corners, i.e. no stage two).
        stage2_detach (bool): ablation (not in the paper): the classifiers read a detached map, so their losses
            train only themselves, not the backbone and neck.
    """

    def __init__(self, num_classes: int, in_channels: int, num_feat_levels: int = 1, num_corners: int = 70,
                 local_maximum_kernel: int = 3, reject_thr: float = 0.2, allow_equal_corners: bool = False,
                 binary_channels: int = 32, class_channels: Optional[int] = None, roi_size: int = 7,
                 sampling_ratio: int = 2, stage2_norm_cfg: ConfigType = dict(type='BN', requires_grad=True),
                 loss_binary: ConfigType = dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1.0),
                 loss_class: ConfigType = dict(type='GaussianFocalLoss', alpha=2.0, gamma=4.0, loss_weight=1.0),
                 train_cfg: Optional[ConfigType] = None, test_cfg: Optional[ConfigType] = None,
                 stage2_detach: bool = False, **kwargs) -> None:
        if kwargs.pop('corner_emb_channels', 0):
            raise ValueError('CPNHead: CPN groups corners without embeddings; corner_emb_channels must be 0')
        if kwargs.get('loss_embedding') is not None:
            raise ValueError('CPNHead: loss_embedding must be None (no associative embeddings in CPN)')
        kwargs['loss_embedding'] = None
        if num_corners < 1 or not 0.0 <= reject_thr <= 1.0 or local_maximum_kernel % 2 != 1:
            raise ValueError(f'CPNHead: num_corners must be >= 1, reject_thr in [0, 1] and local_maximum_kernel odd; '
                             f'got {num_corners}, {reject_thr}, {local_maximum_kernel}')
        train_cfg = ConfigDict(train_cfg) if isinstance(train_cfg, dict) else train_cfg
        test_cfg = ConfigDict(test_cfg) if isinstance(test_cfg, dict) else test_cfg
        super().__init__(num_classes, in_channels, num_feat_levels=num_feat_levels, corner_emb_channels=0,
                         train_cfg=train_cfg, test_cfg=test_cfg, **kwargs)
        self.num_corners, self.local_maximum_kernel = num_corners, local_maximum_kernel
        self.reject_thr, self.allow_equal_corners = reject_thr, allow_equal_corners
        self.stage2_detach = stage2_detach
        common = dict(in_channels=in_channels, roi_size=roi_size, sampling_ratio=sampling_ratio,
                      norm_cfg=stage2_norm_cfg)
        self.binary_classifier = CPNProposalClassifier(feat_channels=binary_channels, num_outputs=1, **common)
        self.class_classifier = CPNProposalClassifier(feat_channels=class_channels or in_channels,
                                                      num_outputs=num_classes, **common)
        self.loss_binary = MODELS.build(loss_binary)
        self.loss_class = MODELS.build(loss_class)
        if train_cfg is not None:
            for key in ('assigner', 'sampler'):
                if key not in train_cfg:
                    raise KeyError(f'CPNHead: train_cfg needs {key!r} (official: MaxIoUAssigner 0.7/0.7/0.5, '
                                   f'RandomSampler num=4900 pos_fraction=1 add_gt_as_proposals=True)')
            self.assigner = TASK_UTILS.build(train_cfg['assigner'])
            self.sampler = TASK_UTILS.build(train_cfg['sampler'], default_args=dict(context=self))

    def get_targets(self, *args, **kwargs) -> dict:
        """CornerHead's targets; ``corner_embedding`` set to None (mmdet 3.3's ``loss_by_feat_single`` reads it
        even without embeddings)."""
        targets = super().get_targets(*args, **kwargs)
        targets.setdefault('corner_embedding', None)
        return targets

    def init_weights(self) -> None:
        super().init_weights()
        self.binary_classifier.init_weights()
        self.class_classifier.init_weights()

    # ------------------------------------------------------------------ forward
    def forward(self, feats: Tuple[Tensor]) -> tuple:
        """CornerHead's outputs (lists over its ``num_feat_levels`` inputs) plus the two classifiers' maps of the
        last of these inputs (official: of the last hourglass stack), the one the proposals come from.

        Returns:
            tuple: ``tl_heats, br_heats, tl_embs, br_embs, tl_offs, br_offs`` (CornerHead, embeddings None),
            ``binary_feats, class_feats``: one-element lists, (N, 32, H, W) and (N, C, H, W).
        """
        if len(feats) < self.num_feat_levels:
            raise ValueError(f'CPNHead: {self.num_feat_levels} feature levels expected, got {len(feats)}')
        outs = super().forward(feats)
        last = feats[self.num_feat_levels - 1]
        if self.stage2_detach:  # ablation: the classifiers' losses do not reach the backbone
            last = last.detach()
        return (*outs, [self.binary_classifier.feature_map(last)], [self.class_classifier.feature_map(last)])

    def _strides(self, heat: Tensor, img_meta: dict) -> Tuple[float, float]:
        h, w = heat.shape[-2:]
        pad_h, pad_w = img_meta['batch_input_shape'][:2]
        return pad_w / w, pad_h / h

    def proposals(self, tl_heat: Tensor, br_heat: Tensor) -> List[InstanceData]:
        """:func:`enumerate_corner_proposals` on the heatmap logits, with their ``cell_boxes`` (P, 4)."""
        with torch.no_grad():
            props = enumerate_corner_proposals(tl_heat.detach().sigmoid(), br_heat.detach().sigmoid(),
                                               k=self.num_corners, kernel=self.local_maximum_kernel,
                                               allow_equal_corners=self.allow_equal_corners)
        for p in props:
            p.cell_boxes = proposal_cell_boxes(p.tl_xy, p.br_xy)
        return props

    # ------------------------------------------------------------------ training
    def loss_by_feat(self, tl_heats: List[Tensor], br_heats: List[Tensor], tl_embs: List[Tensor],
                     br_embs: List[Tensor], tl_offs: List[Tensor], br_offs: List[Tensor],
                     binary_feats: List[Tensor], class_feats: List[Tensor], batch_gt_instances: InstanceList,
                     batch_img_metas: List[dict], batch_gt_instances_ignore: OptInstanceList = None) -> dict:
        """CornerHead's heatmap and offset losses, then the two classifiers' losses on the proposals."""
        losses = super().loss_by_feat(tl_heats, br_heats, tl_embs, br_embs, tl_offs, br_offs, batch_gt_instances,
                                      batch_img_metas, batch_gt_instances_ignore)
        if self.train_cfg is None:
            raise ValueError('CPNHead: training needs train_cfg with assigner and sampler')
        feat_hw = tuple(tl_heats[-1].shape[-2:])
        stride_xy = self._strides(tl_heats[-1], batch_img_metas[0])
        props = self.proposals(tl_heats[-1], br_heats[-1])
        boxes, binary, onehot, is_gt, weights = [], [], [], [], []
        for prop, gt in zip(props, batch_gt_instances):
            gt_cells = InstanceData(bboxes=gt_cell_boxes(gt.bboxes, stride_xy, feat_hw), labels=gt.labels)
            b, t, o, g, w = cpn_proposal_targets(prop.cell_boxes, gt_cells, self.assigner, self.sampler,
                                                 self.num_classes)
            boxes.append(b), binary.append(t), onehot.append(o), is_gt.append(g), weights.append(w)
        rois = bbox2roi(boxes)
        binary, onehot, is_gt, weights = torch.cat(binary), torch.cat(onehot), torch.cat(is_gt), torch.cat(weights)

        binary_prob = self.binary_classifier(binary_feats[-1], rois).sigmoid().clamp(1e-4, 1 - 1e-4)[:, 0]
        num_pos = binary.sum()
        loss_binary = self.loss_binary(binary_prob, binary, weight=weights, avg_factor=max(1.0, float(num_pos)))

        to_class = (binary_prob.detach() >= self.reject_thr) | is_gt
        class_prob = self.class_classifier(class_feats[-1], rois[to_class]).sigmoid().clamp(1e-4, 1 - 1e-4)
        class_target = onehot[to_class]
        loss_class = self.loss_class(class_prob, class_target, weight=weights[to_class, None].expand_as(class_target),
                                     avg_factor=max(1.0, float(class_target.sum())))

        num_imgs = len(props)
        not_gt = ~is_gt
        device = binary_prob.device
        n_not_gt = max(1, int(not_gt.sum()))
        losses.update(
            loss_binary=loss_binary, loss_class=loss_class,
            cpn_proposals=torch.tensor(sum(len(p) for p in props) / num_imgs, device=device),
            cpn_pos_share=(binary[not_gt].sum() / n_not_gt).detach(),
            cpn_rejected=((binary_prob.detach() < self.reject_thr) & not_gt).sum().float() / n_not_gt,
            cpn_to_class=torch.tensor(float(to_class.sum()) / num_imgs, device=device))
        return losses

    # ------------------------------------------------------------------ inference
    def predict_by_feat(self, tl_heats: List[Tensor], br_heats: List[Tensor], tl_embs: List[Tensor],
                        br_embs: List[Tensor], tl_offs: List[Tensor], br_offs: List[Tensor],
                        binary_feats: List[Tensor], class_feats: List[Tensor], batch_img_metas: List[dict],
                        rescale: bool = False, with_nms: bool = True) -> InstanceList:
        """Proposals of the last level -> binary rejection -> multi-class scores -> combined score -> NMS."""
        results = []
        for i, img_meta in enumerate(batch_img_metas):
            results.append(self._predict_single(
                tl_heats[-1][i:i + 1], br_heats[-1][i:i + 1], tl_offs[-1][i], br_offs[-1][i],
                binary_feats[-1][i:i + 1], class_feats[-1][i:i + 1], img_meta, rescale, with_nms))
        return results

    def _predict_single(self, tl_heat: Tensor, br_heat: Tensor, tl_off: Tensor, br_off: Tensor,
                        binary_feat: Tensor, class_feat: Tensor, img_meta: dict, rescale: bool,
                        with_nms: bool) -> InstanceData:
        cfg = self.test_cfg
        mode = cfg.get('stage2', 'full')
        if mode not in ('full', 'binary_only', 'corner_only'):
            raise ValueError(f"CPNHead: test_cfg.stage2 must be 'full', 'binary_only' or 'corner_only', got {mode!r}")
        prop = self.proposals(tl_heat, br_heat)[0]
        rois = bbox2roi([prop.cell_boxes])
        if mode == 'corner_only':
            keep = prop.corner_scores >= 0
        else:
            keep = self.binary_classifier(binary_feat, rois).sigmoid()[:, 0] >= self.reject_thr
        prop = prop[keep]
        if mode == 'full':
            class_prob = self.class_classifier(class_feat, rois[keep]).sigmoid()
            own_class = class_prob.gather(1, prop.labels[:, None])[:, 0] if len(prop) else class_prob.new_zeros(0)
            scores = combine_cpn_scores(prop.corner_scores, own_class)
        else:
            scores = prop.corner_scores

        # boxes: corner cells + offsets, in pixels (CornerHead's _decode_heatmap without embeddings)
        sx, sy = self._strides(tl_heat, img_meta)
        tl_o = tl_off.flatten(1)[:, prop.tl_ind].t()
        br_o = br_off.flatten(1)[:, prop.br_ind].t()
        x1 = (prop.tl_xy[:, 0] + tl_o[:, 0]) * sx
        y1 = (prop.tl_xy[:, 1] + tl_o[:, 1]) * sy
        x2 = (prop.br_xy[:, 0] + br_o[:, 0]) * sx
        y2 = (prop.br_xy[:, 1] + br_o[:, 1]) * sy
        bboxes = torch.stack([x1, y1, x2, y2], 1).clamp(min=0)  # CornerHead keeps coordinates > 0 only

        num_dets = cfg.get('num_dets', 1000)
        order = scores.argsort(descending=True)[:num_dets]
        order = order[scores[order] > cfg.get('score_thr', 0.0)]
        bboxes, scores, labels = bboxes[order], scores[order], prop.labels[order]
        if rescale and 'scale_factor' in img_meta:
            bboxes /= bboxes.new_tensor(img_meta['scale_factor']).repeat((1, 2))
        dets = torch.cat([bboxes, scores[:, None]], -1)
        if with_nms:
            dets, labels = self._bboxes_nms(dets, labels, cfg)
        result = InstanceData()
        result.bboxes, result.scores, result.labels = dets[:, :4], dets[:, -1], labels
        result.set_metainfo(dict(cpn_proposals=len(keep), cpn_rejected=int((~keep).sum())))
        return result
