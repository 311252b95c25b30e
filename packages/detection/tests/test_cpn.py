"""CPN (arXiv:2007.13816): corner-pair proposals, binary-classifier targets, score combination, RoIAlign, losses."""
import itertools

import pytest
import torch
from mmdet.models.losses import GaussianFocalLoss
from mmengine.structures import InstanceData

from tessera_detection.models.dense_heads.cpn_head import (CPNHead, enumerate_corner_proposals, gt_cell_boxes,
                                                           proposal_cell_boxes)
from tessera_detection.models.detectors import CPN
from tessera_detection.models.roi_heads import CPNProposalClassifier, combine_cpn_scores, cpn_proposal_targets
from tessera_detection.registry import TASK_UTILS

ASSIGNER = dict(type='MaxIoUAssigner', pos_iou_thr=0.7, neg_iou_thr=0.7, min_pos_iou=0.5, ignore_iof_thr=-1)
SAMPLER = dict(type='RandomSampler', num=4900, pos_fraction=1.0, neg_pos_ub=-1, add_gt_as_proposals=True)
TRAIN_CFG = dict(assigner=ASSIGNER, sampler=SAMPLER)
TEST_CFG = dict(num_dets=1000, score_thr=0.0, max_per_img=100, nms=dict(type='nms', iou_threshold=0.5))


def _head(**kw):
    head = CPNHead(num_classes=3, in_channels=8, num_feat_levels=1, train_cfg=TRAIN_CFG, test_cfg=TEST_CFG,
                   binary_channels=4, class_channels=8, **kw)
    head.init_weights()
    return head


# --------------------------------------------------------------------------- proposal enumeration
def _hand_heatmaps():
    """2 classes, 16x16. tl peaks A, B, E (class 0), C, D (class 1); br peaks a, b, c (class 0), d, e (class 1).

    D and E lie below-right of every bottom-right corner: they pair with nothing."""
    tl, br = torch.zeros(1, 2, 16, 16), torch.zeros(1, 2, 16, 16)
    # (class, x, y, score)
    tls = dict(A=(0, 2, 3, 0.9), B=(0, 10, 1, 0.8), C=(1, 5, 5, 0.7), D=(1, 14, 14, 0.3), E=(0, 13, 13, 0.2))
    brs = dict(a=(0, 8, 9, 0.9), b=(0, 1, 12, 0.6), c=(0, 12, 4, 0.5), d=(1, 9, 9, 0.8), e=(1, 5, 7, 0.4))
    for heat, peaks in ((tl, tls), (br, brs)):
        for c, x, y, s in peaks.values():
            heat[0, c, y, x] = s
    return tl, br, tls, brs


def _names(props, tls, brs):
    tl_by_xy = {(x, y): n for n, (_, x, y, _) in tls.items()}
    br_by_xy = {(x, y): n for n, (_, x, y, _) in brs.items()}
    return [tl_by_xy[tuple(t)] + br_by_xy[tuple(b)] for t, b in zip(props.tl_xy.tolist(), props.br_xy.tolist())]


def test_enumeration_on_hand_placed_corners_strict_order():
    tl, br, tls, brs = _hand_heatmaps()
    props = enumerate_corner_proposals(tl, br, k=len(tls), kernel=3)[0]
    # class 0: A-a valid, A-b (x_br 1 < x_tl 2) no, A-c valid, B-a (8 < 10) no, B-b no, B-c valid
    # class 1: C-d valid, C-e (x_br == x_tl == 5) not strict. Cross-class pairs (A-d is ordered) never.
    assert _names(props, tls, brs) == ['Aa', 'Ac', 'Bc', 'Cd']  # row-major in (tl rank, br rank)
    assert props.labels.tolist() == [0, 0, 0, 1]
    assert torch.allclose(props.corner_scores, torch.tensor([0.9, 0.7, 0.65, 0.75]))
    assert torch.all(props.tl_xy[:, 0] < props.br_xy[:, 0]) and torch.all(props.tl_xy[:, 1] < props.br_xy[:, 1])
    assert props.tl_ind.tolist() == [y * 16 + x for x, y in props.tl_xy.tolist()]


