"""GhostNet (arXiv:1911.11907): Ghost module math, exact sizes, timm equivalence, deploy folding,
detection-backbone behaviour."""
import math

import pytest
import torch
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
from torch import nn

from tessera_core.analysis import count_parameters, get_flops
from tessera_core.models import ImageClassifier
from tessera_core.models.backbones.ghostnet import GhostNet
from tessera_core.models.converters.timm_ghostnet import backbone_key_map, convert_timm_ghostnet, main
from tessera_core.models.layers import GhostBottleneck, GhostModule, SqueezeExcitation
from tessera_core.models.utils import make_divisible
from tessera_core.testing import randomise_batchnorms


TIMM_NAMES = {0.5: 'ghostnet_050', 1.0: 'ghostnet_100', 1.3: 'ghostnet_130'}


def _classifier(widen_factor=1.0, num_classes=1000):
    head_in = make_divisible(960 * widen_factor, 4)
    return ImageClassifier(
        backbone=dict(type='GhostNet', widen_factor=widen_factor),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='ConvClsHead', num_classes=num_classes, in_channels=head_in, mid_channels=1280,
                  dropout=0.2),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]))


# ---------------------------------------------------------------- building blocks

@pytest.mark.parametrize('in_ch,out_ch,ratio,intrinsic,ghosts', [
    (16, 16, 2, 8, 8), (24, 13, 2, 7, 7), (8, 10, 3, 4, 8), (8, 9, 3, 3, 6)])
def test_ghost_module_channel_math(in_ch, out_ch, ratio, intrinsic, ghosts):
    gm = GhostModule(in_ch, out_ch, ratio=ratio, dw_size=3).eval()
    # m = ceil(n / s) intrinsic maps, m * (s - 1) ghosts, concatenation cut to n
    assert (gm.intrinsic_channels, gm.ghost_channels) == (intrinsic, ghosts) == (
        math.ceil(out_ch / ratio), math.ceil(out_ch / ratio) * (ratio - 1))
    assert gm.primary_conv.conv.weight.shape == (intrinsic, in_ch, 1, 1)
    # the cheap operation is depthwise: (s - 1) 3x3 filters per intrinsic map
    assert gm.cheap_operation.conv.weight.shape == (ghosts, 1, 3, 3)
    assert gm.cheap_operation.conv.groups == intrinsic
    # parameters: 1x1 primary + depthwise 3x3 cheap + 2 BN affines
    assert count_parameters(gm) == in_ch * intrinsic + ghosts * 9 + 2 * (intrinsic + ghosts)
    x = torch.randn(2, in_ch, 9, 7)
    y = gm(x)
    assert y.shape == (2, out_ch, 9, 7)
    # the first m output maps are the primary conv's, the rest are ghosts made from them
    primary = gm.primary_conv(x)
    assert torch.allclose(y[:, :intrinsic], primary)
    assert torch.allclose(y[:, intrinsic:], gm.cheap_operation(primary)[:, :out_ch - intrinsic])


def test_ghost_module_relu_is_optional():
    x = torch.randn(2, 8, 5, 5)
    with_act, linear = GhostModule(8, 16, with_act=True), GhostModule(8, 16, with_act=False)
    assert (with_act(x) >= 0).all()
    assert (linear(x) < 0).any()


def test_make_divisible_and_se_reduction():
    assert [make_divisible(16 * w, 4) for w in (0.5, 1.0, 1.3)] == [8, 16, 20]
    assert make_divisible(960 * 1.3, 4) == 1248
    assert make_divisible(10, 8) == 16  # 8 would lose more than 10 %
    # GhostNet's SE: reduce = make_divisible(mid * 0.25, 4)
    assert [SqueezeExcitation(c).reduced_channels for c in (72, 120, 480, 672, 960)] == [20, 32, 120, 168, 240]


def test_se_gate_is_hard_sigmoid():
    se = SqueezeExcitation(8, 0.25)
    x = torch.randn(2, 8, 4, 4)
    s = se.conv_expand(torch.relu(se.conv_reduce(x.mean((2, 3), keepdim=True))))
    assert torch.allclose(se(x), x * torch.clamp(s + 3, 0, 6) / 6)


