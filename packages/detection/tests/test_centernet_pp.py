"""CenterNet++ (arXiv:2204.08394): pooling against brute-force loops, central regions, triplet verification,
center targets, and the head end to end (losses, decoding, the verification counts)."""
import math

import pytest
import torch
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData

from tessera_detection.models.dense_heads.centernet_pp_head import (CenterNetPPHead, central_region,
                                                                    gen_center_gaussian_target, scale_aware_n,
                                                                    verify_triplets)
from tessera_detection.models.layers.center_pool import (CascadeCornerPool, CenterPool, cascade_corner_max,
                                                         center_pool_max)


# ------------------------------------------------------------------------------------------ brute force
def _directional_max(f, direction):
    """Loop version of a running max: 'top' = max over y' >= y, 'bottom' y' <= y, 'left' x' >= x,
    'right' x' <= x."""
    n, c, h, w = f.shape
    out = torch.empty_like(f)
    for y in range(h):
        for x in range(w):
            if direction == 'top':
                out[:, :, y, x] = f[:, :, y:, x].amax(dim=2)
            elif direction == 'bottom':
                out[:, :, y, x] = f[:, :, :y + 1, x].amax(dim=2)
            elif direction == 'left':
                out[:, :, y, x] = f[:, :, y, x:].amax(dim=2)
            else:
                out[:, :, y, x] = f[:, :, y, :x + 1].amax(dim=2)
    return out


def test_center_pool_is_row_max_plus_column_max():
    torch.manual_seed(0)
    a, b = torch.randn(2, 3, 5, 7), torch.randn(2, 3, 5, 7)
    expected = torch.empty_like(a)
    for y in range(5):
        for x in range(7):
            expected[:, :, y, x] = a[:, :, :, x].amax(dim=2) + b[:, :, y, :].amax(dim=2)
    torch.testing.assert_close(center_pool_max(a, b), expected)


@pytest.mark.parametrize('boundary,inner', [('left', 'top'), ('top', 'left'), ('right', 'bottom'),
                                            ('bottom', 'right')])
def test_cascade_corner_max_matches_loops(boundary, inner):
    torch.manual_seed(1)
    look, base = torch.randn(2, 3, 6, 5), torch.randn(2, 3, 6, 5)
    h, w = look.shape[-2:]
    expected = torch.empty_like(look)
    for y in range(h):
        for x in range(w):
            vals = []  # inner max over (y', x') of base + boundary max at (y', x')
            cells = ([(yy, x) for yy in range(y, h)] if inner == 'top' else
                     [(y, xx) for xx in range(x, w)] if inner == 'left' else
                     [(yy, x) for yy in range(0, y + 1)] if inner == 'bottom' else
                     [(y, xx) for xx in range(0, x + 1)])
            for yy, xx in cells:
                if boundary == 'left':
                    bmax = look[:, :, yy, xx:].amax(dim=2)
                elif boundary == 'top':
                    bmax = look[:, :, yy:, xx].amax(dim=2)
                elif boundary == 'right':
                    bmax = look[:, :, yy, :xx + 1].amax(dim=2)
                else:
                    bmax = look[:, :, :yy + 1, xx].amax(dim=2)
                vals.append(base[:, :, yy, xx] + bmax)
            expected[:, :, y, x] = torch.stack(vals).amax(dim=0)
    torch.testing.assert_close(cascade_corner_max(look, base, boundary, inner), expected)


def test_cascade_differs_from_plain_corner_pool():
    """A single strong activation on the top boundary row reaches the top-left corner only through the
    cascade (boundary max, then the inner max), not through the plain top pooling of the same map."""
    look = torch.zeros(1, 1, 5, 5)
    look[0, 0, 0, 3] = 1.0  # on the top row, right of the corner (0, 0)
    base = torch.zeros(1, 1, 5, 5)
    out = cascade_corner_max(look, base, boundary='left', inner='top')
    assert out[0, 0, 0, 0] == 1.0
    assert _directional_max(base + look, 'top')[0, 0, 0, 0] == 0.0


def _record_pools(module):
    """Replace the transforms by identities: the module's pooled map must then be the brute-force cascade
    of its conv outputs (tests the wiring of the directions)."""
    for name in ('look1_mid', 'look2_mid'):
        setattr(module, name, torch.nn.Identity())
    return module