def test_enumeration_equal_corners_option_and_top_k_budget():
    tl, br, tls, brs = _hand_heatmaps()
    loose = enumerate_corner_proposals(tl, br, k=len(tls), kernel=3, allow_equal_corners=True)[0]
    assert _names(loose, tls, brs) == ['Aa', 'Ac', 'Bc', 'Cd', 'Ce']  # the official `br < tl` rejection
    # k = 2: tl {A, B}, br {a, d}: only A-a survives (A-d cross-class, B-a not ordered)
    top2 = enumerate_corner_proposals(tl, br, k=2, kernel=3)[0]
    assert _names(top2, tls, brs) == ['Aa']


def test_enumeration_keeps_only_local_maxima():
    tl, br, tls, brs = _hand_heatmaps()
    tl[0, 0, 3, 3] = 0.85  # beside A (0.9): suppressed by the 3x3 local maximum
    props = enumerate_corner_proposals(tl, br, k=len(tls), kernel=3)[0]
    assert _names(props, tls, brs) == ['Aa', 'Ac', 'Bc', 'Cd']


def test_enumeration_equals_brute_force_on_random_heatmaps():
    g = torch.Generator().manual_seed(0)
    tl, br = torch.rand(2, 4, 12, 12, generator=g), torch.rand(2, 4, 12, 12, generator=g)
    k = 20
    for img, props in enumerate(enumerate_corner_proposals(tl, br, k=k, kernel=3)):
        def top(heat):
            h = heat[img]
            peak = h == torch.nn.functional.max_pool2d(h[None], 3, 1, 1)[0]
            flat = (h * peak).flatten()
            s, i = flat.topk(k)
            return [(int(j) // 144, int(j) % 12, (int(j) % 144) // 12, float(v)) for j, v in zip(i, s)]
        expect = [(tc, tx, ty, bx, by) for (tc, tx, ty, ts), (bc, bx, by, bs) in itertools.product(top(tl), top(br))
                  if tc == bc and tx < bx and ty < by and ts + bs > 0]
        got = list(zip(props.labels.tolist(), *props.tl_xy.t().tolist(), *props.br_xy.t().tolist()))
        assert got == expect and 0 < len(got) <= k * k


def test_enumeration_rejects_mismatched_maps():
    with pytest.raises(ValueError, match='tl_heat and br_heat'):
        enumerate_corner_proposals(torch.zeros(1, 2, 8, 8), torch.zeros(1, 2, 8, 9))


# --------------------------------------------------------------------------- cells and targets
def test_cell_boxes_follow_the_heatmap_targets():
    assert proposal_cell_boxes(torch.tensor([[2, 3]]), torch.tensor([[9, 7]])).tolist() == [[2, 3, 10, 8]]
    gt = torch.tensor([[10.0, 13.0, 37.0, 30.0], [0.0, 0.0, 200.0, 64.0]])
    assert gt_cell_boxes(gt, (4.0, 4.0), (32, 32)).tolist() == [[2, 3, 10, 8], [0, 0, 32, 17]]  # clamped to 31


def test_binary_targets_on_hand_built_proposals():
    gt = InstanceData(bboxes=torch.tensor([[2.0, 2.0, 12.0, 12.0], [30.0, 30.0, 40.0, 40.0], [50.0, 50.0, 60.0, 60.0]]),
                      labels=torch.tensor([2, 1, 0]))
    proposals = torch.tensor([
        [2.0, 2.0, 12.0, 12.0],   # IoU 1.00 with gt0 -> positive, class 2
        [2.0, 2.0, 12.0, 11.0],   # 0.90 -> positive
        [2.0, 2.0, 12.0, 9.5],    # 0.75 -> positive (>= 0.7)
        [2.0, 2.0, 12.0, 8.5],    # 0.65 -> negative (below 0.7, not gt0's best)
        [20.0, 20.0, 25.0, 25.0],  # 0 -> negative
        [30.0, 30.0, 36.0, 40.0],  # 0.60 with gt1, its best -> positive by min_pos_iou 0.5, class 1
        [30.0, 30.0, 35.5, 40.0],  # 0.55 with gt1, not its best -> negative
        [50.0, 50.0, 54.0, 60.0],  # 0.40 with gt2, its best but < 0.5 -> negative
    ])
    boxes, binary, onehot, is_gt, weights = cpn_proposal_targets(proposals, gt, TASK_UTILS.build(ASSIGNER),
                                                                 TASK_UTILS.build(SAMPLER), num_classes=3)
    # sampled: positives (the 3 ground truths first, then proposals 0, 1, 2, 5), then negatives 3, 4, 6, 7
    expect_boxes = torch.cat([gt.bboxes, proposals[[0, 1, 2, 5]], proposals[[3, 4, 6, 7]]])
    assert torch.equal(boxes, expect_boxes)
    assert binary.tolist() == [1.0] * 7 + [0.0] * 4
    assert is_gt.tolist() == [True] * 3 + [False] * 8
    assert onehot[:7].argmax(1).tolist() == [2, 1, 0, 2, 2, 2, 1] and torch.all(onehot[:7].sum(1) == 1)
    assert torch.all(onehot[7:] == 0)
    assert torch.all(weights == 1)  # every negative sampled
    # a budget of 9: the 7 positives and 2 of the 4 negatives, each weighted 4 / 2
    small = TASK_UTILS.build({**SAMPLER, 'num': 9})
    boxes, binary, _, _, weights = cpn_proposal_targets(proposals, gt, TASK_UTILS.build(ASSIGNER), small, 3)
    assert binary.tolist() == [1.0] * 7 + [0.0] * 2 and weights.tolist() == [1.0] * 7 + [2.0] * 2


# --------------------------------------------------------------------------- scores
def test_score_combination_on_hand_set_scores():
    s_c = torch.tensor([0.0, 0.5, 1.0, 0.8, 0.3])
    s_r = torch.tensor([0.0, 0.5, 1.0, 0.1, 0.9])
    assert torch.allclose(combine_cpn_scores(s_c, s_r), torch.tensor([0.0, 0.75, 2.0, 0.53, 0.87]))
    with pytest.raises(ValueError, match='same shape'):
        combine_cpn_scores(s_c, s_r[:2])


def test_predict_rejects_below_tau_and_combines_scores(monkeypatch):
    head = _head(num_corners=5).eval()
    tl, br, tls, brs = _hand_heatmaps()
    tl3, br3 = torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16)
    tl3[:, :2], br3[:, :2] = tl, br
    logit = lambda p: torch.log(p / (1 - p))  # noqa: E731
    # Aa, Ac, Bc, Cd: binary scores 0.9, 0.1 (rejected), 0.5, 0.25; class scores at the corners' class
    binary = torch.tensor([0.9, 0.1, 0.5, 0.25])
    klass = torch.tensor([[0.6, 0.1, 0.1], [0.9, 0.1, 0.1], [0.2, 0.7, 0.1], [0.1, 0.4, 0.3]])
    seen = {}

    def fake_binary(feat, rois):
        seen['binary_rois'] = rois.clone()
        return logit(binary)[:, None]

    def fake_class(feat, rois):
        seen['class_rois'] = rois.clone()
        keep = binary >= 0.2
        return logit(klass[keep])

    monkeypatch.setattr(head.binary_classifier, 'forward', fake_binary)
    monkeypatch.setattr(head.class_classifier, 'forward', fake_class)
    meta = dict(batch_input_shape=(64, 64), img_shape=(64, 64), scale_factor=(1.0, 1.0))
    off = torch.zeros(2, 16, 16)
    res = head._predict_single(logit(tl3.clamp(1e-6, 1 - 1e-6)), logit(br3.clamp(1e-6, 1 - 1e-6)), off, off,
                               None, None, meta, rescale=True, with_nms=False)
    assert len(seen['binary_rois']) == 4 and len(seen['class_rois']) == 3  # Ac never reaches the 2nd classifier
    corner = torch.tensor([0.9, 0.65, 0.75])  # Aa, Bc, Cd
    own = torch.tensor([0.6, 0.2, 0.4])        # class-0, class-0, class-1 score
    expect = combine_cpn_scores(corner, own)
    order = expect.argsort(descending=True)
    assert torch.allclose(res.scores, expect[order], atol=1e-5)
    assert res.labels.tolist() == torch.tensor([0, 0, 1])[order].tolist()
    # boxes: corner cells x stride 4 (zero offsets): Aa = (2, 3) -> (8, 9)
    assert res.bboxes[order.tolist().index(0)].tolist() == [8.0, 12.0, 32.0, 36.0]
    assert res.metainfo == dict(cpn_proposals=4, cpn_rejected=1)


# --------------------------------------------------------------------------- RoIAlign classifiers
def test_roi_align_shapes_and_cell_semantics():
    clf = CPNProposalClassifier(in_channels=8, feat_channels=32, num_outputs=1, sampling_ratio=2)
    clf.init_weights()
    feat = torch.randn(2, 8, 16, 16)
    rois = torch.tensor([[0, 2, 3, 9, 10], [1, 0, 0, 16, 16], [1, 5, 5, 6, 6.0]])
    fmap = clf.feature_map(feat)
    assert fmap.shape == (2, 32, 16, 16)
    assert clf.roi_features(fmap, rois).shape == (3, 32, 7, 7)
    assert clf(fmap, rois).shape == (3, 1)
    multi = CPNProposalClassifier(in_channels=8, feat_channels=8, num_outputs=10)
    assert multi(multi.feature_map(feat), rois).shape == (3, 10)
    assert multi(feat, rois[:0]).shape == (0, 10)
    # a ramp map f(x) = x: bin j of the RoI over cells 2..8 is cell 2 + j (aligned cells [i, i + 1))
    ramp = torch.arange(16.0).view(1, 1, 1, 16).expand(1, 32, 16, 16).contiguous()
    out = clf.roi_features(ramp, torch.tensor([[0, 2, 3, 9, 10.0]]))
    assert torch.allclose(out[0, 0, 3], torch.arange(2.0, 9.0))
    # initial score = prior 0.1 (official bias -2.19)
    assert torch.allclose(clf.reduce[-1].bias.sigmoid(), torch.tensor(0.1))
    with pytest.raises(ValueError, match=r'\(R, 5\)'):
        clf.roi_features(fmap, rois[:, :4])


# --------------------------------------------------------------------------- losses
def _batch(head, seed=0):
    g = torch.Generator().manual_seed(seed)
    feats = (torch.randn(2, 8, 16, 16, generator=g),)
    gts = [InstanceData(bboxes=torch.tensor([[8.0, 8.0, 40.0, 36.0], [30.0, 10.0, 60.0, 50.0]]),
                        labels=torch.tensor([0, 2])),
           InstanceData(bboxes=torch.tensor([[4.0, 20.0, 28.0, 60.0]]), labels=torch.tensor([1]))]
    metas = [dict(batch_input_shape=(64, 64), img_shape=(64, 64), pad_shape=(64, 64))] * 2
    return feats, gts, metas


def test_losses_keys_gradients_and_binary_loss_formula():
    torch.manual_seed(0)
    head = _head()
    feats, gts, metas = _batch(head)
    outs = head(feats)
    assert len(outs) == 8 and outs[2] == [None] and outs[6][0].shape == (2, 4, 16, 16)
    losses = head.loss_by_feat(*outs, gts, metas)
    for key in ('det_loss', 'off_loss', 'loss_binary', 'loss_class'):
        assert key in losses
    assert 'pull_loss' not in losses and 'push_loss' not in losses
    assert losses['cpn_proposals'] > 0 and 0 <= float(losses['cpn_rejected']) <= 1
    (losses['loss_binary'] + losses['loss_class']).backward()
    assert head.binary_classifier.reduce[-1].weight.grad.abs().sum() > 0
    assert head.class_classifier.reduce[-1].weight.grad.abs().sum() > 0
    # CornerNet's focal loss (official _neg_loss) on 0/1 targets equals mmdet's GaussianFocalLoss, alpha 2
    p = torch.tensor([0.9, 0.2, 0.6, 0.05])
    t = torch.tensor([1.0, 0.0, 1.0, 0.0])
    ref = -(torch.log(p[t == 1]) * (1 - p[t == 1]) ** 2).sum() - (torch.log(1 - p[t == 0]) * p[t == 0] ** 2).sum()
    assert torch.allclose(GaussianFocalLoss(alpha=2.0, gamma=4.0)(p, t, avg_factor=2.0), ref / 2)


def test_class_classifier_sees_only_survivors_and_ground_truths(monkeypatch):
    head = _head(reject_thr=0.5)
    feats, gts, metas = _batch(head)
    outs = head(feats)
    seen = {}
    real_b, real_c = head.binary_classifier.forward, head.class_classifier.forward

    def fake_binary(feat, rois):
        logits = real_b(feat, rois)
        seen['binary'] = logits.detach().sigmoid()[:, 0]
        return logits

    def fake_class(feat, rois):
        seen['n_class'] = len(rois)
        return real_c(feat, rois)

    monkeypatch.setattr(head.binary_classifier, 'forward', fake_binary)
    monkeypatch.setattr(head.class_classifier, 'forward', fake_class)
    losses = head.loss_by_feat(*outs, gts, metas)
    n_gt = sum(len(g) for g in gts)
    # fresh head: binary scores near the 0.1 prior, so (almost) only the 3 ground truths pass tau = 0.5
    passed = int((seen['binary'] >= 0.5).sum())
    assert n_gt <= seen['n_class'] <= n_gt + passed
    assert float(losses['cpn_to_class']) == seen['n_class'] / 2


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='corner_emb_channels'):
        _head(corner_emb_channels=1)
    with pytest.raises(ValueError, match='reject_thr'):
        _head(reject_thr=1.5)
    with pytest.raises(KeyError, match='sampler'):
        CPNHead(num_classes=3, in_channels=8, train_cfg=dict(assigner=ASSIGNER))
    with pytest.raises(ValueError, match='prior_prob'):
        CPNProposalClassifier(in_channels=8, feat_channels=8, num_outputs=1, prior_prob=0.0)


