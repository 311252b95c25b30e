"""DCD (arXiv:2103.08756): the DCD conv layer's closed form, per-sample kernels, its two exact
evaluation forms, config building through mmcv, and the DCD ResNet / MobileNetV2 backbones
(sizes against the official code and the paper, detection-backbone behaviour, one train step of
the Fashion-MNIST config)."""
import os

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer
from mmengine.config import Config
from mmengine.optim import OptimWrapper
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import DefaultScope, Registry
from torch import nn

import tessera_core
from tessera_core.analysis import count_parameters, get_flops
from tessera_core.models import ImageClassifier
from tessera_core.models.backbones import DCDMobileNetV2, DCDResNet
from tessera_core.models.layers import DCDConv2d
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample


def _identity_bns(layer):
    """Make both latent BatchNorms exact identities in eval mode (a = 1, c = 0)."""
    for bn in (layer.bn1, layer.bn2):
        bn.running_mean.zero_()
        bn.running_var.fill_(1 - bn.eps)
        bn.weight.data.fill_(1)
        bn.bias.data.zero_()
    return layer


def _random_bns(module, seed=1):
    g = torch.Generator().manual_seed(seed)
    for bn in module.modules():
        if isinstance(bn, nn.modules.batchnorm._BatchNorm):
            n = bn.num_features
            bn.running_mean.copy_(torch.randn(n, generator=g) * 0.2)
            bn.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            bn.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            bn.bias.data.copy_(torch.randn(n, generator=g) * 0.2)
    return module


def _centre(kernel_size):
    return kernel_size[0] // 2, kernel_size[1] // 2


# ---------------------------------------------------------------- the layer: closed forms

def test_hand_built_kernel_is_lambda_w0_plus_p_phi_q():
    """W(x) = diag(Lambda) W0 + P (I + Phi) Q^T at the centre tap, with identity latent BNs."""
    layer = _identity_bns(DCDConv2d(3, 4, 3, 1, 1, latent_dim=2)).eval()
    lam = torch.tensor([[0.5, 1.5, 1.0, 2.0], [1.0, 0.0, 0.25, 1.0]])
    phi = torch.tensor([[[0.3, -0.2], [0.1, 0.4]], [[-1.0, 0.5], [0.0, 2.0]]])
    layer.attention = lambda x: (lam, phi)  # hand-set dynamic coefficients for two samples
    w0, p, q = layer.conv.weight, layer.p.weight[:, :, 0, 0], layer.q.weight[:, :, 0, 0]
    x = torch.randn(2, 3, 6, 5)
    for i in range(2):
        expected_w = lam[i][:, None, None, None] * w0
        expected_w[:, :, 1, 1] += p @ (torch.eye(2) + phi[i]) @ q
        expected = F.conv2d(x[i:i + 1], expected_w, padding=1)
        weight, bias = layer.dynamic_weight(x)
        assert torch.allclose(weight[i], expected_w, atol=1e-6) and torch.allclose(bias, torch.zeros(2, 4))
        for out in (layer(x), layer.forward_decomposed(x), layer.forward_eval(x, 'assembled'),
                    layer.forward_eval(x, 'decomposed')):
            assert torch.allclose(out[i:i + 1], expected, atol=1e-5)


def test_kernel_with_general_batchnorms():
    """Eval BNs z -> a1 z + c1, v -> a2 v + c2: W = Lambda W0 + P (I + diag(a2) Phi) diag(a1) Q^T,
    b = P ((I + diag(a2) Phi) c1 + c2)."""
    layer = _random_bns(DCDConv2d(5, 6, 3, 2, 1, latent_dim=3)).eval()
    x = torch.randn(2, 5, 7, 7)
    lam, phi = layer.attention(x)
    a1 = layer.bn1.weight / torch.sqrt(layer.bn1.running_var + layer.bn1.eps)
    c1 = layer.bn1.bias - layer.bn1.running_mean * a1
    a2 = layer.bn2.weight / torch.sqrt(layer.bn2.running_var + layer.bn2.eps)
    c2 = layer.bn2.bias - layer.bn2.running_mean * a2
    p, q = layer.p.weight[:, :, 0, 0], layer.q.weight[:, :, 0, 0]
    weight, bias = layer.dynamic_weight(x)
    for i in range(2):
        fusion = torch.eye(3) + torch.diag(a2) @ phi[i]
        expected_w = lam[i][:, None, None, None] * layer.conv.weight
        expected_w[:, :, 1, 1] += p @ fusion @ torch.diag(a1) @ q
        assert torch.allclose(weight[i], expected_w, atol=1e-5)
        assert torch.allclose(bias[i], p @ (fusion @ c1 + c2), atol=1e-5)
        ref = F.conv2d(x[i:i + 1], weight[i], bias[i], stride=2, padding=1)
        assert torch.allclose(layer.forward_decomposed(x)[i:i + 1], ref, atol=1e-5)  # official form, BN in eval


