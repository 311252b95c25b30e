"""C-GhostNet / G-GhostNet (arXiv:2201.03297): G-Ghost stage math, exact G-Ghost RegNet sizes,
channel bookkeeping, detection-backbone behaviour, the C-GhostNet alias, the config's train step."""
from functools import partial
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import Registry
from torch import nn

import tessera_core
from tessera_core.analysis import count_parameters, get_flops
from tessera_core.models import ImageClassifier
from tessera_core.models.backbones import CGhostNet, GGhostRegNet, GhostNet
from tessera_core.models.backbones.g_ghost_regnet import RegNetXBlock
from tessera_core.models.layers import ConvBnAct, GGhostStage, g_ghost_split
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample
from tessera_core.testing import randomise_batchnorms

CONFIG = Path(tessera_core.__file__).parent / 'configs/g_ghostnet/g-ghost-regnetx-3.2gf_fashion-mnist.py'
# a small custom arch (fast tests): 2 plain + 2 G-Ghost stages, as the official '600mf' layout
TINY = dict(depths=(1, 2, 4, 3), widths=(8, 16, 24, 32), group_width=8, cheap_ratios=(0, 0, 0.5, 0.5))


def _classifier(arch='3.2gf', num_classes=1000):
    widths = GGhostRegNet.arch_settings[arch]['widths']
    return ImageClassifier(
        backbone=dict(type='GGhostRegNet', arch=arch),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=widths[-1], dropout=0.2),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]))


def _conv_bn_eval(m: ConvBnAct, x):
    """ConvBnAct in eval mode written out: conv, then (x - mean) / sqrt(var + eps) * gamma + beta."""
    y = F.conv2d(x, m.conv.weight, None, m.conv.stride, m.conv.padding, groups=m.conv.groups)
    bn = m.bn
    shape = (1, -1, 1, 1)
    return ((y - bn.running_mean.view(shape)) / torch.sqrt(bn.running_var.view(shape) + bn.eps)
            * bn.weight.view(shape) + bn.bias.view(shape))


# ---------------------------------------------------------------- the G-Ghost stage

@pytest.mark.parametrize('width,ratio,divisor,split', [
    (192, 0.5, 36, (72, 120)),   # 3.2GF stage 2: int(0.75 * 48) = 36 channels per group
    (432, 0.5, 36, (216, 216)),  # 3.2GF stage 3
    (56, 0.5, 6, (24, 32)),      # official rounding is down, cheap part takes the rest
    (128, 0.25, 1, (96, 32)),
    (10, 0.5, 1, (5, 5))])
def test_split_rounds_complex_channels_down(width, ratio, divisor, split):
    complex_channels, cheap_channels = g_ghost_split(width, ratio, divisor)
    assert (complex_channels, cheap_channels) == split
    assert complex_channels + cheap_channels == width and complex_channels % divisor == 0


def test_stage_equals_the_written_out_formula():
    torch.manual_seed(0)
    block = partial(RegNetXBlock, group_width=4)
    stage = randomise_batchnorms(GGhostStage(block, 8, 16, num_blocks=4, stride=2, cheap_ratio=0.5,
                                              channel_divisor=3)).eval()
    c, g = stage.complex_channels, stage.cheap_channels
    assert (c, g) == (6, 10) and len(stage.complex_blocks) == 2
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        y = stage(x)
        x0 = stage.first_block(x)                            # (2, 16, 5, 5), full width, strided
        e1 = stage.complex_blocks[0](x0[:, :c])              # thin blocks on the first c channels
        e2 = stage.complex_blocks[1](e1)
        pooled = torch.cat([x0, e1, e2], 1).mean((2, 3), keepdim=True)   # mix: GAP of all intermediates
        mix = _conv_bn_eval(stage.mix[2], torch.relu(_conv_bn_eval(stage.mix[1], pooled)))
        ghost = torch.relu(_conv_bn_eval(stage.cheap, x0[:, c:]) + mix)  # cheap 1x1 op on the rest
        expected = stage.last_block(torch.cat([e2, ghost], 1))
    assert y.shape == (2, 16, 5, 5) and pooled.shape == (2, 16 + 2 * 6, 1, 1)
    assert stage.mix_channels == 16 + 2 * 6
    assert torch.allclose(y, expected, atol=1e-5)
    e, gh, feats = stage.forward_paths(x)
    assert e.shape == (2, 6, 5, 5) and gh.shape == (2, 10, 5, 5) and len(feats) == 3
    assert (gh >= 0).all()


