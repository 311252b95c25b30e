"""Rotated RetinaNet parts: delta coder round trip, rotated anchors, rotated IoU, head losses and predictions."""
import math
import os.path as osp

import pytest
import torch
from mmengine.config import Config
from mmengine.structures import InstanceData
from mmdet.structures import DetDataSample

import tessera_detection
from tessera_detection.models.task_modules import DeltaXYWHTRBBoxCoder, RBboxOverlaps2D, RotatedAnchorGenerator
from tessera_detection.models.task_modules.delta_xywht_rbbox_coder import norm_angle_le90
from tessera_detection.registry import MODELS
from tessera_detection.structures import check_rboxes, regularize_rboxes

CONFIGS = osp.join(osp.dirname(tessera_detection.__file__), 'configs', 'rotated_retinanet') + osp.sep
BASE = CONFIGS + 'rotated-retinanet-le90_resnet18-w16_fpn_smoothl1_rotated-digit-canvas.py'


def _random_rboxes(n, seed):
    g = torch.Generator().manual_seed(seed)
    b = torch.cat([torch.rand(n, 2, generator=g) * 100, 5 + torch.rand(n, 2, generator=g) * 40,
                   (torch.rand(n, 1, generator=g) - 0.5) * math.pi], 1)
    return regularize_rboxes(b)


@pytest.mark.parametrize('edge_swap,proj_xy', [(False, False), (True, True), (True, False)])
def test_delta_coder_round_trip(edge_swap, proj_xy):
    coder = DeltaXYWHTRBBoxCoder(target_means=(0.1, -0.1, 0.0, 0.2, 0.0), target_stds=(0.5, 0.5, 1.0, 1.0, 0.7),
                                 edge_swap=edge_swap, proj_xy=proj_xy)
    anchors, gts = _random_rboxes(200, 0), _random_rboxes(200, 1)
    deltas = coder.encode(anchors, gts)
    if edge_swap:
        assert (deltas[:, 4] * 0.7).abs().max() <= math.pi / 4 + 1e-5  # the smaller of the two angle changes
    back = coder.decode(anchors, deltas)
    check_rboxes(back)
    assert torch.allclose(back[:, :4], gts[:, :4], atol=1e-3)
    # angles equal modulo pi (a near-square's two representations are the same box)
    assert torch.allclose(norm_angle_le90(back[:, 4] - gts[:, 4] + 1e-4), torch.full((200,), 1e-4), atol=1e-3)