def test_dynamic_branch_closed_form():
    layer = DCDConv2d(3, 4, 3, 1, 1, latent_dim=2, pool_size=2)
    x = torch.randn(2, 3, 6, 6)
    # 2 x 2 average pooling, flattened channel-major (C, 2, 2) as the official view(b, c * 4)
    pooled = x.reshape(2, 3, 2, 3, 2, 3).mean(dim=(3, 5)).reshape(2, 12)
    y = pooled @ layer.fc[0].weight.T
    y = y * torch.clamp(y @ layer.fc[1].fc[0].weight.T + 3, 0, 6) / 3  # self-gate, hard sigmoid x2
    lam, phi = layer.attention(x)
    assert torch.allclose(lam, torch.clamp(y @ layer.fc_scale.weight.T + 3, 0, 6) / 3, atol=1e-6)
    assert torch.allclose(phi, (y @ layer.fc_phi.weight.T).reshape(2, 2, 2), atol=1e-6)
    assert lam.shape == (2, 4) and ((0 <= lam) & (lam <= 2)).all()


def test_zero_fusion_and_unit_attention_give_a_static_conv():
    layer = DCDConv2d(4, 6, 3, 1, 1)
    nn.init.zeros_(layer.fc_phi.weight)  # Phi = 0
    nn.init.zeros_(layer.fc_scale.weight)  # Lambda = relu6(0 + 3) / 3 = 1
    x = torch.randn(3, 4, 8, 8)
    lam, phi = layer.attention(x)
    assert torch.equal(lam, torch.ones(3, 6)) and torch.equal(phi, torch.zeros(3, 2, 2))
    _identity_bns(layer).eval()
    weight, bias = layer.dynamic_weight(x)
    static = layer.conv.weight.clone()
    static[:, :, 1, 1] += layer.p.weight[:, :, 0, 0] @ layer.q.weight[:, :, 0, 0]  # W0 + P Q^T
    assert all(torch.allclose(w, static, atol=1e-6) for w in weight)  # the same kernel for every sample
    assert torch.allclose(layer(x), F.conv2d(x, static, padding=1), atol=1e-5)
    # and without the low-rank path it is exactly the static conv W0, in training too
    nn.init.zeros_(layer.p.weight)
    for mode in (False, True):
        layer.train(mode)
        assert torch.allclose(layer(x), F.conv2d(x, layer.conv.weight, padding=1), atol=1e-6)


# ---------------------------------------------------------------- per-sample kernels, strides, shapes

@pytest.mark.parametrize('k,stride,padding,dilation,size', [
    (3, 1, 1, 1, (8, 8)), (3, 2, 1, 1, (7, 9)), (1, 1, 0, 1, (5, 5)), (1, 2, 0, 1, (7, 6)),
    (3, 1, 2, 2, (9, 9)), ((1, 3), 1, (0, 1), 1, (6, 6))])
def test_per_sample_kernels_match_a_per_sample_reference_conv(k, stride, padding, dilation, size):
    layer = _random_bns(DCDConv2d(6, 10, k, stride, padding, dilation, pool_size=2)).eval()
    nn.init.normal_(layer.fc_phi.weight, std=0.5)  # make the dynamic parts clearly input dependent
    nn.init.normal_(layer.fc_scale.weight, std=0.5)
    x = torch.randn(4, 6, *size)
    x[1] *= 3
    weight, bias = layer.dynamic_weight(x)
    assert weight.shape == (4, 10, 6, *layer.kernel_size)
    assert min((weight[i] - weight[j]).abs().max() for i in range(4) for j in range(i)) > 1e-2
    ref = torch.cat([F.conv2d(x[i:i + 1], weight[i], bias[i], stride, padding, dilation) for i in range(4)])
    expected_shape = F.conv2d(x, layer.conv.weight, None, stride, padding, dilation).shape
    assert ref.shape == expected_shape
    for out in (layer(x), layer.forward_eval(x, 'assembled'), layer.forward_eval(x, 'decomposed'),
                layer.forward_decomposed(x)):
        assert out.shape == expected_shape and torch.allclose(out, ref, atol=1e-4)
    # in eval mode a sample's output does not depend on the rest of the batch
    assert torch.allclose(layer(x[2:3]), ref[2:3], atol=1e-4)