@pytest.mark.parametrize('directions', [['top', 'left'], ['bottom', 'right']])
def test_cascade_module_wiring(directions):
    torch.manual_seed(2)
    m = _record_pools(CascadeCornerPool(4, directions, feat_channels=3)).eval()
    x = torch.randn(2, 4, 6, 6)
    d1, d2 = directions
    with torch.no_grad():
        look1, base1 = m.look1_conv(x), m.direction1_conv(x)
        look2, base2 = m.look2_conv(x), m.direction2_conv(x)
        b1 = _directional_max(base1 + _directional_max(look1, d2), d1)
        b2 = _directional_max(base2 + _directional_max(look2, d1), d2)
        torch.testing.assert_close(m.pooled(x), b1 + b2)
        out = m(x)
    assert out.shape == (2, 4, 6, 6)


def test_center_pool_module_wiring_and_shape():
    torch.manual_seed(3)
    m = CenterPool(4, feat_channels=3).eval()
    x = torch.randn(2, 4, 5, 6)
    with torch.no_grad():
        a, b = m.direction1_conv(x), m.direction2_conv(x)
        expected = (_directional_max(_directional_max(a, 'top'), 'bottom')
                    + _directional_max(_directional_max(b, 'left'), 'right'))
        torch.testing.assert_close(m.pooled(x), expected)
        assert m(x).shape == (2, 4, 5, 6)


def test_bad_directions_are_named():
    with pytest.raises(ValueError, match='directions must be two of'):
        CascadeCornerPool(4, ['top', 'up'])


# ------------------------------------------------------------------------------- central region geometry
def test_central_region_n3_and_n5_hand_values():
    box = torch.tensor([[0.0, 0.0, 30.0, 60.0]])
    torch.testing.assert_close(central_region(box, 3), torch.tensor([[10.0, 20.0, 20.0, 40.0]]))
    torch.testing.assert_close(central_region(box, 5), torch.tensor([[12.0, 24.0, 18.0, 36.0]]))
    box = torch.tensor([[10.0, 20.0, 160.0, 120.0]])  # w 150, h 100
    torch.testing.assert_close(central_region(box, 3), torch.tensor([[60.0, 53.3333, 110.0, 86.6667]]))
    torch.testing.assert_close(central_region(box, 5), torch.tensor([[70.0, 60.0, 100.0, 80.0]]))


def test_scale_aware_n_official_threshold():
    boxes = torch.tensor([[0.0, 0.0, 150.0, 150.0],    # area 22500: small (<=), n = 3
                          [0.0, 0.0, 150.0, 150.01],   # just above: n = 5
                          [0.0, 0.0, 20.0, 30.0]])
    assert scale_aware_n(boxes).tolist() == [3.0, 5.0, 3.0]
    assert scale_aware_n(boxes, area_thr=600.0).tolist() == [5.0, 5.0, 3.0]  # 20 x 30 = 600: small
    assert scale_aware_n(boxes, area_thr=599.0).tolist() == [5.0, 5.0, 5.0]


# ------------------------------------------------------------------------------------ triplet verification
def test_verification_keeps_only_boxes_with_their_center():
    bboxes = torch.tensor([[0.0, 0.0, 30.0, 30.0],      # center (15, 15), n = 3 region (10, 10)-(20, 20)
                           [40.0, 40.0, 70.0, 70.0],    # no center inside its region
                           [0.0, 50.0, 30.0, 80.0],     # a center inside, but of another class
                           [100.0, 0.0, 400.0, 300.0]])  # large (n = 5): region (220, 120)-(280, 180)
    scores = torch.tensor([0.8, 0.9, 0.7, 0.6])
    labels = torch.tensor([1, 1, 2, 3])
    centers = torch.tensor([[14.0, 16.0], [15.0, 15.0], [56.0, 56.0], [15.0, 65.0], [230.0, 170.0],
                            [210.0, 150.0]])
    # (56, 56) is inside box 1's region (50, 50)-(60, 60) but of class 0; (15, 65) is inside box 2's region
    # but of class 1; (210, 150) is outside box 3's n = 5 region (220, 120)-(280, 180)
    center_scores = torch.tensor([0.5, 0.2, 0.9, 0.9, 0.3, 0.99])
    center_labels = torch.tensor([1, 1, 0, 1, 3, 3])
    keep, new = verify_triplets(bboxes, scores, labels, centers, center_scores, center_labels)
    assert keep.tolist() == [True, False, False, True]
    # the score is the 3-way mean (s_tl + s_br + s_ct) / 3 with s_pair = (s_tl + s_br) / 2 and the best center
    assert new[0].item() == pytest.approx((2 * 0.8 + 0.5) / 3)
    assert new[3].item() == pytest.approx((2 * 0.6 + 0.3) / 3)
    s_tl, s_br, s_ct = 0.9, 0.7, 0.5
    keep, new = verify_triplets(bboxes[:1], torch.tensor([(s_tl + s_br) / 2]), labels[:1], centers[:1],
                                torch.tensor([s_ct]), torch.tensor([1]))
    assert keep.item() and new.item() == pytest.approx((s_tl + s_br + s_ct) / 3)


