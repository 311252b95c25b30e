"""LSQConv2d / LSQLinear: equivalence with F.conv2d / F.linear on fake-quantized operands,
registration where mmcv builds conv layers, ResNet quantized by config."""
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer
from mmengine.registry import MODELS as MMENGINE_MODELS
from tessera_core.models.backbones import ResNet

from tessera_compression.models import LSQConv2d, LSQLinear
from tessera_compression.registry import MODELS


def _fake_quant(x, step, q_n, q_p):
    return step * torch.clamp(torch.round(x / step), -q_n, q_p)


@pytest.mark.parametrize('kwargs', [dict(stride=1, padding=1), dict(stride=2, padding=0, bias=True),
                                    dict(stride=1, padding=2, dilation=2, groups=2)])
def test_conv_forward_equals_conv2d_on_fake_quantized_weight_and_input(kwargs):
    conv = LSQConv2d(4, 6, 3, w_bits=3, a_bits=4, **kwargs)
    x = torch.relu(torch.randn(2, 4, 9, 9))
    y = conv(x)  # first call initialises both step sizes
    s_w, s_a = conv.weight_quantizer.step_size.item(), conv.act_quantizer.step_size.item()
    assert s_w == pytest.approx(2 * conv.weight.abs().mean().item() / 3 ** 0.5, rel=1e-6)
    assert s_a == pytest.approx(2 * x.abs().mean().item() / 15 ** 0.5, rel=1e-6)
    w_q = _fake_quant(conv.weight.detach(), s_w, 4, 3)
    x_q = _fake_quant(x, s_a, 0, 15)
    expected = F.conv2d(x_q, w_q, conv.bias, conv.stride, conv.padding, conv.dilation, conv.groups)
    assert torch.allclose(y, expected, atol=1e-5)
    # and again with the initialised steps on new data
    x2 = torch.relu(torch.randn(2, 4, 9, 9)) * 2
    expected2 = F.conv2d(_fake_quant(x2, s_a, 0, 15), w_q, conv.bias, conv.stride, conv.padding,
                         conv.dilation, conv.groups)
    assert torch.allclose(conv(x2), expected2, atol=1e-5)


def test_linear_forward_equals_linear_on_fake_quantized_weight_and_input():
    fc = LSQLinear(12, 5, w_bits=2, a_bits=3)
    x = torch.relu(torch.randn(7, 12))
    y = fc(x)
    s_w, s_a = fc.weight_quantizer.step_size.item(), fc.act_quantizer.step_size.item()
    expected = F.linear(_fake_quant(x, s_a, 0, 7), _fake_quant(fc.weight.detach(), s_w, 2, 1), fc.bias)
    assert torch.allclose(y, expected, atol=1e-5)


def test_signed_activations_and_full_precision_sides():
    conv = LSQConv2d(3, 3, 1, a_bits=4, a_signed=True, w_bits=None)
    assert (conv.act_quantizer.q_n, conv.act_quantizer.q_p) == (8, 7)
    assert isinstance(conv.weight_quantizer, torch.nn.Identity)
    x = torch.randn(2, 3, 4, 4)
    conv(x)
    s = conv.act_quantizer.step_size.item()
    assert torch.allclose(conv(x), F.conv2d(_fake_quant(x, s, 8, 7), conv.weight, conv.bias), atol=1e-5)


@pytest.mark.parametrize('layer,args', [(LSQConv2d, (3, 3, 3)), (LSQLinear, (3, 3))])
@pytest.mark.parametrize('key', ['w_bits', 'a_bits'])
def test_bad_bit_widths_name_the_argument_and_the_valid_values(layer, args, key):
    with pytest.raises(ValueError, match=rf'{key}=1\b.*valid: \[2, 3, 4, 5, 6, 7, 8'):
        layer(*args, **{key: 1})


def test_registered_where_mmcv_builds_conv_layers_and_in_the_package_registry():
    assert MMENGINE_MODELS.get('LSQConv2d') is LSQConv2d and MMENGINE_MODELS.get('LSQLinear') is LSQLinear
    assert MODELS.get('LSQConv2d') is LSQConv2d and MODELS.get('LSQLinear') is LSQLinear
    conv = build_conv_layer(dict(type='LSQConv2d', w_bits=2, a_bits=8), 4, 8, 3, 2, 1, bias=False)
    assert isinstance(conv, LSQConv2d) and conv.w_bits == 2 and conv.a_bits == 8 and conv.bias is None
    assert conv.stride == (2, 2) and conv.padding == (1, 1)


def test_core_resnet_is_quantized_by_conv_cfg():
    net = ResNet(depth=18, in_channels=1, stem='small', base_channels=8,
                 conv_cfg=dict(type='LSQConv2d', w_bits=4, a_bits=4))
    convs = [m for m in net.modules() if isinstance(m, torch.nn.Conv2d)]
    assert len(convs) == 1 + 16 + 3 and all(isinstance(m, LSQConv2d) for m in convs)


def test_core_resnet_keeps_a_full_precision_stem_by_stem_conv_cfg_and_trains_the_steps():
    # what the LSQ digits config builds (it replaced the former QuantResNet subclass)
    net = MODELS.build(dict(type='tessera_core.ResNet', depth=18, in_channels=1, stem='small', base_channels=8,
                            conv_cfg=dict(type='LSQConv2d', w_bits=4, a_bits=4), stem_conv_cfg=dict(type='Conv2d')))
    net.init_weights()
    assert type(net.stem[0]) is torch.nn.Conv2d and net.stem[0].weight.shape == (8, 1, 3, 3)
    quantized = [m for m in net.modules() if isinstance(m, LSQConv2d)]
    assert len(quantized) == 16 + 3
    out = net(torch.randn(4, 1, 16, 16))[-1]
    assert out.shape == (4, 64, 2, 2)
    out.sum().backward()
    for m in quantized:
        assert m.weight_quantizer.step_size.grad is not None and m.act_quantizer.step_size.grad is not None
        assert m.act_quantizer.step_size.grad.abs().item() > 0