def test_eval_picks_the_cheaper_exact_form():
    big = DCDConv2d(64, 64, 3, 1, 1)  # L = 8: assembling costs 64*8*72 = 36,864 MACs per sample
    assert big.extra_macs(56, 56) == dict(decomposed=(64 * 8 + 64 + 8 * 64) * 56 * 56, assembled=36_864)
    assert big.extra_macs(2, 2)['decomposed'] < big.extra_macs(2, 2)['assembled']  # tiny maps: decomposed
    assert big.output_size(7, 8) == (7, 8) and DCDConv2d(4, 4, 3, 2, 1).output_size(7, 8) == (4, 4)
    x = torch.randn(2, 64, 3, 3)
    big.eval()
    calls = []
    big.dynamic_weight = lambda inp: calls.append(1) or DCDConv2d.dynamic_weight(big, inp)
    big(x)  # 3 x 3 maps: decomposed, no kernel assembled
    big(torch.randn(2, 64, 20, 20))
    assert calls == [1]
    big.eval_form = 'decomposed'
    big(torch.randn(2, 64, 20, 20))
    assert calls == [1]


def test_gradients_reach_every_parameter():
    layer = DCDConv2d(8, 12, 3, 2, 1, pool_size=2, bias=True)
    out = layer(torch.randn(4, 8, 9, 9))
    assert layer.training and out.shape == (4, 12, 5, 5)
    out.square().mean().backward()
    for name, p in layer.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_fold_bn():
    layer = _random_bns(DCDConv2d(6, 8, 3, 1, 1)).eval()
    bn = _random_bns(nn.BatchNorm2d(8), seed=2).eval()
    x = torch.randn(2, 6, 5, 5)
    with torch.no_grad():
        expected = bn(layer(x))
        layer.fold_bn(bn)
        assert torch.allclose(layer(x), expected, atol=1e-5)
    with pytest.raises(ValueError, match='8 features'):
        layer.fold_bn(nn.BatchNorm2d(5))


# ---------------------------------------------------------------- latent size rules of the official code

@pytest.mark.parametrize('c_in,c_out,k,kwargs,latent,squeeze', [
    # ResNet-50 conv_dy: L = floor(sqrt(C_in)), squeeze = C_in // 16
    (64, 64, 3, dict(), 8, 4), (256, 64, 1, dict(), 16, 16), (2048, 512, 1, dict(), 45, 128),
    # ResNet-18 conv_basic_dy: 2 x 2 pooling, L = floor(sqrt(4 C_in)), squeeze = 4 C_in // 16
    (64, 128, 3, dict(pool_size=2), 16, 16), (512, 512, 3, dict(pool_size=2), 45, 128),
    # MobileNetV2 DYModule (fc_squeeze 16 and 8)
    (24, 144, 1, dict(latent_dim='halving', pool_size='auto', squeeze_ratio=16), 12, 9),
    (8, 48, 1, dict(latent_dim='halving', pool_size='auto', squeeze_ratio=16), 4, 4),
    (16, 96, 1, dict(latent_dim='halving', pool_size='auto', squeeze_ratio=8), 8, 8),
    (960, 160, 1, dict(latent_dim='halving', pool_size='auto', squeeze_ratio=8), 40, 200),
    (4, 6, 3, dict(latent_dim=3), 3, 4)])