def test_detector_requires_the_cpn_head():
    backbone = dict(type='mmdet.ResNet', depth=18, num_stages=1, strides=(1,), dilations=(1,), out_indices=(0,),
                    base_channels=8, norm_eval=False)
    with pytest.raises(TypeError, match='CPNHead'):
        CPN(backbone=backbone, neck=None,
            bbox_head=dict(type='CornerHead', num_classes=3, in_channels=8, num_feat_levels=1))


def test_stage_two_ablations(monkeypatch):
    """test_cfg.stage2: 'binary_only' keeps the survivors with their corner scores, 'corner_only' every proposal;
    stage2_detach stops the classifiers' gradient at the neck."""
    tl, br, _, _ = _hand_heatmaps()
    tl3, br3 = torch.zeros(1, 3, 16, 16), torch.zeros(1, 3, 16, 16)
    tl3[:, :2], br3[:, :2] = tl, br
    logit = lambda p: torch.log(p / (1 - p))  # noqa: E731
    meta = dict(batch_input_shape=(64, 64), img_shape=(64, 64), scale_factor=(1.0, 1.0))
    off = torch.zeros(2, 16, 16)
    got = {}
    for mode in ('binary_only', 'corner_only'):
        head = CPNHead(num_classes=3, in_channels=8, num_corners=5, test_cfg={**TEST_CFG, 'stage2': mode}).eval()
        monkeypatch.setattr(head.binary_classifier, 'forward',
                            lambda feat, rois: logit(torch.tensor([0.9, 0.1, 0.5, 0.25]))[:, None])
        res = head._predict_single(logit(tl3.clamp(1e-6, 1 - 1e-6)), logit(br3.clamp(1e-6, 1 - 1e-6)), off, off,
                                   None, None, meta, rescale=False, with_nms=False)
        got[mode] = sorted(round(v, 4) for v in res.scores.tolist())
    assert got['binary_only'] == [0.65, 0.75, 0.9]           # Aa, Bc, Cd; Ac rejected
    assert got['corner_only'] == [0.65, 0.7, 0.75, 0.9]      # all four
    head = _head(stage2_detach=True)
    feats, gts, metas = _batch(head)
    feats = (feats[0].requires_grad_(),)
    losses = head.loss_by_feat(*head(feats), gts, metas)
    (losses['loss_binary'] + losses['loss_class']).backward()
    assert feats[0].grad is None or feats[0].grad.abs().sum() == 0
    with pytest.raises(ValueError, match='stage2'):
        bad = CPNHead(num_classes=3, in_channels=8, num_corners=5, test_cfg={**TEST_CFG, 'stage2': 'none'}).eval()
        bad._predict_single(tl3, br3, off, off, None, None, meta, rescale=False, with_nms=False)
