"""ReIDModel / BNNeckHead: the BNNeck wiring, frozen BN bias, losses on the right features, last stride."""
import pytest
import torch
import torch.nn.functional as F

import tessera_reid.models  # noqa: F401
from tessera_core.models import LabelSmoothLoss
from tessera_core.structures import ClsDataSample
from tessera_reid.models import BNNeckHead, TripletLoss
from tessera_reid.registry import MODELS



def build(**kwargs):
    cfg = dict(type='ReIDModel',
               backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
               head=dict(type='BNNeckHead', num_classes=3, in_channels=64))
    cfg.update(kwargs)
    model = MODELS.build(cfg)
    model.init_weights()
    return model


def samples(labels):
    return [ClsDataSample().set_gt_label(int(y)) for y in labels]


def test_bnneck_structure_and_init():
    head = BNNeckHead(num_classes=5, in_channels=16)
    assert isinstance(head.bottleneck, torch.nn.BatchNorm1d)
    assert head.classifier.bias is None
    assert not head.bottleneck.bias.requires_grad and head.bottleneck.weight.requires_grad
    assert torch.equal(head.bottleneck.bias, torch.zeros(16))
    assert torch.equal(head.bottleneck.weight, torch.ones(16))
    assert head.classifier.weight.std().item() == pytest.approx(0.001, rel=0.3)


def test_bn_bias_stays_zero_while_training():
    torch.manual_seed(0)
    model = build()
    opt = torch.optim.SGD(model.parameters(), lr=0.1, weight_decay=0.1)
    x, labels = torch.randn(6, 1, 16, 16), torch.tensor([0, 0, 1, 1, 2, 2])
    weight_before = model.head.bottleneck.weight.detach().clone()
    for _ in range(2):
        losses = model(x, samples(labels), mode='loss')
        opt.zero_grad()
        (losses['loss_cls'] + losses['loss_triplet']).backward()
        opt.step()
    assert torch.equal(model.head.bottleneck.bias, torch.zeros(64))
    assert not torch.equal(model.head.bottleneck.weight, weight_before)


def test_losses_use_pre_bn_feature_for_triplet_and_bn_feature_for_id():
    torch.manual_seed(0)
    model = build()
    x, labels = torch.randn(6, 1, 16, 16), torch.tensor([0, 0, 1, 1, 2, 2])
    model.train()
    losses = model(x, samples(labels), mode='loss')
    assert set(losses) == {'loss_cls', 'loss_triplet', 'accuracy_top-1'}
    global_feat = model.backbone(x)[-1].mean(dim=(2, 3))  # GAP of the last stage
    bn = F.batch_norm(global_feat, None, None, model.head.bottleneck.weight, model.head.bottleneck.bias,
                      training=True, eps=model.head.bottleneck.eps)
    logits = bn @ model.head.classifier.weight.t()
    assert losses['loss_triplet'].item() == pytest.approx(TripletLoss(0.3)(global_feat, labels).item(), rel=1e-4)
    assert losses['loss_cls'].item() == pytest.approx(LabelSmoothLoss(0.1)(logits, labels).item(), rel=1e-4)


def test_label_smooth_loss_equals_official_formula():
    # reid-strong-baseline CrossEntropyLabelSmooth: q = (1 - eps) * onehot + eps / K, loss = mean_n sum_k -q log p
    torch.manual_seed(0)
    logits, labels, eps = torch.randn(8, 5), torch.randint(0, 5, (8,)), 0.1
    q = (1 - eps) * F.one_hot(labels, 5).float() + eps / 5
    official = (-q * F.log_softmax(logits, dim=1)).mean(0).sum()
    assert LabelSmoothLoss(eps)(logits, labels).item() == pytest.approx(official.item(), rel=1e-5)


def test_predict_returns_l2_normalised_post_bn_feature():
    torch.manual_seed(0)
    model = build().eval()
    x = torch.randn(4, 1, 16, 16)
    out = model(x, samples([0, 1, 2, 0]), mode='predict')
    feats = torch.stack([s.pred_feature for s in out])
    assert feats.shape == (4, 64)
    assert torch.allclose(feats.norm(dim=1), torch.ones(4), atol=1e-5)
    with torch.no_grad():
        expected = F.normalize(model.head.bottleneck(model.backbone(x)[-1].mean(dim=(2, 3))), dim=1)
        assert torch.allclose(feats, expected, atol=1e-5)
        assert torch.allclose(model(x, mode='tensor'), expected, atol=1e-5)


def test_neck_feat_before_uses_pooled_feature():
    torch.manual_seed(0)
    model = build(head=dict(type='BNNeckHead', num_classes=3, in_channels=64, neck_feat='before',
                            normalize=False)).eval()
    x = torch.randn(2, 1, 16, 16)
    with torch.no_grad():
        assert torch.allclose(model(x), model.backbone(x)[-1].mean(dim=(2, 3)), atol=1e-6)


def _layout(model):
    return ([(k, v.shape) for k, v in model.state_dict().items()],
            [(n, m.stride) for n, m in model.named_modules() if isinstance(m, torch.nn.Conv2d)])


def test_last_stride_one_by_backbone_strides_doubles_resolution_and_keeps_parameters():
    x = torch.randn(1, 1, 32, 32)
    backbone = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8)
    plain, ls1 = build(), build(backbone=dict(backbone, strides=(1, 2, 2, 1)))
    assert plain.backbone(x)[-1].shape[-2:] == (4, 4)
    assert ls1.backbone(x)[-1].shape[-2:] == (8, 8)
    assert ls1.backbone.layer4[0].conv1.stride == (1, 1) and ls1.backbone.layer4[0].downsample[0].stride == (1, 1)
    assert [(k, v.shape) for k, v in plain.state_dict().items()] == [(k, v.shape) for k, v in ls1.state_dict().items()]
    bottleneck = build(backbone=dict(type='ResNet', depth=50, in_channels=1, stem='small', base_channels=4,
                                     strides=(1, 2, 2, 1)),
                       head=dict(type='BNNeckHead', num_classes=3, in_channels=128))
    assert bottleneck.backbone(x)[-1].shape[-2:] == (8, 8)


def test_last_stride_argument_of_older_configs_sets_the_backbone_strides():
    backbone = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8)
    old, new = build(last_stride=1), build(backbone=dict(backbone, strides=(1, 2, 2, 1)))
    assert old.backbone.strides == (1, 2, 2, 1) and old.last_stride == 1
    assert _layout(old) == _layout(new)  # same keys, shapes and conv strides
    # given strides keep their other stages; the model's config is not modified
    cfg = dict(backbone, strides=(1, 1, 2, 2))
    assert build(backbone=cfg, last_stride=1).backbone.strides == (1, 1, 2, 1) and cfg['strides'] == (1, 1, 2, 2)
    assert build(backbone=dict(backbone, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(2,)),
                 head=dict(type='BNNeckHead', num_classes=3, in_channels=32), last_stride=1).backbone.strides == (1, 2, 1)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="valid: \\('after', 'before'\\)"):
        BNNeckHead(num_classes=3, in_channels=8, neck_feat='middle')
    with pytest.raises(ValueError, match='last_stride must be 1 or 2'):
        build(last_stride=3)
    model = build()
    with pytest.raises(ValueError, match='invalid mode'):
        model(torch.randn(2, 1, 16, 16), mode='features')
    with pytest.raises(ValueError, match=r'\(N, C, H, W\)'):
        model(torch.randn(2, 16, 16))
    with pytest.raises(ValueError, match='outside'):
        model.train()(torch.randn(2, 1, 16, 16), samples([0, 7]), mode='loss')
