"""FANet: the soft mask lies in [0, 1] and its supervision is zero for a perfect mask; the target attention loss is
the KL to the uniform identity distribution and pushes identity content out of the background branch (hand-built
map); the camera loss of the background branch reaches the mask and the backbone, TAL never the identity classifier;
the masks follow the augmentations and reach the data samples; the mask metric's closed cases."""
import math

import numpy as np
import pytest
import torch

from tessera_core.structures import ClsDataSample
from tessera_reid.datasets.transforms import EraseMask, PackReIDInputs, RandomShiftCropWithMask
from tessera_reid.evaluation import ForegroundMaskMetric
from tessera_reid.models import FANetHead, FANetReIDModel, SoftMaskLoss, TargetAttentionLoss
from tessera_reid.models.heads.fanet_head import mask_targets


def samples(labels, camids, masks=None):
    out = []
    for i, (y, c) in enumerate(zip(labels, camids)):
        s = ClsDataSample().set_gt_label(y)
        s.set_metainfo(dict(camid=c))
        if masks is not None:
            s.set_field(masks[i], 'gt_mask', dtype=torch.Tensor)
        out.append(s)
    return out


def small_model(**head):
    cfg = dict(type='FANetHead', num_classes=4, in_channels=32, num_cameras=3,
               loss_mask=dict(type='SoftMaskLoss', loss_weight=1.0))
    cfg.update(head)
    return FANetReIDModel(
        backbone=dict(type='ResNet', depth=18, in_channels=3, stem='small', base_channels=4, strides=(1, 2, 2, 1)),
        head=cfg, data_preprocessor=dict(type='ClsDataPreprocessor', mean=[128.0] * 3, std=[64.0] * 3))


def test_soft_mask_in_unit_interval_and_predict_attaches_it():
    torch.manual_seed(0)
    model = small_model()
    x = torch.randn(5, 3, 16, 16) * 50
    mask = model.soft_mask(x)
    assert mask.shape == (5, 1, 4, 4) and mask.min() >= 0 and mask.max() <= 1
    # at initialisation (last conv ~0, bias 0) the mask is ~0.5 everywhere
    assert (mask - 0.5).abs().max() < 0.05
    model.eval()
    out = model(x, samples([0] * 5, [0] * 5), mode='predict')
    assert out[0].pred_mask.shape == (4, 4) and out[0].pred_feature.shape == (32,)
    assert torch.allclose(torch.stack([s.pred_mask for s in out]), model.soft_mask(x)[:, 0])
    assert torch.allclose(out[0].pred_feature.norm(), torch.tensor(1.0))


def test_soft_mask_loss_zero_for_perfect_mask_positive_otherwise_gradient_m_minus_t():
    loss = SoftMaskLoss()
    t = torch.tensor([0.0, 0.25, 0.5, 1.0, 0.75, 0.0]).view(1, 1, 2, 3).double()
    perfect = torch.logit(t.clamp(1e-12, 1 - 1e-12))
    assert loss(perfect, t).item() == pytest.approx(0.0, abs=1e-9)
    logits = torch.zeros_like(t, requires_grad=True)
    value = loss(logits, t)
    by_hand = np.mean([ti * math.log(ti / 0.5) + (1 - ti) * math.log((1 - ti) / 0.5) if 0 < ti < 1
                       else math.log(2) for ti in t.flatten().tolist()])
    assert value.item() == pytest.approx(by_hand, rel=1e-12)
    value.backward()
    assert torch.allclose(logits.grad, (0.5 - t) / t.numel())
    # binary target: confident correct logits drive it to 0, confident wrong ones up
    b = (t > 0.4).double()
    assert loss((b * 2 - 1) * 30, b).item() < 1e-12 and loss((1 - 2 * b) * 30, b).item() > 25
    with pytest.raises(ValueError, match='shape'):
        loss(torch.zeros(1, 1, 2, 2), torch.zeros(1, 1, 2, 3))