def test_latent_and_squeeze_sizes_match_the_official_code(c_in, c_out, k, kwargs, latent, squeeze):
    # expected values: the official conv_dy / conv_basic_dy / DYModule built with the same sizes
    layer = DCDConv2d(c_in, c_out, k, padding=k // 2, **kwargs)
    assert (layer.latent_dim, layer.squeeze) == (latent, squeeze)
    assert layer.fc_phi.weight.shape == (latent * latent, squeeze)
    assert layer.q.weight.shape == (latent, c_in, 1, 1) and layer.p.weight.shape == (c_out, latent, 1, 1)


# ---------------------------------------------------------------- config building through mmcv

def test_build_conv_layer_finds_dcd_from_any_scope():
    conv = build_conv_layer(dict(type='DCD', pool_size=2), 16, 32, 3, 2, 1, bias=False)
    assert isinstance(conv, DCDConv2d) and conv.stride == (2, 2) and conv.bias is None
    assert conv(torch.randn(2, 16, 9, 9)).shape == (2, 32, 5, 5)
    # a downstream scope (as mmdet's) resolves it through mmengine's root registry
    Registry('model', parent=MMENGINE_MODELS, scope='dcd_downstream_scope')
    with DefaultScope.overwrite_default_scope('dcd_downstream_scope'):
        assert isinstance(build_conv_layer(dict(type='DCD'), 8, 8, 1, bias=False), DCDConv2d)


def test_bad_arguments_raise_with_choices():
    with pytest.raises(ValueError, match="invalid latent_dim 'bogus'.*'sqrt', 'halving'"):
        DCDConv2d(8, 8, 3, padding=1, latent_dim='bogus')
    with pytest.raises(ValueError, match='odd kernel_size'):
        DCDConv2d(8, 8, 2)
    with pytest.raises(ValueError, match=r'"same" padding .*\(1, 1\).*\(0, 0\)'):
        DCDConv2d(8, 8, 3, padding=0)
    with pytest.raises(ValueError, match='groups=1 only.*groups=8'):
        DCDConv2d(8, 8, 3, padding=1, groups=8)
    with pytest.raises(ValueError, match="pool_size must be a positive int or 'auto', got 0"):
        DCDConv2d(8, 8, 1, pool_size=0)
    with pytest.raises(ValueError, match='latent_dim must be positive'):
        DCDConv2d(8, 8, 1, latent_dim=0)
    layer = DCDConv2d(8, 8, 1)
    with pytest.raises(ValueError, match=r'\(N, 8, H, W\), got \(2, 3, 5, 5\)'):
        layer(torch.randn(2, 3, 5, 5))
    with pytest.raises(ValueError, match=r'got \(8, 5, 5\)'):
        layer(torch.randn(8, 5, 5))
    with pytest.raises(RuntimeError, match='eval mode'):
        layer.dynamic_weight(torch.randn(2, 8, 5, 5))
    with pytest.raises(ValueError, match="invalid eval_form 'fast'; valid: None, 'assembled', 'decomposed'"):
        DCDConv2d(8, 8, 1, eval_form='fast')
    with pytest.raises(ValueError, match="invalid form 'grouped'"):
        layer.eval().forward_eval(torch.randn(2, 8, 5, 5), 'grouped')


# ---------------------------------------------------------------- DCD ResNet

def _classifier(backbone, in_channels, num_classes=1000):
    return ImageClassifier(
        backbone=backbone, neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=in_channels),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]))


@pytest.mark.parametrize('depth,backbone_params,with_head', [(18, 14_059_644, 14_572_644),
                                                            (50, 27_557_064, 29_606_064)])
def test_dcd_resnet_parameter_counts(depth, backbone_params, with_head):
    # The official resnet18_dcd() / resnet50_dcd() (liyunsheng13/dcd, instantiated for this check)
    # have 14,703,332 / 29,835,056 parameters with their dynamic classifier DYCls (643,688 /
    # 2,277,992 of them); without it 14,059,644 / 27,557,064, exactly our backbones. Here the head
    # is a static linear layer (+513,000 / +2,049,000), as the ResNet baseline's. The static
    # ResNet-18/50 backbones have 11,176,512 / 23,508,032: DCD adds 2.9M / 4.0M (+26% / +17%).
    assert count_parameters(DCDResNet(depth=depth)) == backbone_params
    assert count_parameters(_classifier(dict(type='DCDResNet', depth=depth), 512 * (1 if depth < 50 else 4))) \
        == with_head


def test_dcd_resnet18_macs_at_224():
    # mmengine's counter (one per multiply-add: convs, linear layers, BatchNorm elements, adaptive
    # pooling, matrix products) on the eval forward: 1,841,412,827 against 1,819,040,768 for the
    # static ResNet-18 with the same head. The +22.4M (+1.2 %) are the cheaper exact form of each
    # DCD conv (18.1M: 1x1 projections where maps are small, kernel assembly where they are large),
    # the dynamic branches' linear layers (2.6M) and their pooling (1.7M): like the paper, DCD adds
    # a small fraction of the MAdds of ResNet-18 while adding 26 % parameters.
    model = _classifier(dict(type='DCDResNet', depth=18), 512).eval()
    assert get_flops(model, (3, 224, 224))['flops'] == 1_841_412_827