def test_bottleneck_structure_and_shapes():
    down = GhostBottleneck(24, 72, 40, dw_kernel_size=5, stride=2, se_ratio=0.25)
    assert down.conv_dw.conv.weight.shape == (72, 1, 5, 5) and down.conv_dw.conv.stride == (2, 2)
    assert down.se.reduced_channels == 20
    dw, pw = down.shortcut  # depthwise conv + BN, then 1x1 conv + BN
    assert dw.conv.groups == 24 and dw.conv.stride == (2, 2) and pw.conv.weight.shape == (40, 24, 1, 1)
    assert down(torch.randn(2, 24, 15, 15)).shape == (2, 40, 8, 8)
    keep = GhostBottleneck(40, 120, 40).eval()
    assert keep.conv_dw is None and keep.se is None and keep.shortcut is None
    x = torch.randn(2, 40, 6, 6)
    assert torch.allclose(keep(x), keep.ghost2(keep.ghost1(x)) + x)  # identity shortcut, no final ReLU


# ---------------------------------------------------------------- exact sizes

@pytest.mark.parametrize('widen_factor,params', [(0.5, 2_587_292), (1.0, 5_182_508), (1.3, 7_358_820)])
def test_parameter_counts_match_timm(widen_factor, params):
    assert count_parameters(_classifier(widen_factor)) == params


def test_macs_at_224():
    # Paper: 141M FLOPs for GhostNet 1.0x (42M for 0.5x, 226M for 1.3x), i.e. multiply-adds of
    # the convolutions and the FC layer only. mmengine's FlopAnalyzer counts one per multiply-add
    # for conv (139,870,512) and linear (1,280,000) -- together 141,150,512 -- and additionally
    # one per element for batch_norm (7,076,384); it does not count the SE branch's pooling, the
    # hard-sigmoid, the SE multiplication, residual additions or the global average pooling (conv
    # biases are not counted either). After folding every BN into its conv (switch_to_deploy) the
    # measured count is the paper's convention. (0.5x / 1.3x measure 45,866,344 / 236,178,408, and
    # 42,328,152 / 227,003,256 once deployed.)
    model = _classifier(1.0).eval()
    assert get_flops(model, (3, 224, 224))['flops'] == 148_226_896
    model.backbone.switch_to_deploy()
    assert get_flops(model, (3, 224, 224))['flops'] == 141_150_512


# ---------------------------------------------------------------- timm weight compatibility

@pytest.mark.parametrize('widen_factor', [0.5, 1.0, 1.3])
def test_timm_weights_give_same_logits(widen_factor):
    import timm  # a dev requirement (requirements-dev.txt), present in every test environment
    ref = randomise_batchnorms(timm.create_model(TIMM_NAMES[widen_factor])).eval()
    ours = _classifier(widen_factor).eval()
    ours.load_state_dict(convert_timm_ghostnet(ref.state_dict()), strict=True)
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    assert got.shape == (2, 1000)
    assert (got - expected).abs().max() < 1e-4
    assert expected.std() > 1e-2  # the comparison is not between two near-constant outputs


def test_bad_state_dict_lists_mismatching_keys():
    sd = dict(_classifier_timm_like_state_dict())
    sd.pop('blocks.3.0.se.conv_reduce.weight')
    sd['blocks.3.0.bogus.weight'] = torch.zeros(1)
    with pytest.raises(ValueError, match=r'missing keys \[.blocks\.3\.0\.se\.conv_reduce\.weight.\]') as err:
        convert_timm_ghostnet(sd)
    assert 'blocks.3.0.bogus.weight' in str(err.value)
    with pytest.raises(ValueError, match=r'conv_stem\.weight: \(16, 3, 3, 3\) != \(8, 3, 3, 3\)'):
        convert_timm_ghostnet(_classifier_timm_like_state_dict(), widen_factor=0.5)
    with pytest.raises(ValueError, match='conv_stem.weight'):
        convert_timm_ghostnet({'classifier.weight': torch.zeros(2, 2)})


def _classifier_timm_like_state_dict():
    """A timm-layout GhostNet 1.0x state dict built from our own model (no timm needed)."""
    timm_keys = {}
    ours = _classifier(1.0).state_dict()
    for key, (timm_key, _) in backbone_key_map(1.0).items():
        timm_keys[timm_key] = ours[f'backbone.{key}']
    for name in ('weight', 'bias'):
        timm_keys[f'conv_head.{name}'] = ours[f'head.conv.{name}']
        timm_keys[f'classifier.{name}'] = ours[f'head.fc.{name}']
    return timm_keys


def test_converter_file_round_trip(tmp_path):
    src, dst = tmp_path / 'timm_ghostnet_100.pth', tmp_path / 'converted.pth'
    timm_sd = _classifier_timm_like_state_dict()
    torch.save(timm_sd, src)
    main([str(src), str(dst)])
    model = _classifier(1.0)
    model.load_state_dict(torch.load(dst, weights_only=True)['state_dict'], strict=True)
    assert torch.equal(model.backbone.stem[0].conv.weight, timm_sd['conv_stem.weight'])
    assert torch.equal(model.head.fc.weight, timm_sd['classifier.weight'])


