"""tessera_core.ResNet's mmdet-style options: strides, dilations, num_stages, deep_stem, stem_channels,
conv_cfg / stem_conv_cfg, zero_init_residual; checked against mmdet 3.x's ResNet where it has the option."""
import hashlib

import mmdet.models.backbones.resnet as mmdet_resnet  # mmdet is in every test environment
import pytest
import torch
from mmengine.registry import MODELS as ROOT_MODELS
from torch import nn

from tessera_core.analysis import count_parameters
from tessera_core.models import ResNet
from tessera_core.models.backbones.resnet import BasicBlock, Bottleneck


@ROOT_MODELS.register_module('ResNetOptionsTestConv', force=True)
class MarkedConv(nn.Conv2d):
    """A plain conv of its own type, to count where ``conv_cfg`` reaches."""


def _signature(net):
    """sha1 of the state dict's (key, shape) list, in order."""
    text = ';'.join(f'{k}:{tuple(v.shape)}' for k, v in net.state_dict().items())
    return hashlib.sha1(text.encode()).hexdigest()[:16]


# Computed with the ResNet of before these options (commit be70940): the defaults build the same
# state-dict keys, in the same order, with the same shapes, so configs and checkpoints still load.
@pytest.mark.parametrize('kwargs,signature', [
    (dict(depth=18), 'e3b57b24f93fa615'),
    (dict(depth=50), 'e13b489e4d20cbaa'),
    (dict(depth=18, in_channels=1, stem='small', base_channels=16), '3fe95908c5f810d4'),
    (dict(depth=101, stem='small', stem_stride=2, base_channels=8), '1d53b6698f63e028'),
])
def test_default_options_keep_the_state_dict_of_before(kwargs, signature):
    assert _signature(ResNet(**kwargs)) == signature


def _copy_weights_by_order(src, dst):
    """Load ``src``'s state dict into ``dst`` entry by entry (same order and shapes required)."""
    src_sd, dst_sd = src.state_dict(), dst.state_dict()
    assert [tuple(v.shape) for v in src_sd.values()] == [tuple(v.shape) for v in dst_sd.values()]
    dst.load_state_dict(dict(zip(dst_sd, src_sd.values())))


def _conv_geometry(net):
    return [(m.in_channels, m.out_channels, m.kernel_size, m.stride, m.padding, m.dilation)
            for m in net.modules() if isinstance(m, nn.Conv2d)]


MMDET_SETTINGS = [
    dict(),
    dict(strides=(1, 2, 2, 1)),                                    # re-ID last stride 1
    dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)),            # output stride 8 (DeepLab-style)
    dict(strides=(1, 2, 2, 1), dilations=(1, 1, 1, 2)),            # output stride 16
    dict(deep_stem=True),
    dict(deep_stem=True, stem_channels=32, strides=(2, 1, 2, 1), dilations=(1, 2, 1, 3)),
    dict(num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(0, 1, 2)),
]


@pytest.mark.parametrize('depth', [18, 50])
@pytest.mark.parametrize('options', MMDET_SETTINGS)
def test_matches_mmdet_resnet(depth, options):
    """Same parameter count, same conv geometry (channels, kernel, stride, padding, dilation) in the
    same order, and with mmdet's weights copied in, the same outputs: the options mean what they
    mean in mmdet."""
    options = dict(options)
    out_indices = options.pop('out_indices', (0, 1, 2, 3))
    ours = ResNet(depth=depth, base_channels=8, out_indices=out_indices, **options).eval()
    ref = mmdet_resnet.ResNet(depth=depth, base_channels=8, out_indices=out_indices, **options)
    ref.eval()  # mmdet's train() returns None
    assert count_parameters(ours) == count_parameters(ref)
    assert _conv_geometry(ours) == _conv_geometry(ref)
    torch.manual_seed(0)
    for p in ref.parameters():
        nn.init.normal_(p, std=0.2)
    _copy_weights_by_order(ref, ours)
    x = torch.randn(1, 3, 48, 48)
    with torch.no_grad():
        ours_out, ref_out = ours(x), ref(x)
    assert len(ours_out) == len(ref_out)
    for a, b in zip(ours_out, ref_out):
        assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)


