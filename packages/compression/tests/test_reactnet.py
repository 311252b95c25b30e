"""ReActNet / AdamBNN components: RSign, RPReLU, BinaryConv2d, ReActBlock, ReActNet-A.

Closed forms checked: the ApproxSign gradient max(0, 2 - 2|u|) (= the derivative of Bi-Real's
piecewise polynomial), RPReLU's definition, binary weights a_c * sign(W) with a_c = mean|W_c| and the
clamp straight-through gradient, the merged 1x1 conv of the channel-doubling block against the
official two-conv form, ReActNet-A's shapes and exact parameter count, the step-1 -> step-2 switch.
"""
import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_conv_layer
from tessera_core.analysis import count_parameters
from tessera_core.testing import randomise_batchnorms
from torch import nn

from tessera_compression.models.binary import (BinaryConv2d, ReActBlock, ReActNet, RPReLU, RSign, approx_sign,
                                               binarize_weight)
from tessera_compression.registry import MODELS

A_TABLE = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]


def _bireal_polynomial(u):
    """Bi-Real Net's ApproxSign forward: -1 | 2u + u^2 | 2u - u^2 | 1 (its derivative is the ReActNet gradient)."""
    return torch.where(u < -1, -torch.ones_like(u),
                       torch.where(u < 0, 2 * u + u * u, torch.where(u < 1, 2 * u - u * u, torch.ones_like(u))))


def test_approx_sign_forward_and_closed_form_gradient():
    u = torch.tensor([-1.5, -1.0, -0.75, -0.25, 0.0, 0.25, 0.5, 0.999, 1.0, 2.0], requires_grad=True)
    y = approx_sign(u)
    assert y.tolist() == [-1, -1, -1, -1, -1, 1, 1, 1, 1, 1]  # 0 maps to -1: x_b = +1 iff x > alpha
    y.backward(torch.ones_like(u))
    expected = [0.0, 0.0, 0.5, 1.5, 2.0, 1.5, 1.0, 0.002, 0.0, 0.0]  # max(0, 2 - 2|u|)
    assert torch.allclose(u.grad, torch.tensor(expected), atol=1e-6)


def test_approx_sign_gradient_is_the_derivative_of_the_bireal_polynomial():
    u = (torch.rand(1000) * 4 - 2).requires_grad_()
    g = torch.randn(1000)
    (grad_ours,) = torch.autograd.grad(approx_sign(u), u, g)
    (grad_poly,) = torch.autograd.grad(_bireal_polynomial(u), u, g)
    assert torch.allclose(grad_ours, grad_poly, atol=1e-6)
    assert (grad_ours != 0).any() and (grad_ours == 0).any()


def test_rsign_threshold_forward_and_gradients():
    rsign = RSign(3)
    with torch.no_grad():
        rsign.threshold.copy_(torch.tensor([-0.5, 0.0, 0.7]))
    x = torch.randn(4, 3, 5, 5, requires_grad=True)
    g = torch.randn(4, 3, 5, 5)
    y = rsign(x)
    alpha = rsign.threshold.detach().view(1, 3, 1, 1)
    assert torch.equal(y, torch.where(x > alpha, 1.0, -1.0))
    y.backward(g)
    local = (2 - 2 * (x.detach() - alpha).abs()).clamp(min=0)
    assert torch.allclose(x.grad, g * local, atol=1e-6)
    # d x_b / d alpha = -max(0, 2 - 2|x - alpha|), summed over batch and positions (ReActNet)
    assert torch.allclose(rsign.threshold.grad, -(g * local).sum((0, 2, 3)), atol=1e-5)
    assert rsign.act_bits == 1


def test_rprelu_matches_paper_equation_and_gradcheck():
    m = RPReLU(3).double()
    assert torch.equal(m.slope.detach(), torch.full((3,), 0.25, dtype=torch.float64))
    with torch.no_grad():
        m.shift_in.copy_(torch.tensor([0.3, -0.2, 0.0]))
        m.slope.copy_(torch.tensor([0.1, 0.5, -0.3]))
        m.shift_out.copy_(torch.tensor([-1.0, 0.4, 2.0]))
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64)
    gamma, beta, zeta = (p.detach().view(1, 3, 1, 1) for p in (m.shift_in, m.slope, m.shift_out))
    expected = torch.where(x > gamma, x - gamma + zeta, beta * (x - gamma) + zeta)  # the paper's RPReLU
    assert torch.allclose(m(x), expected)
    x.requires_grad_()
    assert torch.autograd.gradcheck(m, (x,))


def test_binary_weights_are_plus_minus_mean_abs_per_channel_with_clamp_ste():
    w = (torch.randn(6, 4, 3, 3) * 0.8).requires_grad_()
    wb = binarize_weight(w)
    a = w.detach().abs().mean((1, 2, 3))
    for c in range(6):
        assert set(wb[c].unique().tolist()) <= {-a[c].item(), a[c].item()}
        assert torch.equal(wb[c], torch.where(w[c] >= 0, a[c], -a[c]))
    g = torch.randn_like(w)
    wb.backward(g)
    assert (w.detach().abs() > 1).any()
    assert torch.equal(w.grad, g * (w.detach().abs() <= 1).float())  # d clamp(W, -1, 1) / dW, a detached


