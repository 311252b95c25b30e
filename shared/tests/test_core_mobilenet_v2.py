"""MobileNetV2 (arXiv:1801.04381), the static baseline of DCD: exact torchvision equivalence and
sizes, the inverted residual block, detection-backbone behaviour, deploy folding, and one train
step of the Fashion-MNIST config."""
import os

import pytest
import torch
import torchvision
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
from torch import nn

import tessera_core
from tessera_core.analysis import count_parameters, get_flops
from tessera_core.models import ImageClassifier
from tessera_core.models.backbones import MobileNetV2
from tessera_core.models.backbones.mobilenet_v2 import InvertedResidual
from tessera_core.models.layers import DCDConv2d
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample
from tessera_core.testing import randomise_batchnorms


def _classifier(widen_factor=1.0, num_classes=1000):
    return ImageClassifier(
        backbone=dict(type='MobileNetV2', widen_factor=widen_factor),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=1280 if widen_factor <= 1 else
                  int(1280 * widen_factor) // 8 * 8, dropout=0.2),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]))


# ---------------------------------------------------------------- exact sizes and torchvision equivalence

@pytest.mark.parametrize('widen_factor,params', [(1.0, 3_504_872), (0.5, 1_968_680), (0.75, 2_636_424),
                                                 (0.35, 1_677_128), (1.4, 6_108_776)])
def test_parameter_counts_match_torchvision(widen_factor, params):
    # 3,504,872 at 1.0x = torchvision's mobilenet_v2 (the paper's Table 4 rounds it to 3.4M).
    ours = count_parameters(_classifier(widen_factor))
    assert ours == params == count_parameters(torchvision.models.mobilenet_v2(width_mult=widen_factor))


def test_torchvision_weights_give_the_same_logits():
    ref = randomise_batchnorms(torchvision.models.mobilenet_v2()).eval()
    ours = _classifier().eval()
    ours_sd, ref_sd = ours.state_dict(), ref.state_dict()
    assert len(ours_sd) == len(ref_sd)
    # same layers in the same order: expansion, depthwise, projection (conv, BN) per block, then the head
    mapped = {}
    for (k, v), (rk, rv) in zip(ours_sd.items(), ref_sd.items()):
        assert v.shape == rv.shape, (k, rk)
        mapped[k] = rv
    ours.load_state_dict(mapped, strict=True)
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert (got - expected).abs().max() < 1e-4 and expected.std() > 1e-2


def test_macs_at_224():
    # Paper (Table 4 / torchvision): 300M multiply-adds. mmengine counts 314,130,496 with one per
    # BatchNorm element (13.4M); after folding every BN into its conv (switch_to_deploy) 300,774,272
    # = convs (299.5M) + the 1280 -> 1000 linear layer (1.28M), the paper's convention.
    model = _classifier().eval()
    assert get_flops(model, (3, 224, 224))['flops'] == 314_130_496
    model.backbone.switch_to_deploy()
    assert get_flops(model, (3, 224, 224))['flops'] == 300_774_272


# ---------------------------------------------------------------- the block

def test_inverted_residual_structure():
    block = InvertedResidual(24, 24, 1, 6).eval()
    assert block.expand.conv.weight.shape == (144, 24, 1, 1)
    assert block.depthwise.conv.groups == 144 and block.depthwise.conv.weight.shape == (144, 1, 3, 3)
    assert block.project.conv.weight.shape == (24, 144, 1, 1) and isinstance(block.project.act, nn.Identity)
    assert isinstance(block.expand.act, nn.ReLU6)
    x = torch.randn(2, 24, 7, 7)
    y = block.project(block.depthwise(block.expand(x)))
    assert torch.allclose(block(x), x + y)  # identity shortcut, linear bottleneck (no activation)
    down = InvertedResidual(24, 32, 2, 6).eval()
    assert not down.use_shortcut and down(torch.randn(1, 24, 7, 7)).shape == (1, 32, 4, 4)
    first = InvertedResidual(32, 16, 1, 1)
    assert first.expand is None and first.depthwise.conv.weight.shape == (32, 1, 3, 3)
    with pytest.raises(ValueError, match='stride 3.*valid: 1, 2'):
        InvertedResidual(8, 8, 3, 6)


def test_paper_table_and_width_rounding():
    assert MobileNetV2.arch_settings[3] == (6, 64, 4, 2)
    net = MobileNetV2(widen_factor=0.35, out_indices=(0, 1, 2, 3, 4))
    assert net.stem[0].conv.out_channels == 16  # make_divisible(32 * 0.35, 8)
    assert net.out_channels == (8, 16, 32, 112, 1280)  # 24/32/96/320 * 0.35 rounded to multiples of 8
    assert MobileNetV2(widen_factor=1.4, out_indices=(4,)).out_channels == (1792,)


# ---------------------------------------------------------------- detection backbone

def test_multiscale_outputs_and_channels():
    net = MobileNetV2(out_indices=(0, 1, 2, 3)).eval()
    outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 24, 16, 16), (2, 32, 8, 8), (2, 96, 4, 4), (2, 320, 2, 2)]
    assert net.out_channels == (24, 32, 96, 320) and net.final_conv is None
    assert [len(s) for s in net.stages] == [2, 3, 7, 4] and len(net.stem) == 2
    partial = MobileNetV2(out_indices=(1,))
    assert len(partial.stages) == 2  # layers after the deepest output are not built
    both = MobileNetV2(out_indices=(4, 0)).eval()
    assert [tuple(o.shape) for o in both(torch.randn(1, 3, 64, 64))] == [(1, 1280, 2, 2), (1, 24, 16, 16)]
    small = MobileNetV2(in_channels=1, stem_stride=1, out_indices=(0, 1, 2, 3, 4)).eval()
    assert [o.shape[-1] for o in small(torch.randn(1, 1, 28, 28))] == [14, 7, 4, 2, 2]  # total stride 16