def test_delta_coder_known_values():
    coder = DeltaXYWHTRBBoxCoder(edge_swap=True, proj_xy=True)
    anchor = torch.tensor([[10.0, 10.0, 20.0, 10.0, math.pi / 2 - 0.5]])
    # the target moved 4 px along the anchor's long axis, 2x as long, turned by +0.3 rad
    u = torch.tensor([math.cos(math.pi / 2 - 0.5), math.sin(math.pi / 2 - 0.5)])
    gt = torch.tensor([[10.0 + 4 * u[0], 10.0 + 4 * u[1], 40.0, 10.0, math.pi / 2 - 0.2]])
    assert torch.allclose(coder.encode(anchor, gt), torch.tensor([[0.2, 0.0, math.log(2.0), 0.0, 0.3]]), atol=1e-6)
    with pytest.raises(ValueError, match='5 values'):
        DeltaXYWHTRBBoxCoder(target_stds=(1.0, 1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="unknown angle convention 'oc'"):
        DeltaXYWHTRBBoxCoder(angle_version='oc')


def test_rotated_anchors_are_mmdet_anchors_in_le90():
    from mmdet.models.task_modules.prior_generators import AnchorGenerator
    kw = dict(octave_base_scale=3, scales_per_octave=3, ratios=[1.0, 0.5, 2.0], strides=[8, 16])
    h = AnchorGenerator(**kw).grid_priors([(4, 4), (2, 2)], device='cpu')
    r = RotatedAnchorGenerator(**kw).grid_priors([(4, 4), (2, 2)], device='cpu')
    for hb, rb in zip(h, r):
        assert rb.shape == (hb.shape[0], 5)
        check_rboxes(rb)
        w, ht = hb[:, 2] - hb[:, 0], hb[:, 3] - hb[:, 1]
        assert torch.allclose(rb[:, :2], (hb[:, :2] + hb[:, 2:]) / 2)
        assert torch.allclose(rb[:, 2], torch.maximum(w, ht)) and torch.allclose(rb[:, 3], torch.minimum(w, ht))
        assert torch.equal(rb[:, 4] != 0, ht > w)  # tall anchors: -pi/2
        assert torch.allclose(rb[ht > w, 4], torch.tensor(-math.pi / 2))


def test_rbbox_overlaps():
    iou = RBboxOverlaps2D()
    a = torch.tensor([[0.0, 0.0, 4.0, 2.0, 0.0]])
    b = torch.tensor([[0.0, 0.0, 4.0, 2.0, -math.pi / 2], [1.0, 0.0, 4.0, 2.0, 0.0],
                      [0.0, 0.0, 2.0, 2.0, -math.pi / 2]])
    # crossed 4x2 rectangles share a 2x2 square: 4 / (8 + 8 - 4); shifted by 1: 6 / 10; a turned square inside: 4 / 8
    assert torch.allclose(iou(a, b), torch.tensor([[1 / 3, 0.6, 0.5]]), atol=1e-4)
    assert torch.allclose(iou(b[2:], a, mode='iof'), torch.tensor([[1.0]]), atol=1e-4)
    assert iou(a, torch.zeros(0, 5)).shape == (1, 0)
    with pytest.raises(ValueError, match='bboxes2 must be'):
        iou(a, torch.zeros(2, 4))


def _head(loss_bbox, reg_decoded):
    cfg = Config.fromfile(BASE)
    head = dict(cfg.model.bbox_head, reg_decoded_bbox=reg_decoded, loss_bbox=loss_bbox)
    head.update(train_cfg=cfg.model.train_cfg, test_cfg=cfg.model.test_cfg)
    return MODELS.build(head)


def _samples():
    gts = torch.tensor([[40.0, 40.0, 36.0, 14.0, 0.7], [90.0, 80.0, 30.0, 24.0, -1.2]])
    s = DetDataSample(metainfo=dict(img_shape=(128, 128), pad_shape=(128, 128), ori_shape=(128, 128)))
    s.gt_instances = InstanceData(bboxes=gts, labels=torch.tensor([3, 7]))
    return [s]


@pytest.mark.parametrize('loss_bbox,reg_decoded', [
    (dict(type='SmoothL1Loss', beta=1 / 9, loss_weight=1.0), False),
    (dict(type='GWDLoss', loss_weight=5.0), True),
    (dict(type='KLDLoss'), True)])
def test_head_loss_and_predict(loss_bbox, reg_decoded):
    torch.manual_seed(0)
    head = _head(loss_bbox, reg_decoded)
    feats = tuple(torch.randn(1, 64, 128 // s, 128 // s) for s in (8, 16, 32))
    samples = _samples()
    losses = head.loss(feats, samples)
    lb = sum(losses['loss_bbox'])
    assert torch.isfinite(lb) and lb > 0
    lb.backward()
    assert head.retina_reg.weight.grad.abs().sum() > 0
    head.eval()
    with torch.no_grad():
        res = head.predict(feats, samples, rescale=True)[0]
    assert res.bboxes.shape[1] == 5 and len(res.bboxes) <= head.test_cfg.max_per_img
    check_rboxes(res.bboxes)


def test_decoded_losses_see_the_positive_anchors():
    """The anchors the rotated MaxIoUAssigner selects are the ones the box loss is computed on: a GWD head
    gives the same loss as GWDLoss applied by hand to the decoded boxes of those anchors."""
    torch.manual_seed(0)
    head = _head(dict(type='GWDLoss', loss_weight=1.0), True)
    feats = tuple(torch.randn(1, 64, 128 // s, 128 // s) for s in (8, 16, 32))
    samples = _samples()
    cls, reg = head(feats)
    anchors, valid = head.get_anchors([c.shape[-2:] for c in cls], [samples[0].metainfo], device='cpu')
    targets = head.get_targets(anchors, valid, [samples[0].gt_instances], [samples[0].metainfo])
    _, _, box_t, box_w, avg_factor = targets[:5]
    flat_a = torch.cat(anchors[0])
    flat_d = torch.cat([r.permute(0, 2, 3, 1).reshape(-1, 5) for r in reg])
    flat_t, flat_w = torch.cat([t.reshape(-1, 5) for t in box_t]), torch.cat([w.reshape(-1, 5) for w in box_w])
    pos = flat_w[:, 0] > 0
    iou = RBboxOverlaps2D()(samples[0].gt_instances.bboxes, flat_a)
    assert pos.sum() >= 2 and (iou.max(0).values[pos] > 0).all()
    by_hand = head.loss_bbox(head.bbox_coder.decode(flat_a[pos], flat_d[pos]), flat_t[pos], avg_factor=avg_factor)
    assert torch.allclose(sum(head.loss(feats, samples)['loss_bbox']), by_hand, atol=1e-5)


def test_configs_build():
    from mmdet.models.detectors import RetinaNet
    for name, loss in (('smoothl1', 'SmoothL1Loss'), ('gwd', 'GWDLoss'), ('kld', 'KLDLoss')):
        cfg = Config.fromfile(CONFIGS + f'rotated-retinanet-le90_resnet18-w16_fpn_{name}_rotated-digit-canvas.py')
        import tessera_core.models  # noqa: F401  (the config's custom_imports)
        model = MODELS.build(cfg.model)
        assert isinstance(model, RetinaNet) and type(model.bbox_head.loss_bbox).__name__ == loss
        assert model.bbox_head.reg_decoded_bbox == (name != 'smoothl1')
