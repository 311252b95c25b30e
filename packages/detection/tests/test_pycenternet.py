"""PyCenterNet (CenterNet++'s multi-resolution head, arXiv:2204.08394): the corner/center half-box targets,
the scale assignment of objects to pyramid levels, the per-level keypoint heatmap targets, the semantic map and
its loss, the heatmap refinement of coarse-level corners, the center-region matching of corner pairs, and the
head end to end (all loss terms, gradients, decoding of hand-set outputs)."""
import math

import pytest
import torch
from mmdet.models.utils import gaussian_radius
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from tessera_detection.models.dense_heads.pycenternet_head import (PyCenterNetHead, corner_half_boxes,
                                                                   first_two_points_bbox,
                                                                   keypoint_heatmap_targets, match_corner_pairs,
                                                                   semantic_map_target,
                                                                   separate_sigmoid_focal_loss,
                                                                   snap_to_heatmap_peak)

TRAIN_CFG = dict(init=dict(assigner=dict(type='PointAssigner', scale=4, pos_num=1), pos_weight=-1),
                 heatmap=dict(gaussian_iou=0.7),
                 refine=dict(assigner=dict(type='ATSSAssigner', topk=9), pos_weight=-1))
TEST_CFG = dict(nms_pre=1000, score_thr=0.05, nms=dict(type='nms', iou_threshold=0.6), max_per_img=100,
                distance_threshold=0.5, central_region_area_thr=3500.0, central_region_mu=(0.2, 0.25))


def _head(strides=(8, 16, 32), **kw):
    head = PyCenterNetHead(num_classes=3, in_channels=32, feat_channels=32, point_feat_channels=32,
                           stacked_convs=1, corner_dim=32, point_strides=list(strides),
                           train_cfg=ConfigDict(TRAIN_CFG), test_cfg=ConfigDict(TEST_CFG), **kw)
    head.init_weights()
    return head


def _meta(size):
    return dict(img_shape=(size, size), pad_shape=(size, size), batch_input_shape=(size, size),
                scale_factor=(1.0, 1.0))


# ------------------------------------------------------------------------------------------ box readings
def test_corner_half_boxes_are_corner_to_center():
    tl, br = corner_half_boxes(torch.tensor([[10., 20., 50., 80.]]))
    assert tl.tolist() == [[10., 20., 30., 50.]] and br.tolist() == [[30., 50., 50., 80.]]


def test_point_set_box_is_read_from_its_first_two_points():
    # (y, x) pairs as the network emits them: points (y0, x0) = (1, 2), (y1, x1) = (3, 4), then 7 distractors
    pts = torch.tensor([1., 2., 3., 4.] + [100.] * 14).view(1, 18, 1, 1)
    assert first_two_points_bbox(pts).flatten().tolist() == [2., 1., 4., 3.]
    xy = torch.tensor([2., 1., 4., 3.] + [-100.] * 14).view(1, 18)
    assert first_two_points_bbox(xy, y_first=False).flatten().tolist() == [2., 1., 4., 3.]
    # swapped points: the official reading gives an inverted box, the ordered one (used) a valid box
    swapped = torch.tensor([4., 3., 2., 1.] + [0.] * 14).view(1, 18)
    assert first_two_points_bbox(swapped, y_first=False, ordered=False).flatten().tolist() == [4., 3., 2., 1.]
    assert first_two_points_bbox(swapped, y_first=False).flatten().tolist() == [2., 1., 4., 3.]


def test_giou_of_an_inverted_box_is_unbounded_so_boxes_are_ordered():
    """Why the boxes are ordered: mmdet's GIoU loss of an inverted box falls below 0 without bound."""
    from mmdet.models.losses import GIoULoss
    gt = torch.tensor([[0., 0., 10., 10.]])
    inverted = torch.tensor([[1000., 1000., -1000., -1000.]])
    assert GIoULoss(loss_weight=1.0)(inverted, gt) < -1000
    pts = torch.tensor([1000., 1000., -1000., -1000.] + [0.] * 14).view(1, 18)
    assert GIoULoss(loss_weight=1.0)(first_two_points_bbox(pts, y_first=False), gt) >= 0