def test_verification_is_strict_and_scale_aware():
    box = torch.tensor([[0.0, 0.0, 30.0, 30.0]])
    s, lab = torch.tensor([0.5]), torch.tensor([0])
    on_edge = torch.tensor([[10.0, 15.0]])  # on the n = 3 region's left edge: official uses '>'
    assert not verify_triplets(box, s, lab, on_edge, torch.tensor([0.9]), lab)[0].item()
    # (11, 15) is inside the n = 3 region (10..20) but outside the n = 5 region (12..18)
    c = torch.tensor([[11.0, 15.0]])
    assert verify_triplets(box, s, lab, c, torch.tensor([0.9]), lab)[0].item()
    assert not verify_triplets(box, s, lab, c, torch.tensor([0.9]), lab, area_thr=100.0)[0].item()


def test_verification_without_centers_drops_everything():
    keep, _ = verify_triplets(torch.tensor([[0.0, 0.0, 9.0, 9.0]]), torch.tensor([0.9]), torch.tensor([0]),
                              torch.zeros(0, 2), torch.zeros(0), torch.zeros(0, dtype=torch.long))
    assert keep.tolist() == [False]


# ------------------------------------------------------------------------------------------ center targets
def _head(**kw):
    cfg = dict(num_classes=3, in_channels=8, num_feat_levels=1, pool_feat_channels=4,
               test_cfg=ConfigDict(corner_topk=2, center_topk=1, local_maximum_kernel=3, distance_threshold=0.5,
                                   max_per_img=100, nms=dict(type='soft_nms', iou_threshold=0.5, method='gaussian')))
    cfg.update(kw)
    head = CenterNetPPHead(**cfg)
    head.init_weights()
    return head


def test_center_heatmap_target_is_a_gaussian_at_the_box_center():
    head = _head()
    # image 64x64, feature 16x16 (ratio 1/4): box (8, 12)-(40, 44) -> center (24, 28) -> (6, 7) exactly
    box = torch.tensor([[8.0, 12.0, 40.0, 44.0]])
    t = head.get_center_targets([box], [torch.tensor([2])], (1, 3, 16, 16), (64, 64))
    heat, off = t['center_heatmap'], t['center_offset']
    assert heat[0, 2, 7, 6] == 1.0 and heat.eq(1).sum() == 1
    assert heat[0, :2].abs().sum() == 0  # only the object's class channel
    from mmdet.models.utils import gaussian_radius
    r = max(0, int(gaussian_radius((8, 8), min_overlap=0.3)))
    sigma = (2 * r + 1) / 5
    for dy in range(-r, r + 1):
        for dx in range(-r, r + 1):
            assert heat[0, 2, 7 + dy, 6 + dx].item() == pytest.approx(math.exp(-(dx * dx + dy * dy) / (2 * sigma ** 2)),
                                                                      rel=1e-5)
    assert heat[0, 2].gt(0).sum() == (2 * r + 1) ** 2
    assert off.abs().sum() == 0  # the center is on a cell exactly
    # a center between cells: (25, 29) / 4 = (6.25, 7.25) -> cell (6, 7), offset (0.25, 0.25)
    t = head.get_center_targets([torch.tensor([[9.0, 13.0, 41.0, 45.0]])], [torch.tensor([0])], (1, 3, 16, 16),
                                (64, 64))
    assert t['center_heatmap'][0, 0, 7, 6] == 1.0
    torch.testing.assert_close(t['center_offset'][0, :, 7, 6], torch.tensor([0.25, 0.25]))