def test_stage_is_generic_over_the_block():
    """Any block(in, out, stride) works; parameters are the blocks' plus mix and cheap op."""
    def block(i, o, s):
        return ConvBnAct(i, o, 3, s)

    n, cin, cout = 5, 4, 12
    stage = GGhostStage(block, cin, cout, num_blocks=n, cheap_ratio=0.25)
    c, g = 9, 3
    assert (stage.complex_channels, stage.cheap_channels) == (c, g)
    conv_bn = lambda i, o, k: i * o * k * k + 2 * o  # noqa: E731
    expected = (conv_bn(cin, cout, 3) + conv_bn(cout, cout, 3) + (n - 2) * conv_bn(c, c, 3)
                + conv_bn(cout + (n - 2) * c, g, 1) + conv_bn(g, g, 1)  # mix
                + conv_bn(g, g, 1))                                      # cheap operation
    assert count_parameters(stage) == expected
    assert stage(torch.randn(2, cin, 7, 7)).shape == (2, cout, 4, 4)
    thin = GGhostStage(block, cin, cout, 3, complex_block=lambda i, o, s: nn.Identity())
    assert all(isinstance(b, nn.Identity) for b in thin.complex_blocks)


def test_regnetx_block():
    blk = randomise_batchnorms(RegNetXBlock(32, 48, stride=2, group_width=16)).eval()
    assert blk.conv2.conv.groups == 3 and blk.conv2.conv.stride == (2, 2)
    assert blk.shortcut.conv.weight.shape == (48, 32, 1, 1) and blk.shortcut.conv.stride == (2, 2)
    x = torch.randn(2, 32, 9, 9)
    assert blk(x).shape == (2, 48, 5, 5)
    keep = randomise_batchnorms(RegNetXBlock(24, 24, group_width=8)).eval()
    assert keep.shortcut is None and keep.conv2.conv.groups == 3
    x = torch.randn(2, 24, 6, 6)
    assert torch.allclose(keep(x), torch.relu(keep.conv3(keep.conv2(keep.conv1(x))) + x))
    assert RegNetXBlock(8, 8, group_width=16).conv2.conv.groups == 1  # group width capped at the width


# ---------------------------------------------------------------- exact sizes

# Official release table (g_ghost_pytorch/readme.md of huawei-noah/Efficient-AI-Backbones, the
# authors' numbers for the IJCV paper's G-Ghost RegNets; the paper's own table could not be read
# here): g_ghost_regnetx_032 10.5M params / 1.8B FLOPs, _040 15.7M / 2.2B, _080 24.6M / 4.2B,
# _160 32.4M / 9.0B. Exact counts equal the official model's (checked once by loading the official
# g_ghost_regnet.py's weights into ours: identical logits for all 12 sizes).
@pytest.mark.parametrize('arch,params,table_m', [
    ('3.2gf', 10_511_000, 10.5), ('4.0gf', 15_726_268, 15.7), ('8.0gf', 24_586_928, 24.6),
    ('16gf', 32_381_704, 32.4), ('200mf', 1_825_440, None)])
def test_parameter_counts(arch, params, table_m):
    n = count_parameters(_classifier(arch))
    assert n == params
    if table_m is not None:
        assert round(n / 1e6, 1) == table_m


def test_macs_at_224():
    # Release table: 1.8B FLOPs (multiply-adds) for G-Ghost RegNetX-3.2GF. mmengine's FlopAnalyzer
    # counts one per multiply-add of convs and the FC, one per element for batch_norm and for the
    # mix branch's adaptive average pooling, nothing for ReLU, additions, slicing, concatenation or
    # the GlobalAveragePooling neck (a plain mean). Measured: 1,820,204,512 (the official model under
    # the same counter: 1,820,253,904, i.e. 49,392 = 1008 x 7 x 7 more for its nn.AdaptiveAvgPool2d
    # head); with every BatchNorm folded into its conv: 1,802,757,600. Both round to 1.8B.
    model = _classifier('3.2gf').eval()
    flops = get_flops(model, (3, 224, 224))['flops']
    assert flops == 1_820_204_512
    model.backbone.switch_to_deploy()
    deployed = get_flops(model, (3, 224, 224))['flops']
    assert deployed == 1_802_757_600
    assert round(flops / 1e9, 1) == round(deployed / 1e9, 1) == 1.8