@pytest.mark.parametrize('depth,pool,kinds', [(18, 2, ('conv1', 'conv2')), (50, 1, ('conv1', 'conv2', 'conv3'))])
def test_dcd_resnet_makes_exactly_the_block_convs_dynamic(depth, pool, kinds):
    net = DCDResNet(depth=depth)
    assert type(net.stem[0]) is nn.Conv2d  # the stem stays static, as in the official code
    for name in net.res_layers:
        for block in getattr(net, name):
            for kind in kinds:
                conv = getattr(block, kind)
                assert isinstance(conv, DCDConv2d) and conv.pool_size == pool
            if block.downsample is not None:
                assert type(block.downsample[0]) is nn.Conv2d  # projection shortcuts stay static
    strided = net.layer2[0].conv1 if depth == 18 else net.layer2[0].conv2  # torchvision's stride placement
    assert strided.stride == (2, 2) and strided.kernel_size == (3, 3) and strided.q.stride == (2, 2)
    assert net.layer1[0].conv1.latent_dim == (16 if depth == 18 else 8)


def test_dcd_resnet_detection_backbone():
    net = DCDResNet(depth=18, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True)
    net.train()
    outs = net(torch.randn(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4), (2, 512, 2, 2)]
    assert net.out_channels == (64, 128, 256, 512)
    # frozen stages include the DCD convs built after ResNet's constructor froze its own
    assert not any(p.requires_grad for m in (net.stem, net.layer1) for p in m.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())
    assert not any(m.training for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    child = Registry('model', parent=MMENGINE_MODELS, scope='dcd_detector_scope')
    built = child.build(dict(type='tessera_core.DCDResNet', depth=18, out_indices=(1, 3)))
    assert isinstance(built, DCDResNet)
    assert [o.shape[1] for o in built.eval()(torch.randn(1, 3, 32, 32))] == [128, 512]


def _calibrated(net, shape, steps=2):
    """Initialise as in training and set every BatchNorm's running statistics from random batches."""
    net.init_weights()
    for m in net.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.momentum = None  # cumulative average
    net.train()
    with torch.no_grad():
        for _ in range(steps):
            net(torch.randn(*shape))
    return net.eval()


def test_dcd_resnet_eval_forward_equals_the_official_decomposed_form(monkeypatch):
    net = _calibrated(DCDResNet(depth=18, base_channels=16, stem='small', in_channels=1, out_indices=(0, 1, 2, 3)),
                      (8, 1, 28, 28))
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        fast = net(x)
        monkeypatch.setattr(DCDConv2d, 'forward_eval', lambda self, inp, form=None: self.forward_decomposed(inp))
        official = net(x)
    for a, b in zip(fast, official):
        assert torch.isfinite(b).all() and b.abs().max() > 0.1
        assert torch.allclose(a, b, atol=1e-4 * max(1.0, b.abs().max().item()))


def test_dcd_resnet_custom_cfg_and_bad_depth():
    net = DCDResNet(depth=18, dcd_cfg=dict(type='DCD', latent_dim=4, pool_size=1))
    assert all(m.latent_dim == 4 and m.pool_size == 1 for m in net.modules() if isinstance(m, DCDConv2d))
    with pytest.raises(KeyError, match='18, 34, 50, 101'):
        DCDResNet(depth=20)


# ---------------------------------------------------------------- DCD MobileNetV2

@pytest.mark.parametrize('widen_factor,fc_squeeze,backbone_params', [
    (1.0, 16, 4_259_188), (1.0, 8, 5_991_248), (0.75, 16, 2_620_781), (0.5, 16, 1_203_460), (0.5, 8, 1_595_776)])
def test_dcd_mobilenet_v2_parameter_counts(widen_factor, fc_squeeze, backbone_params):
    # Equal to the official mobilenetv2_dcd(width_mult, fc_squeeze) without its classifier
    # (liyunsheng13/dcd, instantiated for this check). With the static 1280 -> 1000 linear head
    # (+1,281,000) the 1.0x model trained by the official command (--fc-squeeze 16) has 5,540,188
    # parameters: the paper's 5.5M for DCD MobileNetV2 1.0x (static MobileNetV2: 3.5M).
    assert count_parameters(DCDMobileNetV2(widen_factor=widen_factor, fc_squeeze=fc_squeeze)) == backbone_params
    if (widen_factor, fc_squeeze) == (1.0, 16):
        clf = _classifier(dict(type='DCDMobileNetV2'), 1280)
        assert count_parameters(clf) == 5_540_188


def test_dcd_mobilenet_v2_macs_at_224():
    # The paper: 326M MAdds for DCD MobileNetV2 1.0x (static 300M). Counted as the paper does, with
    # every BatchNorm folded (switch_to_deploy) and each DCD conv in its cheaper exact form:
    # 329,238,548 = 300,774,272 of the static network with its head (test_core_mobilenet_v2) +
    # 24.4M for the dynamic residuals + 1.6M for the dynamic branches' linear layers + 2.5M of
    # adaptive pooling (which the paper does not count).
    model = _classifier(dict(type='DCDMobileNetV2'), 1280).eval()
    model.backbone.switch_to_deploy()
    assert get_flops(model, (3, 224, 224))['flops'] == 329_238_548


def test_dcd_mobilenet_v2_dynamic_layers():
    net = DCDMobileNetV2(out_indices=(0, 1, 2, 3, 4))
    assert net.out_channels == (24, 32, 96, 320, 1280)
    first = net.stem[1]  # the t = 1 block stays static
    assert first.expand is None and type(first.project.conv) is nn.Conv2d
    blocks = [b for stage in net.stages for b in stage]
    assert len(blocks) == 16
    for b in blocks:
        assert isinstance(b.expand.conv, DCDConv2d) and b.expand.conv.pool_size == 2
        assert isinstance(b.project.conv, DCDConv2d) and b.project.conv.pool_size == 1
        assert type(b.depthwise.conv) is nn.Conv2d  # depthwise convs stay static
    assert type(net.stem[0].conv) is nn.Conv2d and type(net.final_conv.conv) is nn.Conv2d
    assert blocks[-1].project.conv.latent_dim == 40 and blocks[0].expand.conv.latent_dim == 8


def test_dcd_mobilenet_v2_init_and_deploy():
    net = DCDMobileNetV2(widen_factor=0.5, out_indices=(1, 4), stem_stride=1, in_channels=1)
    net = _calibrated(net, (8, 1, 28, 28))
    fc = net.stages[0][0].expand.conv.fc_phi.weight
    assert abs(fc.std().item() - 0.01) < 0.003  # the official init of the branch's linear layers
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        before = net(x)
        net.switch_to_deploy().switch_to_deploy()
        after = net(x)
    # only the latent BatchNorms inside the DCD convs remain (folded on the fly in eval mode)
    assert all(isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)) and m.num_features <= 40
               for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm))
    assert [tuple(o.shape) for o in after] == [(2, 16, 7, 7), (2, 1280, 2, 2)]
    for a, b in zip(before, after):
        assert torch.allclose(a, b, atol=1e-4 * max(1.0, a.abs().max().item()))
    with pytest.raises(TypeError, match='sets conv_cfg itself'):
        DCDMobileNetV2(conv_cfg=dict(type='DCD'))
    with pytest.raises(ValueError, match='0.6.*valid: 0.35, 0.5, 0.75, 1.0, 1.3, 1.4'):
        DCDMobileNetV2(widen_factor=0.6)