def test_binary_conv_equals_conv_on_signs_step1_and_step2():
    x = torch.randn(2, 4, 7, 7)
    conv = BinaryConv2d(4, 6, 3, stride=2, padding=1)  # weight_bits=1, act_bits=1
    with torch.no_grad():
        conv.rsign.threshold.copy_(torch.tensor([0.1, -0.2, 0.3, 0.0]))
    xb = torch.where(x > conv.rsign.threshold.view(1, 4, 1, 1), 1.0, -1.0)
    a = conv.weight.detach().abs().mean((1, 2, 3)).view(6, 1, 1, 1)
    wb = torch.where(conv.weight.detach() >= 0, a, -a)
    assert torch.allclose(conv(x), F.conv2d(xb, wb, None, 2, 1), atol=1e-6)
    # the scaling factor can equally multiply the output, as the official inference path does
    assert torch.allclose(conv(x), F.conv2d(xb, wb.sign(), None, 2, 1) * a.view(1, 6, 1, 1), atol=1e-5)
    step1 = BinaryConv2d(4, 6, 3, stride=2, padding=1, weight_bits=32, act_bits=1)
    step1.load_state_dict(conv.state_dict())
    assert torch.allclose(step1(x), F.conv2d(xb, conv.weight, None, 2, 1), atol=1e-6)
    bwn = BinaryConv2d(4, 6, 3, padding=1, weight_bits=1, act_bits=32)
    assert bwn.rsign is None and (bwn.weight_bits, bwn.act_bits) == (1, 32)
    assert torch.allclose(bwn(x), F.conv2d(x, binarize_weight(bwn.weight.detach()), None, 1, 1), atol=1e-6)


def test_binary_conv_rejects_unsupported_bits_and_builds_through_mmcv():
    for kwargs in (dict(weight_bits=2), dict(act_bits=4), dict(weight_bits=True)):
        with pytest.raises(ValueError, match=r'valid: 1, 32'):
            BinaryConv2d(4, 4, 3, **kwargs)
    conv = build_conv_layer(dict(type='BinaryConv2d', weight_bits=32, act_bits=1), 4, 8, 3, padding=1, bias=False)
    assert isinstance(conv, BinaryConv2d) and (conv.weight_bits, conv.act_bits) == (32, 1)
    assert isinstance(MODELS.build(dict(type='RSign', num_channels=3)), RSign)


def test_channel_doubling_block_equals_official_two_conv_form():
    torch.manual_seed(3)
    block = randomise_batchnorms(ReActBlock(4, 8, stride=2)).eval()
    with torch.no_grad():
        for p in block.parameters():
            if p.dim() == 1:  # thresholds, RPReLU shifts and slopes away from their initial values
                p.add_(torch.randn_like(p) * 0.1)
    x = torch.randn(2, 4, 8, 8)

    def bn(t, m, sl):  # BatchNorm in eval mode with the channels ``sl`` of ``m``
        return F.batch_norm(t, m.running_mean[sl], m.running_var[sl], m.weight[sl], m.bias[sl], False, 0.0, m.eps)

    with torch.no_grad():
        y = block(x)
        # official: out1 = rprelu1(bn1(conv3x3(sign(x))) + avgpool(x))
        out1 = block.rprelu1(block.bn1(block.conv3x3(x)) + F.avg_pool2d(x, 2, 2))
        # two 1x1 convs 4 -> 4 on the same binarized out1, two BNs, each + out1, concatenated
        xb = approx_sign(out1 - block.conv1x1.rsign.threshold.view(1, 4, 1, 1))
        wb = binarize_weight(block.conv1x1.weight)
        halves = [bn(F.conv2d(xb, wb[sl]), block.bn2, sl) + out1 for sl in (slice(0, 4), slice(4, 8))]
        expected = block.rprelu2(torch.cat(halves, 1))
    assert y.shape == (2, 8, 4, 4)
    assert torch.allclose(y, expected, atol=1e-5)


def test_reactnet_a_shapes_and_table():
    net = ReActNet('A', out_indices=(0, 1, 2, 3)).eval()
    assert [len(s) for s in net.stages] == [2, 2, 6, 2] and len(net.stem) == 3  # conv, BN, block 32 -> 64
    assert net.stage_channels == (128, 256, 512, 1024)
    with torch.no_grad():
        outs = net(torch.randn(1, 3, 224, 224))
    assert [tuple(o.shape) for o in outs] == [(1, 128, 56, 56), (1, 256, 28, 28), (1, 512, 14, 14), (1, 1024, 7, 7)]
    assert type(net.stem[0]) is nn.Conv2d  # first conv full precision
    convs = [m for m in net.modules() if isinstance(m, BinaryConv2d)]
    assert len(convs) == 26 and all((m.weight_bits, m.act_bits) == (1, 1) for m in convs)
    small = ReActNet('A', in_channels=1, stem_stride=1, widen_factor=0.25, out_indices=(0, 1, 2, 3))
    outs = small(torch.randn(2, 1, 28, 28))
    assert [tuple(o.shape) for o in outs] == [(2, 32, 14, 14), (2, 64, 7, 7), (2, 128, 4, 4), (2, 256, 2, 2)]
    partial = ReActNet('A', out_indices=(1,))
    assert len(partial.stages) == 2 and partial.out_channels == (256,)