# ---------------------------------------------------------------- channel bookkeeping

@pytest.mark.parametrize('arch', list(GGhostRegNet.arch_settings))
def test_table_channel_bookkeeping(arch):
    a = GGhostRegNet.arch_settings[arch]
    thin_gw = int(a['group_width'] * 0.75)
    for depth, width, ratio in zip(a['depths'], a['widths'], a['cheap_ratios']):
        assert width % min(width, a['group_width']) == 0
        if ratio > 0:  # official rule: G-Ghost stages are the 2nd/4th with > 2 blocks, and the 3rd
            assert depth > 2
            complex_channels, cheap_channels = g_ghost_split(width, ratio, thin_gw)
            assert complex_channels + cheap_channels == width and complex_channels % thin_gw == 0
    assert a['cheap_ratios'][0] == 0 and a['cheap_ratios'][2] == 0.5
    assert [r > 0 for r in a['cheap_ratios'][1::2]] == [d > 2 for d in a['depths'][1::2]]


def test_built_stages_of_3_2gf():
    net = GGhostRegNet('3.2gf', out_indices=(0, 1, 2, 3))
    plain0, ghost1, ghost2, plain3 = net.stages
    assert isinstance(plain0, nn.Sequential) and isinstance(plain3, nn.Sequential)
    assert (len(plain0), len(plain3)) == (2, 2)
    for stage, depth, width, split in ((ghost1, 6, 192, (72, 120)), (ghost2, 15, 432, (216, 216))):
        assert isinstance(stage, GGhostStage)
        assert 2 + len(stage.complex_blocks) == depth  # first + thin blocks + last = the stage's blocks
        assert (stage.complex_channels, stage.cheap_channels) == split
        assert stage.complex_channels + stage.cheap_channels == width
        assert stage.first_block.conv2.conv.groups == width // 48  # full-width blocks: 48 per group
        assert stage.last_block.conv2.conv.in_channels == width
        assert all(b.conv2.conv.groups == split[0] // 36 for b in stage.complex_blocks)  # thin: 36
        assert stage.mix_channels == width + split[0] * (depth - 2)
        assert stage.cheap.conv.weight.shape == (split[1], split[1], 1, 1)
    assert net.stem.conv.weight.shape == (32, 3, 3, 3) and net.stem.conv.stride == (2, 2)
    assert net.out_channels == net.stage_channels == (96, 192, 432, 1008)


# ---------------------------------------------------------------- detection backbone

def test_shapes_per_out_index():
    net = GGhostRegNet(TINY, out_indices=(0, 1, 2, 3)).eval()
    outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 8, 16, 16), (2, 16, 8, 8), (2, 24, 4, 4), (2, 32, 2, 2)]
    assert net.out_channels == (8, 16, 24, 32)
    part = GGhostRegNet(TINY, out_indices=(2, 0)).eval()
    assert len(part.stages) == 3  # stages after the deepest output are not built
    assert [tuple(o.shape) for o in part(torch.randn(1, 3, 64, 64))] == [(1, 24, 4, 4), (1, 8, 16, 16)]
    assert part.out_channels == (24, 8)


def test_small_image_stem_at_28px():
    net = GGhostRegNet('3.2gf', in_channels=1, stem_stride=1, out_indices=(0, 1, 2, 3)).eval()
    assert net.stem.conv.stride == (1, 1) and net.stem.conv.in_channels == 1
    with torch.no_grad():
        outs = net(torch.randn(2, 1, 28, 28))
    assert [tuple(o.shape[1:]) for o in outs] == [(96, 14, 14), (192, 7, 7), (432, 4, 4), (1008, 2, 2)]


def test_mmdet_style_multiscale_use():
    child = Registry('model', parent=MMENGINE_MODELS, scope='g_ghost_downstream_scope')
    net = child.build(dict(type='tessera_core.GGhostRegNet', arch=TINY, out_indices=(0, 1, 2, 3),
                           frozen_stages=1, norm_eval=True))
    assert isinstance(net, GGhostRegNet) and net.out_channels == (8, 16, 24, 32)
    import mmdet.models.necks as mmdet_necks  # mmdet is in every test environment
    fpn = mmdet_necks.FPN(in_channels=list(net.out_channels), out_channels=16, num_outs=5)
    outs = fpn(net(torch.randn(2, 3, 64, 64)))
    assert [o.shape[-1] for o in outs] == [16, 8, 4, 2, 1] and all(o.shape[1] == 16 for o in outs)