# ---------------------------------------------------------------- the Fashion-MNIST config

def test_config_model_trains_one_step():
    path = os.path.join(os.path.dirname(tessera_core.__file__), 'configs', 'dcd', 'dcd-resnet18_fashion-mnist.py')
    cfg = Config.fromfile(path)
    assert cfg.default_scope == 'tessera_core' and cfg.train_cfg.max_epochs == 5
    model = MODELS.build(cfg.model)
    model.init_weights()
    assert count_parameters(model) == 14_055_942  # the metafile's number
    assert sum(isinstance(m, DCDConv2d) for m in model.modules()) == 16
    data = dict(inputs=[torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8) for _ in range(8)],
                data_samples=[ClsDataSample().set_gt_label(i % 10) for i in range(8)])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9))
    before = model.backbone.layer4[1].conv2.fc_phi.weight.detach().clone()
    losses = model.train_step(data, optim)
    assert torch.isfinite(losses['loss'])
    assert not torch.equal(before, model.backbone.layer4[1].conv2.fc_phi.weight)  # the dynamic branch learns
    preds = model.val_step(data)
    assert len(preds) == 8 and preds[0].pred_score.shape == (10,)


def test_dcd_resnet_refuses_dilations():
    from tessera_core.models.backbones.dcd_resnet import DCDResNet
    with pytest.raises(ValueError, match=r'DCDResNet: dilations must all be 1.*\(1, 1, 2, 4\)'):
        DCDResNet(depth=18, dilations=(1, 1, 2, 4))
    assert DCDResNet(depth=18, in_channels=1, stem='small', base_channels=8, dilations=(1, 1, 1, 1)) is not None