@pytest.mark.parametrize('stem,kwargs,size,sizes', [
    ('imagenet', dict(), 64, (16, 8, 4, 2)),
    ('imagenet', dict(strides=(1, 2, 2, 1)), 64, (16, 8, 4, 4)),
    ('imagenet', dict(strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)), 64, (16, 8, 8, 8)),
    ('imagenet', dict(strides=(2, 2, 2, 2)), 64, (8, 4, 2, 1)),
    ('imagenet', dict(deep_stem=True), 64, (16, 8, 4, 2)),
    ('small', dict(strides=(1, 2, 2, 1)), 28, (28, 14, 7, 7)),
    ('small', dict(stem_stride=2, strides=(1, 1, 2, 2), dilations=(1, 2, 1, 1)), 28, (14, 14, 7, 4)),
    ('small', dict(deep_stem=True, stem_stride=2), 28, (14, 7, 4, 2)),
])
@pytest.mark.parametrize('depth', [18, 50])
def test_strides_dilations_and_stem_set_output_sizes(depth, stem, kwargs, size, sizes):
    net = ResNet(depth=depth, in_channels=1, stem=stem, base_channels=4, out_indices=(0, 1, 2, 3), **kwargs)
    outs = net(torch.zeros(2, 1, size, size))
    assert tuple(o.shape[-1] for o in outs) == sizes
    assert tuple(o.shape[1] for o in outs) == net.stage_channels


def test_last_stride_one_is_the_reid_setting():
    # Luo et al.'s ResNet-50 at 256 x 128: 8 x 4 maps become 16 x 8, parameters unchanged
    plain = ResNet(depth=50)
    reid = ResNet(depth=50, strides=(1, 2, 2, 1))
    x = torch.zeros(1, 3, 256, 128)
    assert plain(x)[-1].shape == (1, 2048, 8, 4) and reid(x)[-1].shape == (1, 2048, 16, 8)
    assert [(k, v.shape) for k, v in plain.state_dict().items()] == \
        [(k, v.shape) for k, v in reid.state_dict().items()]
    assert reid.layer4[0].conv2.stride == (1, 1) and reid.layer4[0].downsample[0].stride == (1, 1)
    assert reid.layer3[0].conv2.stride == (2, 2)


@pytest.mark.parametrize('depth', [18, 50])
def test_dilation_sits_on_the_3x3_convs_of_every_block_of_its_stage(depth):
    net = ResNet(depth=depth, strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4))
    for name, dilation in zip(net.res_layers, (1, 1, 2, 4)):
        for block in getattr(net, name):
            if isinstance(block, Bottleneck):
                dilated, plain = [block.conv2], [block.conv1, block.conv3]
            else:  # mmdet's BasicBlock dilates its first 3x3 conv only
                dilated, plain = [block.conv1], [block.conv2]
            for conv in dilated:
                assert conv.dilation == (dilation, dilation) and conv.padding == (dilation, dilation)
            for conv in plain + ([block.downsample[0]] if block.downsample is not None else []):
                assert conv.dilation == (1, 1)
    assert all(m.dilation == (1, 1) for m in net.stem.modules() if isinstance(m, nn.Conv2d))


def test_deep_stem_structure_and_parameter_count():
    net = ResNet(depth=18, deep_stem=True)
    convs = [m for m in net.stem if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size, c.stride) for c in convs] == [
        (3, 32, (3, 3), (2, 2)), (32, 32, (3, 3), (1, 1)), (32, 64, (3, 3), (1, 1))]
    assert [type(m) for m in net.stem] == [nn.Conv2d, nn.BatchNorm2d, nn.ReLU] * 3 + [nn.MaxPool2d]
    # torchvision's ResNet-18 backbone (11,176,512) - 7x7 conv and its BN (9,408 + 128)
    # + three 3x3 convs and their BNs (864 + 9,216 + 18,432 + 2 x (32 + 32 + 64))
    assert count_parameters(net) == 11176512 - 9408 - 128 + 864 + 9216 + 18432 + 256 == 11195744
    assert {k for k in net.state_dict() if k.startswith('stem.')} == {
        f'stem.{i}.{p}' for i in (0, 3, 6) for p in ('weight',)} | {
        f'stem.{i}.{p}' for i in (1, 4, 7) for p in ('weight', 'bias', 'running_mean', 'running_var',
                                                     'num_batches_tracked')}
    wide = ResNet(depth=50, deep_stem=True, stem_channels=128)  # the ResNet-D/ResNeSt stem width
    assert wide.stem[6].out_channels == 128 and wide.layer1[0].conv1.in_channels == 128
    assert wide.layer1[0].downsample[0].in_channels == 128


def test_stem_channels_without_deep_stem():
    net = ResNet(depth=18, stem_channels=32)
    assert net.stem[0].out_channels == 32 and net.layer1[0].conv1.in_channels == 32
    assert net.layer1[0].downsample is not None  # 32 -> 64 needs a projection shortcut
    assert net(torch.zeros(2, 3, 32, 32))[-1].shape == (2, 512, 1, 1)