def test_frozen_stages():
    net = GGhostRegNet(TINY, out_indices=(0, 1, 2, 3), frozen_stages=3)
    net.train()
    frozen, trainable = [net.stem, *net.stages[:3]], [net.stages[3]]
    assert not any(p.requires_grad for m in frozen for p in m.parameters())
    assert all(p.requires_grad for m in trainable for p in m.parameters())
    assert all(not b.training for m in frozen for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    assert all(b.training for m in trainable for b in m.modules() if isinstance(b, nn.BatchNorm2d))
    before = net.stages[2].mix[1].bn.running_mean.clone()  # a frozen G-Ghost stage's mix branch
    net(torch.randn(2, 3, 32, 32))
    assert torch.equal(before, net.stages[2].mix[1].bn.running_mean)
    assert not any(p.requires_grad for p in GGhostRegNet(TINY, frozen_stages=4).parameters())


def test_norm_eval_keeps_batchnorm_statistics():
    net = GGhostRegNet(TINY, norm_eval=True)
    net.train()
    assert net.training and not any(m.training for m in net.modules() if isinstance(m, nn.BatchNorm2d))
    before = [m.running_mean.clone() for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    net(torch.randn(2, 3, 32, 32) * 3 + 1)
    after = [m.running_mean for m in net.modules() if isinstance(m, nn.BatchNorm2d)]
    assert all(torch.equal(a, b) for a, b in zip(before, after))


def test_gradients_reach_every_parameter():
    net = GGhostRegNet(TINY, out_indices=(0, 1, 2, 3))
    sum(o.square().mean() for o in net(torch.randn(4, 3, 32, 32))).backward()
    assert all(p.grad is not None for p in net.parameters())
    for stage in net.stages[2:]:  # the cheap operation and the mix are trained too
        assert stage.cheap.conv.weight.grad.abs().sum() > 0
        assert stage.mix[1].conv.weight.grad.abs().sum() > 0
        assert stage.complex_blocks[0].conv1.conv.weight.grad.abs().sum() > 0


def test_switch_to_deploy_keeps_outputs():
    net = randomise_batchnorms(GGhostRegNet(TINY, out_indices=(0, 1, 2, 3))).eval()
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        feats = net(x)
        net.switch_to_deploy().switch_to_deploy()
        feats_d = net(x)
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net.modules())
    for f, fd in zip(feats, feats_d):
        assert (f - fd).abs().max() < 1e-4 * max(1.0, f.abs().max().item())


def test_bad_arguments_list_choices():
    with pytest.raises(ValueError, match=r"'3\.2GF'.*valid: 200mf, 400mf, .*3\.2gf, .*32gf"):
        GGhostRegNet('3.2GF')
    with pytest.raises(ValueError, match='depths, widths, group_width, cheap_ratios'):
        GGhostRegNet(dict(depths=(1, 1, 4, 7), widths=(8, 16, 24, 32)))
    with pytest.raises(ValueError, match='4 entries'):
        GGhostRegNet(dict(TINY, depths=(1, 2, 4)))
    with pytest.raises(ValueError, match='depth >= 3'):
        GGhostRegNet(dict(TINY, depths=(1, 2, 2, 3)))
    with pytest.raises(ValueError, match=r'cheap_ratio.*\(0, 1\).*1\.5'):
        GGhostRegNet(TINY, cheap_ratio=1.5)
    with pytest.raises(ValueError, match=r'stem_stride 4.*valid: 1 .*2'):
        GGhostRegNet(TINY, stem_stride=4)
    with pytest.raises(ValueError, match=r'\[0, 3\].*\(0, 4\)'):
        GGhostRegNet(TINY, out_indices=(0, 4))
    with pytest.raises(ValueError, match=r'frozen_stages.*\[-1, 4\].*5'):
        GGhostRegNet(TINY, frozen_stages=5)
    with pytest.raises(ValueError, match='num_blocks >= 3'):
        GGhostStage(partial(RegNetXBlock, group_width=4), 8, 16, num_blocks=2)
    with pytest.raises(ValueError, match=r'cannot split 8 channels'):
        g_ghost_split(8, 0.5, 6)
    with pytest.raises(ValueError, match=r'cheap_ratio must lie in \(0, 1\), got 0'):
        g_ghost_split(8, 0, 1)


def test_cheap_ratio_override():
    net = GGhostRegNet(TINY, cheap_ratio=0.25, out_indices=(0, 1, 2, 3))
    assert isinstance(net.stages[1], nn.Sequential)  # plain stages stay plain
    assert (net.stages[2].complex_channels, net.stages[2].cheap_channels) == (18, 6)  # int(24*.75/6)*6


# ---------------------------------------------------------------- C-GhostNet, config

def test_c_ghostnet_is_core_ghostnet():
    # The IJCV paper's C-GhostNet is the CVPR GhostNet renamed (same table, same official code):
    # 5.2M parameters for 1.0x with the 1000-class head.
    assert CGhostNet is GhostNet and MODELS.get('CGhostNet') is GhostNet
    net = MODELS.build(dict(type='CGhostNet', widen_factor=1.0, out_indices=(4,)))
    assert type(net) is GhostNet and net.out_channels == (960,)
    model = ImageClassifier(
        backbone=dict(type='CGhostNet', widen_factor=1.0), neck=dict(type='GlobalAveragePooling'),
        head=dict(type='ConvClsHead', num_classes=1000, in_channels=960, mid_channels=1280, dropout=0.2))
    assert count_parameters(model) == 5_182_508 and round(count_parameters(model) / 1e6, 2) == 5.18


def test_config_model_one_train_step():
    cfg = Config.fromfile(str(CONFIG))
    assert cfg.default_scope == 'tessera_core' and cfg.model.backbone.stem_stride == 1
    model = MODELS.build(cfg.model)
    assert count_parameters(model) == 9_511_514
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    data = dict(inputs=[torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8) for _ in range(4)],
                data_samples=[ClsDataSample().set_gt_label(i) for i in range(4)])
    before = model.backbone.stages[1].cheap.conv.weight.clone()
    log = model.train_step(data, optim)
    assert torch.isfinite(log['loss']) and set(log) >= {'loss', 'accuracy_top-1'}
    assert not torch.equal(before, model.backbone.stages[1].cheap.conv.weight)
    model.eval()
    with torch.no_grad():
        preds = model.test_step(data)
    assert len(preds) == 4 and preds[0].pred_score.shape == (10,)


