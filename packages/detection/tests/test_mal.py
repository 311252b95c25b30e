"""MAL (arXiv:1912.02252): anchor bags, selection by the joint confidence, schedules, depression, loss."""
import math

import pytest
import torch
import torch.nn.functional as F
from mmdet.models.dense_heads import FreeAnchorRetinaHead
from mmdet.models.losses.focal_loss import py_sigmoid_focal_loss
from mmdet.structures.bbox import bbox_overlaps
from mmengine.structures import InstanceData

from tessera_detection.engine import MALScheduleHook
from tessera_detection.models.dense_heads.mal_retina_head import MALRetinaHead, build_anchor_bags
from tessera_detection.models.layers import attention_map, depress_features, depression_mask
from tessera_detection.models.task_modules.mal_schedules import depression_ratio, selected_bag_size

HEAD = dict(num_classes=4, in_channels=8, stacked_convs=1, feat_channels=8,
            anchor_generator=dict(type='AnchorGenerator', octave_base_scale=3, scales_per_octave=3,
                                  ratios=[0.5, 1.0, 2.0], strides=[8, 16]),
            bbox_coder=dict(type='DeltaXYWHBBoxCoder', target_means=[0.0] * 4, target_stds=[0.1, 0.1, 0.2, 0.2]),
            loss_cls=dict(type='FocalLoss', use_sigmoid=True, gamma=2.0, alpha=0.25, loss_weight=1.0),
            loss_bbox=dict(type='SmoothL1Loss', beta=0.11, loss_weight=0.75), bbox_thr=0.6, alpha=0.5, gamma=2.0)
GT = InstanceData(bboxes=torch.tensor([[8.0, 10.0, 40.0, 44.0], [50.0, 40.0, 90.0, 70.0], [5.0, 60.0, 30.0, 90.0]]),
                  labels=torch.tensor([1, 3, 1]))


def _head(**kw):
    return MALRetinaHead(**HEAD, **{**dict(bag_size=10), **kw})