# ---------------------------------------------------------------------------------- scale assignment
@pytest.mark.parametrize('scale,size,level', [(4, 64, 0), (4, 128, 1), (4, 256, 2), (1, 20, 0), (1, 40, 1)])
def test_objects_go_to_the_level_of_their_half_box(scale, size, level):
    """init stage: level = int(log2(sqrt(w' h') / scale)) of the corner-to-center half box (w' = w / 2), the
    nearest location to that half box's center, clamped to [3, 5]. A whole-box assignment would go one level
    up (64 px at scale 4: log2(64 / 4) = 4 -> stride 16, not 8)."""
    cfg = dict(TRAIN_CFG, init=dict(assigner=dict(type='PointAssigner', scale=scale, pos_num=1), pos_weight=-1))
    head = PyCenterNetHead(num_classes=3, in_channels=32, feat_channels=32, point_feat_channels=32,
                           stacked_convs=1, corner_dim=32, point_strides=[8, 16, 32], train_cfg=ConfigDict(cfg),
                           test_cfg=ConfigDict(TEST_CFG))
    img = 512
    box = torch.tensor([[100., 120., 100. + size, 120. + size]])
    tl, br = corner_half_boxes(box)
    sizes = [(img // s, img // s) for s in (8, 16, 32)]
    for half, name in ((tl, 'tl'), (br, 'br')):
        points, valid = head.get_points(sizes, [_meta(img)], 'cpu')
        flat_pts = torch.cat(points[0])
        gt = InstanceData(bboxes=half, labels=torch.tensor([1]))
        _, _, bbox_gt, _, weights, _ = head.get_targets(points, valid, [gt], [_meta(img)], stage='init')
        pos_levels = [lvl for lvl in range(3) if weights[lvl].sum() > 0]
        assert pos_levels == [level], name
        pos = weights[level][0, :, 0] > 0
        assert int(pos.sum()) == 1
        torch.testing.assert_close(bbox_gt[level][0][pos], half)
        s = (8, 16, 32)[level]
        center = (half[0, :2] + half[0, 2:]) / 2
        offset = sum(sizes[i][0] * sizes[i][1] for i in range(level))
        cand = flat_pts[offset:offset + sizes[level][0] * sizes[level][1], :2]
        nearest = ((cand - center) / (half[0, 2:] - half[0, :2])).norm(dim=1).argmin()
        assert torch.nonzero(pos).item() == nearest.item() and s == int(flat_pts[offset + nearest, 2])


# -------------------------------------------------------------------------------- keypoint heatmap targets
def test_keypoint_targets_on_every_level_match_closed_form():
    head = _head()
    sizes = [(16, 16), (8, 8), (4, 4)]
    points, _ = head.get_points(sizes, [_meta(128)], 'cpu')
    flat = torch.cat(points[0])
    box = torch.tensor([[21., 13., 69., 61.]])  # 48 x 48
    t = keypoint_heatmap_targets(flat, box, gaussian_iou=0.7)
    r = gaussian_radius((48., 48.), 0.7)
    sigma = (2 * r + 1) / 6
    kps = dict(tl=torch.tensor([21., 13.]), br=torch.tensor([69., 61.]), ct=torch.tensor([45., 37.]))
    start = 0
    for (h, w), s in zip(sizes, (8, 16, 32)):
        n = h * w
        xy = flat[start:start + n, :2]
        for k, kp in kps.items():
            hm, off, pos = t[f'hm_{k}'][start:start + n], t[f'off_{k}'][start:start + n], t[f'pos_{k}'][start:start + n]
            d = (xy - kp).norm(dim=1)
            nearest = d.argmin()
            assert pos.sum() == 1 and pos[nearest]  # one positive per object and keypoint on every level
            assert hm[nearest] == 1
            torch.testing.assert_close(off[nearest], (kp - xy[nearest]) / s)
            others = torch.arange(n) != nearest
            expected = torch.where(d < r, torch.exp(-d ** 2 / (2 * sigma ** 2)), torch.zeros_like(d))
            torch.testing.assert_close(hm[others], expected[others])
            assert (off[others] == 0).all()
        start += n
    # the radius is in image pixels (here 3.9 px: no neighbour of the center is lit on any level); for a
    # 120 px box (r = 9.8 px) the 4 neighbours at 8 px are lit on stride 8, none of those at 32 px on stride 32
    assert r == pytest.approx(3.92, abs=0.01) and int((t['hm_ct'] > 0).sum()) == 3
    big = keypoint_heatmap_targets(flat, torch.tensor([[4., 4., 124., 124.]]))
    assert int((big['hm_ct'][:256] > 0).sum()) == 5 and int((big['hm_ct'][256 + 64:] > 0).sum()) == 1


def test_keypoint_targets_take_the_max_over_objects():
    head = _head(strides=(8,))
    points, _ = head.get_points([(16, 16)], [_meta(128)], 'cpu')
    flat = torch.cat(points[0])
    a, b = torch.tensor([[8., 8., 40., 40.]]), torch.tensor([[16., 8., 48., 40.]])
    ta, tb = keypoint_heatmap_targets(flat, a), keypoint_heatmap_targets(flat, b)
    tab = keypoint_heatmap_targets(flat, torch.cat([a, b]))
    torch.testing.assert_close(tab['hm_tl'], torch.maximum(ta['hm_tl'], tb['hm_tl']))


# ------------------------------------------------------------------------------------------ semantic map
def test_semantic_map_marks_boxes_per_class_with_inverse_area_weights():
    boxes = torch.tensor([[0., 0., 31., 31.], [8., 8., 16., 16.]])
    sem, w = semantic_map_target(boxes, torch.tensor([1, 1]), 3, (8, 8), 8)
    assert sem[1, :4, :4].eq(1).all() and sem[1].sum() == 16 and sem[0].sum() == 0 and sem[2].sum() == 0
    # the small box (cells 1..2) is drawn last: its weight 1/64 replaces the large box's 1/961 there
    assert w[1, 1, 1] == pytest.approx(1 / 64) and w[1, 0, 0] == pytest.approx(1 / 961)


def test_separate_focal_loss_closed_form():
    pred = torch.tensor([0.0, 1.0, -1.0, 2.0])
    target = torch.tensor([1.0, 1.0, 0.0, 0.0])
    weight = torch.tensor([0.5, 0.25, 0.0, 0.0])
    p = pred.sigmoid()
    pos = -0.25 * torch.log(p[:2]) * (1 - p[:2]) ** 2 * weight[:2]
    neg = -0.75 * torch.log(1 - p[2:]) * p[2:] ** 2
    expected = pos.sum() / weight[:2].sum() + neg.sum() / 2
    torch.testing.assert_close(separate_sigmoid_focal_loss(pred, target, weight, avg_factor=2.0), expected)


# ------------------------------------------------------------------------------------ corner refinement
def test_corner_snaps_to_the_heatmap_peak_in_its_2x2_window():
    heat = torch.full((8, 8), -5.0)
    heat[3, 5] = 3.0   # inside the window of (x, y) = (37, 26) at stride 8: cells x 4..5, y 3..4
    heat[0, 0] = 9.0   # a stronger peak outside the window is ignored
    offset = torch.zeros(2, 8, 8)
    offset[:, 3, 5] = torch.tensor([0.25, 0.5])
    x, y = snap_to_heatmap_peak(heat, offset, torch.tensor([37.]), torch.tensor([26.]), 8)
    assert x.item() == pytest.approx((5 + 0.25) * 8) and y.item() == pytest.approx((3 + 0.5) * 8)


def test_coarse_level_corners_are_refined_by_the_finer_heatmap_only():
    head = _head()
    assert head.hm_refine_levels == (None, 0, 0)
    pts = torch.zeros(18, 8, 8)  # level-1 (stride 16) point sets: all points at the location itself
    points = head.prior_generator.grid_priors([(16, 16), (8, 8), (4, 4)], device='cpu')
    hm_scores = [torch.full((3, 16, 16), -5.0), torch.full((3, 8, 8), -5.0), torch.full((3, 4, 4), -5.0)]
    hm_offsets = [torch.zeros(6, 16, 16), torch.zeros(6, 8, 8), torch.zeros(6, 4, 4)]
    hm_scores[0][0, 2, 3] = 5.0  # tl peak at cell (x 3, y 2) of stride 8, in the window of location (16, 16)
    hm_offsets[0][0:2, 2, 3] = torch.tensor([0.5, 0.25])
    tl, br = head.decode_level_corners(1, pts, pts, points[1], (128, 128), hm_scores, hm_offsets)
    loc = 1 * 8 + 1  # location (x, y) = (16, 16) of the 8 x 8 level
    assert tl[loc, :2].tolist() == [3.5 * 8, 2.25 * 8]
    # on level 0 (no refinement) the corners stay where the point sets put them
    tl0, _ = head.decode_level_corners(0, torch.zeros(18, 16, 16), torch.zeros(18, 16, 16), points[0], (128, 128),
                                       hm_scores, hm_offsets)
    torch.testing.assert_close(tl0[:, :2], points[0])


# ---------------------------------------------------------------------------------- center-region matching
def _tl(x1, y1, cx, cy, s, label=0):
    return torch.tensor([[x1, y1, cx, cy, s]]), torch.tensor([label])


def _br(cx, cy, x2, y2, s, label=0):
    return torch.tensor([[cx, cy, x2, y2, s]]), torch.tensor([label])


def test_pair_with_both_centers_in_the_central_region_is_kept_at_mean_score():
    tl, tll = _tl(0., 0., 50., 50., 0.8)
    br, brl = _br(50.5, 49.5, 100., 100., 0.6)
    boxes, scores, labels = match_corner_pairs(tl, tll, br, brl)
    assert boxes.tolist() == [[0., 0., 100., 100.]] and scores.tolist() == [pytest.approx(0.7)]
    assert labels.tolist() == [0]


@pytest.mark.parametrize('case', ['tl_center_out', 'br_center_out', 'class', 'negative_width', 'spread'])
def test_pair_is_dropped(case):
    # 100 x 100 box (area 10^4 > 3500): mu = 1/4, the region is 37.5 .. 62.5; the region's area is 625
    tl_c, br_c, br_label, x2 = (50., 50.), (50., 50.), 0, 100.
    if case == 'tl_center_out':
        tl_c = (36., 50.)
    elif case == 'br_center_out':
        br_c = (50., 63.)
    elif case == 'class':
        br_label = 1
    elif case == 'negative_width':
        x2 = -1.0
    elif case == 'spread':  # both inside, but the box they span is 24 x 24 = 576 > 0.5 * 625
        tl_c, br_c = (38., 38.), (62., 62.)
    tl, tll = _tl(0., 0., *tl_c, 0.9)
    br, brl = _br(*br_c, x2, 100., 0.9, br_label)
    assert match_corner_pairs(tl, tll, br, brl)[0].shape[0] == 0


def test_spread_below_the_distance_threshold_is_kept():
    tl, tll = _tl(0., 0., 40., 40., 0.9)
    br, brl = _br(55., 55., 100., 100., 0.9)  # 15 x 15 = 225 <= 0.5 * 625
    assert match_corner_pairs(tl, tll, br, brl)[0].shape[0] == 1


def test_central_region_scale_switch_at_the_area_threshold():
    # a center 11 px right of the middle: inside the 1/4 region of a 100 px box (+-12.5), outside 1/5 (+-10)
    tl, tll = _tl(0., 0., 61., 50., 0.9)
    br, brl = _br(61., 50., 100., 100., 0.9)
    assert match_corner_pairs(tl, tll, br, brl, area_thr=3500.)[0].shape[0] == 1   # area 10^4 > thr: 1/4
    assert match_corner_pairs(tl, tll, br, brl, area_thr=20000.)[0].shape[0] == 0  # <= thr: 1/5


def test_matching_enumerates_all_pairs():
    tl = torch.tensor([[0., 0., 50., 50., 0.9], [200., 200., 250., 250., 0.5]])
    br = torch.tensor([[50., 50., 100., 100., 0.7], [250., 250., 300., 300., 0.3]])
    boxes, scores, labels = match_corner_pairs(tl, torch.tensor([0, 2]), br, torch.tensor([0, 2]))
    assert boxes.tolist() == [[0., 0., 100., 100.], [200., 200., 300., 300.]]
    torch.testing.assert_close(scores, torch.tensor([0.8, 0.4]))
    assert labels.tolist() == [0, 2]


# ----------------------------------------------------------------------------------------- head end to end
def test_losses_all_present_and_reach_their_branches():
    torch.manual_seed(0)
    head = _head()
    feats = [torch.randn(2, 32, s, s) for s in (16, 8, 4)]
    outs = head(feats)
    assert [o.shape[1] for o in (outs[0][0], outs[2][0], outs[6][0], outs[7][0], outs[8][0])] == [3, 18, 3, 6, 3]
    gts = [InstanceData(bboxes=torch.tensor([[10., 10., 40., 45.], [60., 50., 100., 98.]]),
                        labels=torch.tensor([1, 2])) for _ in range(2)]
    losses = head.loss_by_feat(*outs, gts, [_meta(128)] * 2)
    assert set(losses) == {'loss_cls', 'loss_pts_init', 'loss_pts_refine', 'loss_heatmap', 'loss_offset',
                           'loss_sem'}
    for k, v in losses.items():
        vals = v if isinstance(v, list) else [v]
        assert all(torch.isfinite(x) for x in vals), k
    assert all(float(x) > 0 for x in losses['loss_heatmap'])  # keypoint targets on every level
    head.zero_grad()
    sum(losses['loss_heatmap']).backward(retain_graph=True)
    assert head.hem_ct_score_out.weight.grad.abs().sum() > 0 and head.hem_tl_score_out.weight.grad.abs().sum() > 0
    assert head.tl_cls_out.weight.grad is None or head.tl_cls_out.weight.grad.abs().sum() == 0
    head.zero_grad()
    losses['loss_sem'].backward(retain_graph=True)
    assert head.sem_out.weight.grad.abs().sum() > 0
    head.zero_grad()
    sum(losses['loss_pts_refine']).backward()
    assert head.br_pts_refine_out.weight.grad.abs().sum() > 0


def test_decoding_hand_set_outputs_pairs_one_box_from_two_levels():
    """One top-left candidate on stride 8 and one bottom-right candidate on stride 16 whose regressed centers
    agree: decoding pairs them into the box (x1, y1, x2, y2) at the mean score; nothing else scores."""
    head = _head()
    sizes, strides = [(16, 16), (8, 8), (4, 4)], (8, 16, 32)
    low = -10.0
    tl_cls = [torch.full((1, 3, h, w), low) for h, w in sizes]
    br_cls = [torch.full((1, 3, h, w), low) for h, w in sizes]
    pts = [torch.zeros(1, 18, h, w) for h, w in sizes]
    tl_pts, br_pts = [p.clone() for p in pts], [p.clone() for p in pts]
    # tl at location (x, y) = (16, 24) of stride 8 regresses corner (16, 24) and center (48, 56): in stride units
    tl_cls[0][0, 1, 3, 2] = 4.0
    tl_pts[0][0, :4, 3, 2] = torch.tensor([0., 0., 4., 4.])  # (y0, x0, y1, x1)
    # br at location (80, 80) of stride 16 regresses center (48, 56) and corner (80, 88)
    br_cls[1][0, 1, 5, 5] = 2.0
    br_pts[1][0, :4, 5, 5] = torch.tensor([-24 / 16, -2., 8 / 16, 0.])
    hm = [torch.full((1, 3, h, w), low) for h, w in sizes]
    # the stride-16 br corner is refined on the stride-8 heatmaps: br peak at cell (x 10, y 11) = (80, 88) with
    # y offset 0.5 -> (80, 92); center peak at (48, 56) (the 2x2 windows of the regressed points hold them)
    hm[0][0, 1, 11, 10] = 5.0
    hm[0][0, 2, 7, 6] = 5.0
    hm_off = [torch.zeros(1, 6, h, w) for h, w in sizes]
    hm_off[0][0, 3, 11, 10] = 0.5
    sem = [torch.zeros(1, 3, h, w) for h, w in sizes]
    head.level_counts = []
    res = head.predict_by_feat(tl_cls, br_cls, tl_pts, br_pts, tl_pts, br_pts, hm, hm_off, sem,
                               batch_img_metas=[_meta(128)])[0]
    assert res.bboxes.tolist() == [[16., 24., 80., 92.]]
    s_tl, s_br = torch.sigmoid(torch.tensor(4.0)), torch.sigmoid(torch.tensor(2.0))
    torch.testing.assert_close(res.scores, ((s_tl + s_br) / 2).view(1))
    assert res.labels.tolist() == [1]
    assert head.level_counts == [[1, 0, 0], [0, 1, 0]]  # tl from stride 8, br from stride 16


def test_bad_options_name_the_valid_choices():
    with pytest.raises(ValueError, match="valid: 'plain', 'cascade'"):
        _head(corner_pool='fancy')
    with pytest.raises(ValueError, match='hm_refine_levels'):
        _head(hm_refine_levels=(None, 1, 0))


def test_cascade_and_center_pool_options_build_and_run():
    head = _head(corner_pool='cascade', center_pool=True)
    outs = head([torch.randn(1, 32, s, s) for s in (16, 8, 4)])
    assert outs[6][0].shape == (1, 3, 16, 16) and math.isfinite(float(outs[6][0].sum()))


def test_refine_stage_runs_atss_per_level():
    """Refine targets: mmdet's ATSS with the per-level counts of the proposals (top 9 per level), which mmdet's
    RepPointsHead does not pass; the same call with one merged level would choose other positives."""
    from mmdet.models.task_modules.assigners import ATSSAssigner
    head = _head()
    sizes = [(16, 16), (8, 8), (4, 4)]
    points, valid = head.get_points(sizes, [_meta(128)], 'cpu')
    boxes = [[torch.cat([p[:, :2] - 2 * p[:, 2:3], p[:, :2] + 2 * p[:, 2:3]], 1) for p in points[0]]]
    flat = torch.cat(boxes[0])
    gt = InstanceData(bboxes=torch.tensor([[30., 26., 78., 70.]]), labels=torch.tensor([2]))
    labels, _, bbox_gt, _, weights, _ = head.get_targets([list(boxes[0])], valid, [gt], [_meta(128)],
                                                         stage='refine')
    got = torch.cat([w[0, :, 0] for w in weights]) > 0
    ref = ATSSAssigner(topk=9).assign(InstanceData(priors=flat), [256, 64, 16], gt)
    assert got.tolist() == (ref.gt_inds > 0).tolist() and got.sum() > 0
    merged = ATSSAssigner(topk=9).assign(InstanceData(priors=flat), [336], gt)
    assert (merged.gt_inds > 0).tolist() != got.tolist()
    assert torch.cat([lab[0] for lab in labels])[got].eq(2).all()


def test_losses_average_by_max_one_positive_per_image_as_official():
    """Official ``get_targets``: ``avg_factor = sum over images of max(#positives, 1)``; a batch without objects
    keeps a finite, O(1) classification loss (a regression pin: mmdet 3.3's clamp gives the same factor)."""
    torch.manual_seed(0)
    head = _head()
    sizes = [(16, 16), (8, 8), (4, 4)]
    points, valid = head.get_points(sizes, [_meta(128)] * 2, 'cpu')
    gts = [InstanceData(bboxes=torch.tensor([[10., 10., 40., 45.], [60., 50., 100., 98.]]),
                        labels=torch.tensor([1, 2])),
           InstanceData(bboxes=torch.zeros(0, 4), labels=torch.zeros(0, dtype=torch.long))]
    tl_gts = [InstanceData(bboxes=corner_half_boxes(g.bboxes)[0], labels=g.labels) for g in gts]
    *_, weights, avg = head.get_targets(points, valid, tl_gts, [_meta(128)] * 2, stage='init')
    assert int(sum(w[0, :, 0].sum() for w in weights)) == 2 and avg == 2 + 1  # 2 positives, empty image: 1
    empty = [gts[1], gts[1]]
    outs = head([torch.randn(2, 32, s, s) for s in (16, 8, 4)])
    losses = head.loss_by_feat(*outs, empty, [_meta(128)] * 2)
    # all negatives, averaged over 2 (one per image): the focal loss of prior-0.01 logits is O(1) per image
    cls = float(sum(losses['loss_cls']))
    assert math.isfinite(cls) and 0 < cls < 100, cls
    assert all(float(x) == 0 for x in losses['loss_pts_init'] + losses['loss_pts_refine'])


def test_semantic_map_is_aligned_to_the_batch_not_to_the_first_image():
    """Images of different padded sizes in one batch: the official per-image maps are zero-padded to the batch
    (top-left aligned). Sizing the map from the first image's ``pad_shape`` would stretch it over the batch."""
    head = _head()
    sem = [torch.zeros(2, 3, s, s) for s in (16, 8, 4)]  # batch 128 x 128 at strides 8, 16, 32
    gts = [InstanceData(bboxes=torch.tensor([[8., 8., 40., 40.]]), labels=torch.tensor([0])),
           InstanceData(bboxes=torch.tensor([[72., 80., 120., 120.]]), labels=torch.tensor([2]))]
    metas = [dict(_meta(128), pad_shape=(64, 64)), _meta(128)]
    got = head.loss_semantic(sem, gts, metas)
    maps, ws = zip(*[semantic_map_target(g.bboxes, g.labels, 3, (16, 16), 8) for g in gts])
    maps, ws = torch.stack(maps), torch.stack(ws)
    assert maps[1, 2, 10:16, 9:16].eq(1).all()  # image 1's box, outside image 0's 64 x 64
    tgt = torch.cat([torch.nn.functional.interpolate(maps, (s, s)).reshape(-1) for s in (16, 8, 4)])
    w = torch.cat([torch.nn.functional.interpolate(ws, (s, s)).reshape(-1) for s in (16, 8, 4)])
    ref = 0.1 * separate_sigmoid_focal_loss(torch.cat([x.reshape(-1) for x in sem]), tgt, w,
                                            avg_factor=float((tgt > 0).sum()))
    torch.testing.assert_close(got, ref)