def test_target_attention_loss_is_kl_to_uniform_with_gradient_p_minus_one_over_k():
    tal = TargetAttentionLoss(loss_weight=2.0)
    assert tal(torch.full((3, 5), 7.3)).item() == pytest.approx(0.0, abs=1e-6)
    z = torch.tensor([[2.0, 0.0, -1.0, 0.5], [0.0, 0.0, 3.0, 0.0]], dtype=torch.float64, requires_grad=True)
    p = torch.softmax(z, 1)
    by_hand = (0.25 * torch.log(0.25 / p)).sum(1).mean()
    value = tal(z)
    assert value.item() == pytest.approx(2.0 * by_hand.item(), rel=1e-12)
    value.backward()
    assert torch.allclose(z.grad, 2.0 * (p - 0.25) / 2)


def hand_built_head():
    """C = 4 channels, 3 identities whose classifier rows are 5 e_0, 5 e_1, 5 e_2; channel 3 is 'scene' only."""
    head = FANetHead(num_classes=3, in_channels=4, num_cameras=2, loss_triplet=None).double().eval()
    with torch.no_grad():
        head.fg_head.classifier.weight.copy_(5 * torch.eye(4, dtype=torch.float64)[:3])
    return head


def test_target_attention_loss_pushes_identity_content_out_of_the_background_branch():
    head = hand_built_head()
    # a 2x2 map: pixel (0, 0) shows the target (identity 0's channel), the others the scene (channel 3)
    x = torch.zeros(1, 4, 2, 2, dtype=torch.float64)
    x[0, 0, 0, 0] = 4.0
    x[0, 3, :, :] = 3.0
    x[0, 3, 0, 0] = 0.0
    logits = torch.zeros(1, 1, 2, 2, dtype=torch.float64, requires_grad=True)   # M = 0.5 everywhere
    f_bg = (x * (1 - torch.sigmoid(logits))).mean(dim=(2, 3))
    value = head.loss_tal(head.background_identity_logits(f_bg))
    assert value.item() > 0.1            # half of the target is in the background: the classifier sees identity 0
    value.backward()
    g = logits.grad[0, 0]
    assert g[0, 0] < 0                   # descent raises M on the target pixel: the target moves to the foreground
    assert torch.all(g.flatten()[1:] == 0)   # scene pixels carry no identity: TAL leaves their mask alone
    # with the target fully in the foreground the background shows no identity: TAL is zero
    full = torch.tensor([[[[30.0, -30.0], [-30.0, -30.0]]]], dtype=torch.float64)
    f_bg = (x * (1 - torch.sigmoid(full))).mean(dim=(2, 3))
    assert head.loss_tal(head.background_identity_logits(f_bg)).item() < 1e-9


def grads(module):
    return {n: p.grad for n, p in module.named_parameters() if p.requires_grad}


def nonzero(g):
    return g is not None and g.abs().sum() > 0


def test_gradient_routes_camera_loss_reaches_mask_and_backbone_tal_never_the_identity_classifier():
    torch.manual_seed(0)
    model = small_model(loss_triplet=None)
    x = torch.randn(6, 3, 16, 16) * 50
    masks = (torch.rand(6, 16, 16) > 0.5).float()
    data = samples([0, 1, 2, 3, 0, 1], [0, 1, 2, 0, 1, 2], masks)
    for name, reaches, avoids in (
            ('loss_camera', ('head.mask_generator', 'backbone', 'head.camera_classifier'), ('head.fg_head',)),
            ('loss_tal', ('head.mask_generator', 'backbone'), ('head.fg_head.classifier', 'head.camera_classifier')),
            ('loss_cls', ('head.mask_generator', 'backbone', 'head.fg_head.classifier'), ('head.camera_classifier',)),
            ('loss_mask', ('head.mask_generator', 'backbone'), ('head.fg_head', 'head.camera_classifier'))):
        model.zero_grad(set_to_none=True)
        with torch.no_grad():   # make the identity classifier non-trivial so that TAL has a gradient
            model.head.fg_head.classifier.weight.normal_(0, 1.0)
        losses = model(x, data, mode='loss')
        losses[name].backward()
        g = grads(model)
        for prefix in reaches:
            assert any(nonzero(v) for k, v in g.items() if k.startswith(prefix)), (name, prefix)
        for prefix in avoids:
            assert not any(nonzero(v) for k, v in g.items() if k.startswith(prefix)), (name, prefix)