def _inputs(head, seed=0, size=96):
    g = torch.Generator().manual_seed(seed)
    sizes = [(size // s, size // s) for s in (8, 16)]
    anchors = torch.cat(head.prior_generator.grid_priors(sizes, device='cpu'))
    n = anchors.size(0)
    cls_prob = torch.rand(n, 4, generator=g) * 0.9 + 0.05
    bbox_pred = torch.randn(n, 4, generator=g) * 0.3
    return cls_prob.requires_grad_(), bbox_pred.requires_grad_(), anchors


def _run(head, cls_prob, bbox_pred, anchors, gt=GT):
    head._flat_masks, head._img_idx, head._stats = None, 0, []
    return head.positive_loss_single(cls_prob, bbox_pred, anchors, gt)


# --------------------------------------------------------------------------- bags
def test_bag_is_exactly_the_top_k_iou_anchors_sorted():
    head = _head()
    _, _, anchors = _inputs(head)
    bags, bag_ious = build_anchor_bags(GT.bboxes, anchors, 10)
    ious = bbox_overlaps(GT.bboxes, anchors)
    for i in range(len(GT.bboxes)):
        ref = torch.argsort(ious[i], descending=True)[:10]
        assert set(bags[i].tolist()) == set(ref.tolist())
        assert bags[i, 0] == ious[i].argmax()
        assert torch.all(bag_ious[i][:-1] >= bag_ious[i][1:])
        outside = torch.ones_like(ious[i], dtype=torch.bool)
        outside[bags[i]] = False
        assert ious[i][outside].max() <= bag_ious[i].min()
    with pytest.raises(ValueError, match='exceeds'):
        build_anchor_bags(GT.bboxes, anchors[:5], 10)


def test_full_bag_equals_mmdet_freeanchor_loss_the_official_code():
    """At k_t = K (start of training, or selection 'none') MAL's loss is FreeAnchor's = the official loss."""
    head = _head(depression_schedule='none')
    ref = FreeAnchorRetinaHead(**HEAD, pre_anchor_topk=10)
    cls_prob, bbox_pred, anchors = _inputs(head)
    box_prob, pos, n = _run(head, cls_prob, bbox_pred, anchors)
    box_ref, pos_ref, n_ref = ref.positive_loss_single(cls_prob, bbox_pred, anchors, GT)
    assert n == n_ref == 3
    torch.testing.assert_close(box_prob, box_ref)
    torch.testing.assert_close(pos, pos_ref)
    assert box_prob.max() == 1.0  # each object's best decoded box gets P{a in A+} = 1


# --------------------------------------------------------------------------- selection
def _psi(head, cls_prob, bbox_pred, anchors, bags):
    """Brute force Psi_ij = P_cls * exp(-beta smoothL1) over each bag, (G, K)."""
    out = torch.zeros(bags.shape)
    for i in range(bags.size(0)):
        for j in range(bags.size(1)):
            a = bags[i, j]
            t = head.bbox_coder.encode(anchors[a:a + 1], GT.bboxes[i:i + 1])[0]
            d = (bbox_pred[a] - t).abs()
            sl1 = torch.where(d < 0.11, 0.5 * d ** 2 / 0.11, d - 0.5 * 0.11).sum()
            out[i, j] = cls_prob[a, GT.labels[i]] * torch.exp(-0.75 * sl1)
    return out.detach()


def test_selected_anchor_maximises_joint_confidence_not_iou():
    head = _head(depression_schedule='none')
    cls_prob, bbox_pred, anchors = _inputs(head)
    bags, _ = build_anchor_bags(GT.bboxes, anchors, 10)
    with torch.no_grad():  # make the 6th anchor of bag 0 the most confident, not its max-IoU anchor
        cls_prob[bags[0, 5], GT.labels[0]] = 0.999
        bbox_pred[bags[0, 5]] = head.bbox_coder.encode(anchors[bags[0, 5]][None], GT.bboxes[:1])[0]
    psi = _psi(head, cls_prob, bbox_pred, anchors, bags)
    assert psi[0].argmax() == 5
    head.set_train_progress(1.0)  # all-to-top-1 at the end: k_t = 1
    assert head.current_bag_k == 1
    _, pos, _ = _run(head, cls_prob, bbox_pred, anchors)
    torch.testing.assert_close(pos, -0.5 * torch.log(psi.max(dim=1).values), rtol=1e-4, atol=1e-5)
    stats = head._stats[0]
    assert stats[0, 0] == 1.0  # selected != max-IoU anchor for object 0
    torch.testing.assert_close(stats[:, 2], psi.max(dim=1).values)
    # the gradient reaches only the selected anchor of each bag
    pos.sum().backward()
    rows = cls_prob.grad.abs().sum(1).nonzero()[:, 0]
    sel = bags.gather(1, psi.argmax(1, keepdim=True))[:, 0]
    assert set(rows.tolist()) == set(sel.tolist())


def test_mid_training_loss_is_meanmax_over_top_kt_by_confidence():
    head = _head(depression_schedule='none')
    head.set_train_progress(0.55)  # k_t = ceil(10 * 0.45) = 5
    assert head.current_bag_k == 5
    cls_prob, bbox_pred, anchors = _inputs(head, seed=3)
    bags, _ = build_anchor_bags(GT.bboxes, anchors, 10)
    psi = _psi(head, cls_prob, bbox_pred, anchors, bags)
    top = psi.topk(5, dim=1).values
    w = 1 / (1 - top)
    ref = -0.5 * torch.log((w / w.sum(1, keepdim=True) * top).sum(1))
    _, pos, _ = _run(head, cls_prob, bbox_pred, anchors)
    torch.testing.assert_close(pos, ref, rtol=1e-4, atol=1e-5)


def test_bag_of_one_reduces_to_retinanet_terms_on_the_max_iou_anchor():
    """K = 1: -alpha log(P_cls exp(-beta sL1)) = alpha (CE(P_cls, 1) + beta sL1) on the max-IoU anchor, and
    the negative loss on anchors outside A+ is the focal loss with alpha_neg = 1 - alpha."""
    head = _head(bag_size=1, depression_schedule='none')
    cls_prob, bbox_pred, anchors = _inputs(head, seed=1)
    _, pos, _ = _run(head, cls_prob, bbox_pred, anchors)
    best = bbox_overlaps(GT.bboxes, anchors).argmax(1)
    ce = F.binary_cross_entropy(cls_prob[best, GT.labels], torch.ones(3), reduction='none')
    targets = head.bbox_coder.encode(anchors[best], GT.bboxes)
    sl1 = head.loss_bbox(bbox_pred[best], targets, reduction_override='none').sum(-1)  # already x beta
    torch.testing.assert_close(pos, 0.5 * (ce + sl1), rtol=1e-5, atol=1e-6)
    logits = torch.logit(cls_prob.detach())
    neg = head.negative_bag_loss(cls_prob.detach(), torch.zeros_like(cls_prob)).sum()
    ref = py_sigmoid_focal_loss(logits, torch.zeros_like(logits), gamma=2.0, alpha=1 - 0.5, reduction='sum')
    # mmdet's focal loss weights negatives by (1 - alpha_arg) = 0.5 = 1 - alpha
    torch.testing.assert_close(neg, ref, rtol=1e-4, atol=1e-4)


# --------------------------------------------------------------------------- schedules
def _official_ia_type5(max_iter, it):
    steps = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.5, 0.4, 0.3, 0.2, 0.1]
    for i, r in enumerate(steps):
        if it < max_iter / 12 * (i + 1):
            return r
    return 0.0


def test_depression_ratio_follows_official_ia_type_5():
    for it in range(0, 1200, 7):
        assert depression_ratio('step-up-down', it / 1200) == _official_ia_type5(1200, it)
    assert depression_ratio('none', 0.5) == 0.0 and depression_ratio('constant', 0.9) == 0.5
    with pytest.raises(ValueError, match='choose from'):
        depression_ratio('cosine', 0.1)
    with pytest.raises(ValueError, match='progress'):
        depression_ratio('step-up-down', 1.5)


def test_bag_size_shrinks_linearly_all_to_top_1():
    ks = [selected_bag_size(40, 'all-to-top-1', t / 600) for t in range(601)]
    assert ks[0] == 40 and ks[-1] == 1 and ks[300] == 20
    assert all(a >= b for a, b in zip(ks, ks[1:]))
    assert all(k == max(1, math.ceil(40 * (1 - t / 600) - 1e-9)) for t, k in enumerate(ks))
    assert selected_bag_size(40, 'none', 0.99) == 40
    with pytest.raises(ValueError, match='choose from'):
        selected_bag_size(40, 'top-2', 0.5)


def test_schedule_hook_sets_progress_and_refuses_other_heads():
    head = _head()

    class Runner:
        iter, max_iters = 150, 600
        model = torch.nn.Module()
    runner = Runner()
    runner.model.bbox_head = head
    MALScheduleHook().before_train_iter(runner, 0)
    assert head.train_progress == 0.25 and head.current_bag_k == 8
    assert head.current_depression_ratio == 0.3
    runner.model.bbox_head = torch.nn.Linear(1, 1)
    with pytest.raises(TypeError, match='MALRetinaHead'):
        MALScheduleHook().before_train(runner)


# --------------------------------------------------------------------------- depression
def test_depression_mask_hits_exactly_the_top_attention_cells():
    g = torch.Generator().manual_seed(0)
    feat = torch.randn(2, 5, 6, 7, generator=g)
    cam = (feat * feat.mean((2, 3), keepdim=True)).sum(1)
    torch.testing.assert_close(attention_map(feat), cam)
    for ratio in (0.0, 0.1, 0.3, 0.5):
        mask = depression_mask(feat, ratio)
        n_dep = int(42 * ratio)
        for b in range(2):
            top = cam[b].flatten().argsort(descending=True)[:n_dep]
            dep = (mask[b, 0].flatten() == 0).nonzero()[:, 0]
            assert set(dep.tolist()) == set(top.tolist())
    out, masks = depress_features([feat], 0.3, kept_share=0.25)
    m = masks[0]
    torch.testing.assert_close(out[0], torch.where(m.bool(), feat, feat / 4))  # official (3 F D + F) / 4
    torch.testing.assert_close(out[0], (3 * feat * m + feat) / 4)
    zero, _ = depress_features([feat], 0.3, kept_share=0.0)
    assert torch.all(zero[0][(m == 0).expand_as(feat)] == 0)
    same, _ = depress_features([feat], 0.0)
    torch.testing.assert_close(same[0], feat)


def test_head_depresses_its_tower_input_in_training_only_and_logs_the_selected_cells():
    torch.manual_seed(0)
    head = _head()
    head.init_weights()
    head.set_train_progress(0.45)  # ratio 0.5
    feats = (torch.randn(1, 8, 12, 12), torch.randn(1, 8, 6, 6))
    seen = []
    hook = head.cls_convs[0].register_forward_pre_hook(lambda m, a: seen.append(a[0].detach().clone()))
    from mmdet.structures import DetDataSample
    ds = DetDataSample(metainfo=dict(img_shape=(96, 96), pad_shape=(96, 96), batch_input_shape=(96, 96)))
    ds.gt_instances = GT
    losses = head.loss(feats, [ds])
    _, masks = depress_features(feats, 0.5)
    for got, f, m in zip(seen, feats, masks):
        assert (m == 0).sum() == int(f.shape[2] * f.shape[3] * 0.5)
        torch.testing.assert_close(got, (3 * f * m + f) / 4)
    assert float(losses['mal_depress_ratio']) == 0.5 and float(losses['mal_bag_k']) == 6
    assert 0.0 <= float(losses['mal_sel_depressed']) <= 1.0
    assert losses['positive_bag_loss'].requires_grad and losses['negative_bag_loss'] > 0
    seen.clear()
    head.eval()
    with torch.no_grad():
        head(feats)
    torch.testing.assert_close(seen[0], feats[0])  # no depression outside training
    hook.remove()


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match='bag_size, not pre_anchor_topk'):
        MALRetinaHead(**HEAD, pre_anchor_topk=5)
    with pytest.raises(ValueError, match='depression_schedule'):
        _head(depression_schedule='linear')
    with pytest.raises(ValueError, match='selection_schedule'):
        _head(selection_schedule='top-3')