# ---------------------------------------------------------------- the measured Fashion-MNIST pair (200MF)

CONFIG_DIR = CONFIG.parent


@pytest.mark.parametrize('name,params,macs,folded_macs,kinds', [
    ('g-ghost-regnetx-200mf', 1_459_554, 9_854_976, 9_586_448, ('Sequential', 'Sequential', 'GGhostStage', 'GGhostStage')),
    ('regnetx-200mf-plain', 2_318_906, 15_159_520, 14_858_208, ('Sequential',) * 4)])
def test_fashion_mnist_200mf_pair(name, params, macs, folded_macs, kinds):
    """The G-Ghost config and its plain twin: same table (depths, widths, group width, stem, head), G-Ghost
    stages only where the official 200MF table puts them, exact sizes at 28 x 28."""
    cfg = Config.fromfile(str(CONFIG_DIR / f'{name}_fashion-mnist-6k.py'))
    assert cfg.train_dataloader.dataset.indices == 6000 and cfg.train_cfg.max_epochs == 2
    model = MODELS.build(cfg.model)
    backbone = model.backbone
    assert backbone.arch['depths'] == (1, 1, 4, 7) and backbone.arch['widths'] == (24, 56, 152, 368)
    assert backbone.arch['group_width'] == 8 and backbone.stem.conv.stride == (1, 1)
    assert tuple(type(s).__name__ for s in backbone.stages) == kinds
    for stage, depth in zip(backbone.stages, (1, 1, 4, 7)):
        blocks = [m for m in stage.modules() if isinstance(m, RegNetXBlock)]
        # plain: `depth` full-width blocks; G-Ghost: first + (depth - 2) thin + last
        assert len(blocks) == depth
    assert count_parameters(model) == params
    assert get_flops(model, (1, 28, 28))['flops'] == macs
    backbone.switch_to_deploy()
    assert get_flops(model, (1, 28, 28))['flops'] == folded_macs