def test_gen_center_gaussian_sigma_ratio():
    h = gen_center_gaussian_target(torch.zeros(9, 9), (4, 4), 2, sigma_ratio=5.0)
    assert h[4, 4] == 1.0
    assert h[4, 5].item() == pytest.approx(math.exp(-1 / (2 * (5 / 5) ** 2)))
    h6 = gen_center_gaussian_target(torch.zeros(9, 9), (4, 4), 2, sigma_ratio=6.0)
    assert h6[4, 5] < h[4, 5]  # the official center bump (diameter / 5) is wider than the corners' (/ 6)


# ------------------------------------------------------------------------------------ head end to end
def _meta(h=64, w=64):
    return dict(batch_input_shape=(h, w), img_shape=(h, w), pad_shape=(h, w), ori_shape=(h, w),
                scale_factor=(1.0, 1.0))


def test_head_losses_include_center_terms_and_backpropagate():
    torch.manual_seed(0)
    head = _head()
    x = torch.randn(2, 8, 16, 16, requires_grad=True)
    outs = head((x,))
    assert len(outs) == 8 and outs[6][0].shape == (2, 3, 16, 16) and outs[7][0].shape == (2, 2, 16, 16)
    gts = [InstanceData(bboxes=torch.tensor([[8.0, 12.0, 40.0, 44.0]]), labels=torch.tensor([2])),
           InstanceData(bboxes=torch.tensor([[2.0, 2.0, 30.0, 20.0], [30.0, 30.0, 60.0, 62.0]]),
                        labels=torch.tensor([0, 1]))]
    losses = head.loss_by_feat(*outs, gts, [_meta(), _meta()])
    for key in ('det_loss', 'off_loss', 'pull_loss', 'push_loss', 'ct_det_loss', 'ct_off_loss'):
        assert key in losses and torch.isfinite(losses[key][0])
    losses['ct_det_loss'][0].backward()
    assert head.ct_heat[0][-1].conv.weight.grad.abs().sum() > 0
    assert head.tl_heat[0][-1].conv.weight.grad is None  # the center loss reaches only the center branch


def _peaked_outputs(head, corners, centers, h=16, w=16, num_classes=3):
    """Hand-placed keypoints: large logits at given cells (others very negative), zero offsets and
    embeddings (all pairs group)."""
    def heat(points):
        m = torch.full((1, num_classes, h, w), -20.0)
        for (x, y, c, s) in points:
            m[0, c, y, x] = math.log(s / (1 - s))
        return m
    tl = heat([(x1, y1, c, s) for (x1, y1, _, _, c, s) in corners])
    br = heat([(x2, y2, c, s) for (_, _, x2, y2, c, s) in corners])
    ct = heat(centers)
    z2 = torch.zeros(1, 2, h, w)
    z1 = torch.zeros(1, 1, h, w)
    return [tl], [br], [z1], [z1.clone()], [z2], [z2.clone()], [ct], [z2.clone()]


def test_head_decoding_drops_a_box_without_its_center_and_keeps_one_with_it():
    head = _head()
    # two objects of class 1 on a 16x16 map of a 64x64 image (stride 4); box A (2,2)-(8,8) cells ->
    # (8, 8)-(32, 32) px, box B (9,9)-(15,15) -> (36, 36)-(60, 60) px. Only A has a center keypoint.
    corners = [(2, 2, 8, 8, 1, 0.9), (9, 9, 15, 15, 1, 0.8)]
    centers = [(5, 5, 1, 0.7)]  # (20, 20) px: inside A's central region (16..24)
    outs = _peaked_outputs(head, corners, centers)
    head.verification_counts.update(images=0, pairs=0, kept=0)
    res = head.predict_by_feat(*outs, batch_img_metas=[_meta()], rescale=False, with_nms=False)[0]
    # CornerNet alone pairs tl A with br A, tl A with br B (a big false box (8,8)-(60,60)), tl B with br B
    assert head.verification_counts['pairs'] == 3
    # kept: box A only (the big box's central region (25..43) holds no center; B has no center)
    assert head.verification_counts['kept'] == 1
    torch.testing.assert_close(res.bboxes, torch.tensor([[8.0, 8.0, 32.0, 32.0]]))
    assert res.scores.item() == pytest.approx((0.9 + 0.9 + 0.7) / 3, abs=1e-4)
    assert res.labels.tolist() == [1]
    # the same network decoded as CornerNet keeps all three pairs with their pair scores
    head.test_cfg['center_verification'] = False
    res = head.predict_by_feat(*outs, batch_img_metas=[_meta()], rescale=False, with_nms=False)[0]
    assert len(res) == 3 and res.scores.max().item() == pytest.approx(0.9, abs=1e-4)