# ---------------------------------------------------------------- deploy

def test_switch_to_deploy_folds_every_batchnorm():
    model = randomise_batchnorms(_classifier(1.0)).eval()
    backbone = GhostNet(out_indices=(0, 1, 2, 3, 4))
    backbone.load_state_dict(model.backbone.state_dict())
    backbone.eval()
    x = torch.randn(2, 3, 96, 96)
    with torch.no_grad():
        logits, feats = model(x), backbone(x)
        model.backbone.switch_to_deploy()
        backbone.switch_to_deploy().switch_to_deploy()  # idempotent
        logits_d, feats_d = model(x), backbone(x)
    assert not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules())
    assert all(m.bias is not None for m in model.backbone.modules() if isinstance(m, nn.Conv2d))
    assert (logits - logits_d).abs().max() < 1e-4
    for f, fd in zip(feats, feats_d):
        assert (f - fd).abs().max() < 1e-4 * max(1.0, f.abs().max().item())


# ---------------------------------------------------------------- detection backbone

def test_multiscale_outputs_and_channels():
    net = GhostNet(out_indices=(0, 1, 2, 3)).eval()
    outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 24, 16, 16), (2, 40, 8, 8), (2, 112, 4, 4), (2, 160, 2, 2)]
    assert net.out_channels == (24, 40, 112, 160) and net.final_conv is None
    wide = GhostNet(widen_factor=1.3, out_indices=(4, 1)).eval()
    outs = wide(torch.randn(1, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(1, 1248, 2, 2), (1, 52, 8, 8)] and wide.out_channels == (1248, 52)
    assert GhostNet(widen_factor=0.5, out_indices=(0, 1, 2, 3, 4)).out_channels == (12, 20, 56, 80, 480)
    # stem_stride=1 for small images: every stride halves, a 28x28 digit keeps a 2x2 map at stride 16
    small = GhostNet(out_indices=(0, 1, 2, 3), stem_stride=1, in_channels=1).eval()
    assert [o.shape[-1] for o in small(torch.randn(1, 1, 28, 28))] == [14, 7, 4, 2]


def test_detection_outputs_train_every_built_parameter():
    net = GhostNet(out_indices=(0, 1, 2, 3))  # final 1x1 conv is not built: no unused params under DDP
    sum(o.mean() for o in net(torch.randn(2, 3, 64, 64))).backward()
    assert all(p.grad is not None for p in net.parameters())


def test_frozen_stages():
    net = GhostNet(out_indices=(0, 1, 2, 3), frozen_stages=2)
    net.train()
    frozen, trainable = [net.stem, net.stages[0], net.stages[1]], [net.stages[2], net.stages[3]]
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in trainable for p in m.parameters())
    assert all(not b.training for m in frozen for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    assert all(b.training for m in trainable for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    before = net.stages[1][0].ghost1.primary_conv.bn.running_mean.clone()
    net(torch.randn(2, 3, 64, 64))
    assert torch.equal(before, net.stages[1][0].ghost1.primary_conv.bn.running_mean)
    assert all(not p.requires_grad for p in GhostNet(frozen_stages=5).parameters())


def test_norm_eval_keeps_batchnorm_statistics():
    net = GhostNet(out_indices=(1,), norm_eval=True)
    net.train()
    assert net.training and not any(m.training for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    before = [m.running_mean.clone() for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    net(torch.randn(2, 3, 32, 32) * 3 + 1)
    after = [m.running_mean for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_built_by_name_from_a_child_scope():
    # as mmdet does with type='tessera_core.GhostNet' from its own registry
    child = Registry('model', parent=MMENGINE_MODELS, scope='some_downstream_scope')
    net = child.build(dict(type='tessera_core.GhostNet', out_indices=(0, 1, 2, 3), frozen_stages=1))
    assert isinstance(net, GhostNet) and net.out_channels == (24, 40, 112, 160)


def test_bad_arguments_list_choices():
    with pytest.raises(ValueError, match=r'0\.75.*valid: 0\.5, 1\.0, 1\.3'):
        GhostNet(widen_factor=0.75)
    with pytest.raises(ValueError, match='stem_stride 4'):
        GhostNet(stem_stride=4)
    with pytest.raises(ValueError, match=r'\[0, 4\].*\(0, 5\)'):
        GhostNet(out_indices=(0, 5))
    with pytest.raises(ValueError, match='frozen_stages'):
        GhostNet(frozen_stages=6)