@pytest.mark.parametrize('depth,last', [(18, 'bn2'), (50, 'bn3')])
def test_zero_init_residual_zeros_exactly_the_last_norm_of_each_block(depth, last):
    net = ResNet(depth=depth, base_channels=8, zero_init_residual=True)
    net.init_weights()
    zeroed = {n for n, m in net.named_modules() if isinstance(m, nn.BatchNorm2d) and not m.weight.any()}
    blocks = [f'{s}.{i}' for s in net.res_layers for i in range(len(getattr(net, s)))]
    assert zeroed == {f'{b}.{last}' for b in blocks}
    for n, m in net.named_modules():
        if isinstance(m, nn.BatchNorm2d):
            assert torch.equal(m.bias, torch.zeros_like(m.bias))
            if n not in zeroed:
                assert torch.equal(m.weight, torch.ones_like(m.weight))
    # every block starts as relu(shortcut(x))
    x = torch.randn(2, net.layer1[0].conv1.in_channels, 8, 8)
    block = net.layer1[0]
    with torch.no_grad():
        assert torch.equal(block.eval()(x), torch.relu(block.downsample(x) if block.downsample else x))
    # off by default, and a second init_weights (e.g. after training) does not zero again
    plain = ResNet(depth=depth, base_channels=8)
    plain.init_weights()
    assert all(m.weight.all() for m in plain.modules() if isinstance(m, nn.BatchNorm2d))
    nn.init.ones_(getattr(net.layer1[0], last).weight)
    net.init_weights()
    assert getattr(net.layer1[0], last).weight.all()


@pytest.mark.parametrize('depth,deep_stem,stem_convs,block_convs', [
    (18, False, 1, 16 + 3), (18, True, 3, 16 + 3), (50, False, 1, 48 + 4), (50, True, 3, 48 + 4)])
def test_conv_cfg_reaches_every_conv_and_stem_conv_cfg_the_stem_only(depth, deep_stem, stem_convs, block_convs):
    marked = dict(type='ResNetOptionsTestConv')
    net = ResNet(depth=depth, base_channels=8, deep_stem=deep_stem, conv_cfg=marked)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    assert len(convs) == stem_convs + block_convs and all(type(m) is MarkedConv for m in convs)
    # a full-precision stem under a custom conv_cfg (what LSQ / N2UQ keep full precision)
    net = ResNet(depth=depth, base_channels=8, deep_stem=deep_stem, conv_cfg=marked,
                 stem_conv_cfg=dict(type='Conv2d'))
    assert [type(m) for m in net.stem if isinstance(m, nn.Conv2d)] == [nn.Conv2d] * stem_convs
    assert sum(type(m) is MarkedConv for m in net.modules()) == block_convs
    # and the other way round: a custom stem only
    net = ResNet(depth=depth, base_channels=8, deep_stem=deep_stem, stem_conv_cfg=marked)
    assert sum(type(m) is MarkedConv for m in net.modules()) == stem_convs
    assert all(type(m) is MarkedConv for m in net.stem if isinstance(m, nn.Conv2d))


def test_num_stages_builds_fewer_stages():
    net = ResNet(depth=50, num_stages=3, strides=(1, 2, 2), dilations=(1, 1, 1), out_indices=(1, 2),
                 frozen_stages=3)
    assert net.res_layers == ['layer1', 'layer2', 'layer3'] and not hasattr(net, 'layer4')
    assert net.stage_channels == (256, 512, 1024) and net.out_channels == (512, 1024)
    assert [o.shape[1] for o in net(torch.zeros(1, 3, 32, 32))] == [512, 1024]
    assert not any(p.requires_grad for p in net.parameters())


def test_options_keep_frozen_stages_and_norm_eval():
    net = ResNet(depth=18, deep_stem=True, strides=(1, 2, 2, 1), frozen_stages=1, norm_eval=True)
    net.train()
    assert not any(p.requires_grad for m in (net.stem, net.layer1) for p in m.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())
    assert all(not m.training for m in net.modules() if isinstance(m, nn.BatchNorm2d))


@pytest.mark.parametrize('kwargs,match', [
    (dict(strides=(1, 2, 2)), r'strides must give one positive int per stage \(num_stages=4\), got \(1, 2, 2\)'),
    (dict(strides=(1, 2, 2, 0)), r'strides must give one positive int per stage'),
    (dict(dilations=(1, 1, 2)), r'dilations must give one positive int per stage \(num_stages=4\)'),
    (dict(dilations=(1, 1, 2, 1.5)), r'dilations must give one positive int per stage'),
    (dict(num_stages=3), r'strides must give one positive int per stage \(num_stages=3\)'),
    (dict(num_stages=5), r'invalid num_stages 5; valid: 1, 2, 3, 4'),
    (dict(num_stages=2, strides=(1, 2), dilations=(1, 1)), r'out_indices must lie in \[0, 1\]'),
    (dict(frozen_stages=5), r'invalid frozen_stages 5; valid: -1 \(none\), 0 \(stem\) .. 4'),
    (dict(deep_stem=True, stem_channels=1), r'invalid stem_channels 1; valid: None \(= base_channels\)'),
    (dict(stem_channels=0), r'invalid stem_channels 0'),
])
def test_bad_options_list_the_valid_choices(kwargs, match):
    with pytest.raises(ValueError, match=match):
        ResNet(depth=18, **kwargs)