def test_loss_keys_and_clear_errors():
    torch.manual_seed(0)
    model = small_model()
    x = torch.randn(4, 3, 16, 16)
    losses = model(x, samples([0, 1, 2, 3], [0, 1, 2, 0], torch.ones(4, 16, 16)), mode='loss')
    assert {'loss_cls', 'loss_triplet', 'loss_camera', 'loss_tal', 'loss_mask'} <= set(losses)
    with pytest.raises(ValueError, match="no 'gt_mask'"):
        model(x, samples([0, 1, 2, 3], [0, 1, 2, 0]), mode='loss')
    with pytest.raises(ValueError, match='camid 5'):
        model(x, samples([0, 1, 2, 3], [0, 1, 5, 0], torch.ones(4, 16, 16)), mode='loss')
    # the paper's setting: no mask annotation needed
    assert 'loss_mask' not in small_model(loss_mask=None)(x, samples([0, 1, 2, 3], [0, 1, 2, 0]), mode='loss')
    with pytest.raises(ValueError, match='neck=None'):
        FANetReIDModel(backbone=dict(type='ResNet', depth=18), head=dict(type='FANetHead', num_classes=2,
                       in_channels=512, num_cameras=2), neck=dict(type='GlobalAveragePooling'))


def test_mask_targets_area_average_to_the_feature_map():
    m = torch.zeros(32, 32)
    m[:4, :4] = 1
    m[4:8, 4:6] = 1
    t = mask_targets(samples([0], [0], m[None]), (8, 8), 'cpu')
    expected = torch.zeros(8, 8)
    expected[0, 0], expected[1, 1] = 1.0, 0.5
    assert torch.equal(t[0, 0], expected)


def test_mask_follows_shift_and_erasing_and_is_packed():
    rng = np.random.default_rng(0)
    mask = (rng.random((12, 10)) > 0.5).astype(np.uint8)
    img = np.repeat((mask * 200 + 10)[..., None], 3, axis=2).astype(np.uint8)
    np.random.seed(3)
    out = RandomShiftCropWithMask(padding=3)(dict(img=img, gt_mask=mask))
    # the image pads with 0, the mask with 0: where the image shows the item the mask says so, nowhere else
    assert np.array_equal(out['gt_mask'] == 1, out['img'][..., 0] == 210)
    assert not np.array_equal(out['gt_mask'], mask)   # seed 3 does shift
    out['erased_box'] = (2, 1, 4, 5)
    out = EraseMask()(out)
    assert 'erased_box' not in out and out['gt_mask'][2:6, 1:6].sum() == 0
    packed = PackReIDInputs(meta_keys=('camid',))(dict(out, gt_label=1, camid=2))
    sample = packed['data_samples']
    assert sample.gt_mask.dtype == torch.float32
    assert torch.equal(sample.gt_mask, torch.from_numpy(out['gt_mask']).float())
    assert sample.metainfo['camid'] == 2 and packed['inputs'].shape == (3, 12, 10)
    with pytest.raises(ValueError, match='shape'):
        RandomShiftCropWithMask(padding=1)(dict(img=img, gt_mask=mask[:5]))
    with pytest.raises(KeyError, match="no 'gt_mask'"):
        PackReIDInputs(require_mask=True)(dict(img=img, gt_label=0))


def test_mask_metric_closed_cases():
    metric = ForegroundMaskMetric()
    gt = torch.zeros(8, 8)
    gt[:4] = 1
    perfect = torch.zeros(2, 2)
    perfect[0] = 1
    metric.process(None, [dict(pred_mask=perfect, gt_mask=gt), dict(pred_mask=1 - perfect, gt_mask=gt)])
    out = metric.compute_metrics(metric.results)
    assert out['IoU'] == pytest.approx(50.0)          # 100 and 0
    assert out['gt_area'] == pytest.approx(0.5) and out['pred_area'] == pytest.approx(0.5)