def test_detection_outputs_train_every_built_parameter():
    net = MobileNetV2(out_indices=(0, 1, 2, 3))
    sum(o.mean() for o in net(torch.randn(2, 3, 64, 64))).backward()
    assert all(p.grad is not None for p in net.parameters())


def test_frozen_stages_and_norm_eval():
    net = MobileNetV2(out_indices=(0, 1, 2, 3), frozen_stages=2)
    net.train()
    frozen, trainable = [net.stem, net.stages[0], net.stages[1]], [net.stages[2], net.stages[3]]
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in trainable for p in m.parameters())
    assert all(not b.training for m in frozen for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    assert all(b.training for m in trainable for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    assert all(not p.requires_grad for p in MobileNetV2(frozen_stages=5).parameters())
    net = MobileNetV2(out_indices=(1,), norm_eval=True)
    net.train()
    before = [m.running_mean.clone() for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    net(torch.randn(2, 3, 32, 32) * 3 + 1)
    after = [m.running_mean for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert net.training and all(torch.equal(a, b) for a, b in zip(before, after))


def test_switch_to_deploy_folds_every_batchnorm():
    net = randomise_batchnorms(MobileNetV2(out_indices=(0, 1, 2, 3, 4))).eval()
    x = torch.randn(2, 3, 64, 64)
    with torch.no_grad():
        feats = net(x)
        net.switch_to_deploy().switch_to_deploy()  # idempotent
        feats_d = net(x)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in net.modules())
    for f, fd in zip(feats, feats_d):
        assert (f - fd).abs().max() < 1e-4 * max(1.0, f.abs().max().item())


def test_conv_cfg_builds_the_pointwise_convs():
    net = MobileNetV2(widen_factor=0.5, out_indices=(1,), conv_cfg=dict(type='DCD'))
    block = net.stages[0][0]
    assert isinstance(block.expand.conv, DCDConv2d) and isinstance(block.project.conv, DCDConv2d)
    assert isinstance(net.stem[1].project.conv, DCDConv2d)  # every block's pointwise convs
    assert type(block.depthwise.conv) is nn.Conv2d and type(net.stem[0].conv) is nn.Conv2d
    assert net.eval()(torch.randn(2, 3, 32, 32))[0].shape == (2, 16, 4, 4)


def test_built_by_name_from_a_child_scope():
    child = Registry('model', parent=MMENGINE_MODELS, scope='mbv2_downstream_scope')
    net = child.build(dict(type='tessera_core.MobileNetV2', out_indices=(0, 1, 2, 3), frozen_stages=1))
    assert isinstance(net, MobileNetV2) and net.out_channels == (24, 32, 96, 320)


def test_bad_arguments_list_choices():
    with pytest.raises(ValueError, match=r'0\.6.*valid: 0\.35, 0\.5, 0\.75, 1\.0, 1\.3, 1\.4'):
        MobileNetV2(widen_factor=0.6)
    with pytest.raises(ValueError, match='stem_stride 4'):
        MobileNetV2(stem_stride=4)
    with pytest.raises(ValueError, match=r'\[0, 4\].*\(0, 5\)'):
        MobileNetV2(out_indices=(0, 5))
    with pytest.raises(ValueError, match='frozen_stages'):
        MobileNetV2(frozen_stages=6)


# ---------------------------------------------------------------- the Fashion-MNIST config

def test_config_model_trains_one_step():
    path = os.path.join(os.path.dirname(tessera_core.__file__), 'configs', 'mobilenet_v2',
                        'mobilenetv2_fashion-mnist.py')
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'tessera_core' and cfg.model.backbone.stem_stride == 1
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert count_parameters(model) == 2_236_106  # the metafile's number (1-channel stem, 10 classes)
    assert get_flops(model, (1, 28, 28))['flops'] == 22_651_312
    data = dict(inputs=[torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8) for _ in range(8)],
                data_samples=[ClsDataSample().set_gt_label(i % 10) for i in range(8)])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    before = model.head.fc.weight.detach().clone()
    losses = model.train_step(data, optim)
    assert torch.isfinite(losses['loss']) and not torch.equal(before, model.head.fc.weight)
    assert model.val_step(data)[0].pred_score.shape == (10,)