def _closed_form_parameters(table, stem=32, in_channels=3, num_classes=1000):
    """Parameters of ReActNet from its table: per block 9 C_in^2 + C_in C_out (binary convs), 2 + 2 RSign/RPReLU
    shift vectors and one slope per RPReLU, two BNs; stem conv + BN; linear classifier."""
    total = in_channels * stem * 9 + 2 * stem
    c_in = stem
    for c_out, _ in table:
        total += 9 * c_in * c_in + c_in * c_out  # binary 3x3 (C_in -> C_in) and 1x1 (C_in -> C_out) weights
        total += c_in + c_in  # RSign thresholds of the two convs
        total += 2 * c_in + 3 * c_in + 2 * c_out + 3 * c_out  # bn1, rprelu1 (gamma, beta, zeta), bn2, rprelu2
        c_in = c_out
    return total + c_in * num_classes + num_classes


def test_reactnet_a_parameter_count_is_exact():
    # The paper does not state ReActNet-A's parameter count; check the exact count of its table instead
    # (29,343,592 with the 1000-class classifier; the official reactnet.py has the same tensors).
    net = ReActNet('A')
    total = count_parameters(net) + 1024 * 1000 + 1000
    assert total == _closed_form_parameters(A_TABLE) == 29_343_592


def test_step1_checkpoint_loads_exactly_into_step2():
    step1 = ReActNet('A', in_channels=1, stem_stride=1, widen_factor=0.25, weight_bits=32)
    step2 = ReActNet('A', in_channels=1, stem_stride=1, widen_factor=0.25, weight_bits=1)
    state = step1.state_dict()
    assert step2.load_state_dict(state, strict=True) is not None
    convs1 = [m for m in step1.modules() if isinstance(m, BinaryConv2d)]
    convs2 = [m for m in step2.modules() if isinstance(m, BinaryConv2d)]
    for c1, c2 in zip(convs1, convs2):
        assert (c1.weight_bits, c1.act_bits, c2.weight_bits, c2.act_bits) == (32, 1, 1, 1)
        assert torch.equal(c1.effective_weight(), c1.weight)
        a = c1.weight.detach().abs().mean((1, 2, 3), keepdim=True)
        assert torch.equal(c2.effective_weight().detach(), torch.where(c1.weight >= 0, a, -a))
    x = torch.randn(2, 1, 28, 28)
    step1.eval(), step2.eval()
    assert not torch.allclose(step1(x)[0], step2(x)[0])


def test_every_parameter_gets_a_gradient_in_step2():
    net = ReActNet('A', in_channels=1, stem_stride=1, widen_factor=0.25)
    with torch.no_grad():
        for m in net.modules():
            if isinstance(m, RSign):
                m.threshold.uniform_(-0.1, 0.1)
    net(torch.randn(4, 1, 28, 28))[0].square().mean().backward()
    missing = [n for n, p in net.named_parameters() if p.grad is None or not p.grad.abs().sum() > 0]
    assert missing == []


def test_reactnet_bad_arguments_name_the_valid_choices():
    with pytest.raises(ValueError, match=r"unknown ReActNet arch 'B'; valid: A"):
        ReActNet('B')
    with pytest.raises(ValueError, match=r'invalid widen_factor 0.3'):
        ReActNet('A', widen_factor=0.3)
    with pytest.raises(ValueError, match=r'out_indices .* \[0, 3\]'):
        ReActNet('A', out_indices=(4,))
    with pytest.raises(ValueError, match=r'invalid ReActNet arch row 1'):
        ReActNet(dict(stem_channels=8, blocks=[(16, 1), (48, 2)]))
    with pytest.raises(ValueError, match=r'invalid stem_stride 3'):
        ReActNet('A', stem_stride=3)
    with pytest.raises(ValueError, match=r'RSign\(3\) expects'):
        RSign(3)(torch.zeros(1, 4, 2, 2))
    with pytest.raises(ValueError, match=r'keeps or doubles'):
        ReActBlock(8, 12)


def test_reactnet_builds_from_the_registry_with_a_custom_table():
    net = MODELS.build(dict(type='ReActNet', arch=dict(stem_channels=8, blocks=[(16, 1), (32, 2), (32, 1)]),
                            in_channels=1, stem_stride=1))
    assert net.out_channels == (32,)
    assert net(torch.randn(2, 1, 12, 12))[0].shape == (2, 32, 6, 6)
