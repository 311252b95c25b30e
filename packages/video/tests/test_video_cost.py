"""CoST: the three views of one shared 2D kernel against per-slice 2D convolutions, the equivalent constrained 3x3x3
kernel, weight sharing, exact parameter counts against C2D / C3D, the attention coefficients, bad input."""
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import tessera_video.models  # noqa: F401
from tessera_core.analysis.complexity import get_flops
from tessera_video.models import CoSTa, CoSTb, ResNet3d, ResNet3dCoST
from tessera_video.models.layers.cost import cost_extra_parameters, cost_views


def count(m):
    return sum(p.numel() for p in m.parameters())


def loop_views(x, w2d, stride=(1, 1, 1)):
    """Reference: the 2D kernel (C_out, C_in, k, k) convolved slice by slice over each view.

    hw: each frame t (H x W plane); tw: each row h (T x W plane); th: each column w (T x H plane)."""
    st, sh, sw = stride
    p = w2d.shape[-1] // 2
    hw = torch.stack([F.conv2d(x[:, :, t], w2d, stride=(sh, sw), padding=p)
                      for t in range(0, x.shape[2], st)], dim=2)
    tw = torch.stack([F.conv2d(x[:, :, :, h, :], w2d, stride=(st, sw), padding=p)
                      for h in range(0, x.shape[3], sh)], dim=3)
    th = torch.stack([F.conv2d(x[:, :, :, :, w], w2d, stride=(st, sh), padding=p)
                      for w in range(0, x.shape[4], sw)], dim=4)
    return hw, tw, th


@pytest.mark.parametrize('stride', [(1, 1, 1), (1, 2, 2), (2, 2, 2)])
def test_identical_coefficients_give_the_sum_of_three_2d_convs(stride):
    x = torch.randn(2, 3, 5, 6, 7)
    m = CoSTa(3, 4, 3, stride=stride, padding=1, bias=False)
    with torch.no_grad():
        m.alpha.fill_(0.3)  # the same for every view: softmax -> 1/3 each
    coef = m.coefficients()
    assert torch.allclose(coef, torch.full((3, 4), 1 / 3))
    hw, tw, th = loop_views(x, m.weight[:, :, 0], stride)
    assert hw.shape == tw.shape == th.shape
    assert torch.allclose(m(x), (hw + tw + th) / 3, atol=1e-5)


def test_per_channel_coefficients_and_bias_against_the_loop_reference():
    x = torch.randn(2, 3, 4, 5, 6)
    m = CoSTa(3, 4, (3, 3, 3), stride=1, padding=(1, 1, 1), bias=True)
    with torch.no_grad():
        m.alpha.copy_(torch.randn(3, 4))
        m.bias.copy_(torch.randn(4))
    a = torch.softmax(m.alpha, 0)[..., None, None, None]
    hw, tw, th = loop_views(x, m.weight[:, :, 0])
    ref = a[0] * hw + a[1] * tw + a[2] * th + m.bias.view(-1, 1, 1, 1)
    assert torch.allclose(m(x), ref, atol=1e-5)


def test_cost_is_a_3x3x3_conv_with_its_kernel_on_three_orthogonal_central_planes():
    # y = conv3d(x, K) with K[:, :, t, h, w] = a_hw w[h, w] [t = 1] + a_tw w[t, w] [h = 1] + a_th w[t, h] [w = 1]
    x = torch.randn(1, 2, 4, 5, 5)
    m = CoSTa(2, 3, 3, padding=1, bias=False)
    with torch.no_grad():
        m.alpha.copy_(torch.randn(3, 3))
    a = torch.softmax(m.alpha, 0)[..., None, None, None]  # (3, C_out, 1, 1, 1)
    w = m.weight[:, :, 0]  # (C_out, C_in, 3, 3)
    k = torch.zeros(3, 2, 3, 3, 3)
    k[:, :, 1, :, :] += a[0] * w
    k[:, :, :, 1, :] += a[1] * w
    k[:, :, :, :, 1] += a[2] * w
    assert torch.allclose(m(x), F.conv3d(x, k, padding=1), atol=1e-5)
    # the spatial view alone is C2D's 1x3x3 conv with the same weight tensor
    assert torch.allclose(cost_views(x, m.weight, (1, 1, 1), 1)[0], F.conv3d(x, m.weight, padding=(0, 1, 1)),
                          atol=1e-6)


def test_one_kernel_is_shared_by_the_three_views():
    m = CoSTa(3, 4, 3, bias=False)
    params = dict(m.named_parameters())
    assert set(params) == {'weight', 'alpha'}
    assert params['weight'].shape == (4, 3, 1, 3, 3) and params['alpha'].shape == (3, 4)
    assert count(m) == 4 * 3 * 9 + 3 * 4
    # each view alone depends on that one tensor: its gradient through the T-W view (or T-H) alone is non-zero
    x = torch.randn(2, 3, 4, 5, 5)
    for i in range(3):
        m.zero_grad()
        cost_views(x, m.weight, (1, 1, 1), 1)[i].square().sum().backward()
        assert m.weight.grad.abs().sum() > 0
    # and changing it changes all three views
    before = cost_views(x, m.weight, (1, 1, 1), 1)
    with torch.no_grad():
        m.weight[0, 0, 0, 0, 0] += 1.0
    after = cost_views(x, m.weight, (1, 1, 1), 1)
    assert all(not torch.allclose(b[:, 0], a[:, 0]) for b, a in zip(before, after))
    b = CoSTb(3, 4, 3, bias=False)
    assert {n for n, _ in b.named_parameters()} == {'weight', 'attention.fc1.weight', 'attention.fc2.weight'}
    assert count(b) == 4 * 3 * 9 + 4 * 4 + 9


def test_attention_coefficients_sum_to_one_per_sample_and_channel():
    torch.manual_seed(0)
    m = CoSTb(3, 6, 3, bias=False, attention_init_std=1.0)
    x = torch.randn(4, 3, 4, 6, 6)
    hw, tw, th = cost_views(x, m.weight, (1, 1, 1), 1)
    a = m.coefficients(hw, tw, th)
    assert a.shape == (4, 3, 6) and (a > 0).all()
    assert torch.allclose(a.sum(1), torch.ones(4, 6), atol=1e-6)
    assert not torch.allclose(a[0], a[1])  # predicted per sample
    y = m(x)
    ref = (a[:, :, :, None, None, None] * torch.stack([hw, tw, th], 1)).sum(1)
    assert torch.allclose(y, ref, atol=1e-5)
    y.square().mean().backward()
    assert m.attention.fc1.weight.grad.abs().sum() > 0 and m.attention.fc2.weight.grad.abs().sum() > 0
    # a zero fc1 gives uniform attention: CoST(b) is then CoST(a) with identical coefficients
    with torch.no_grad():
        m.attention.fc1.weight.zero_()
    a = CoSTa(3, 6, 3, bias=False)
    with torch.no_grad():
        a.weight.copy_(m.weight)
        a.alpha.zero_()
    assert torch.allclose(m(x), a(x), atol=1e-5)


def test_official_initialisation():
    a = CoSTa(8, 8, 3)
    assert torch.allclose(a.coefficients()[:, 0], torch.softmax(torch.tensor([0.7, -0.7, -0.7]), 0))
    b = CoSTb(8, 8, 3)
    x = torch.randn(2, 8, 4, 6, 6)
    assert torch.allclose(b.coefficients(*cost_views(x, b.weight, (1, 1, 1), 1)), torch.full((2, 3, 8), 1 / 3),
                          atol=0.02)  # fc weights N(0, 0.01): nearly uniform at the start


def test_resnet18_parameter_counts_equal_c2d_plus_the_coefficients():
    kw = dict(depth=18, in_channels=1, base_channels=16)
    c2d = ResNet3dCoST(inflate=(0, 0, 0, 0), **kw)
    assert count(c2d) == count(ResNet3d(variant='c2d', **kw)) == 700_528 and not c2d.cost_layers()
    costa, costb, c3d = (ResNet3dCoST(st_conv=s, **kw) for s in ('costa', 'costb', '3x3x3'))
    # 16 CoST units (both 3x3 convs of the 8 basic blocks), 4 per stage of widths 16, 32, 64, 128
    widths = [m.out_channels for _, m in costa.cost_layers()]
    assert widths == [16] * 4 + [32] * 4 + [64] * 4 + [128] * 4
    assert count(costa) == 700_528 + 3 * sum(widths) == 700_528 + 2_880 == 703_408
    assert count(costb) == 700_528 + sum(c * c + 9 for c in widths) == 700_528 + 87_184 == 787_712
    # C3D at the same positions: each 1x3x3 conv becomes 3x3x3, +2 x its 9 C_in C_out weights
    conv3x3 = (4 * 16 * 16 * 9) + (16 * 32 * 9 + 3 * 32 * 32 * 9) + (32 * 64 * 9 + 3 * 64 * 64 * 9) \
        + (64 * 128 * 9 + 3 * 128 * 128 * 9)
    assert count(c3d) == 700_528 + 2 * conv3x3 == 2_073_712
    # the CoST kernels are the C2D weights: a C2D state dict loads with only the coefficients missing
    missing, unexpected = costa.load_state_dict(c2d.state_dict(), strict=False)
    assert unexpected == [] and sorted(missing) == sorted(f'{n}.alpha' for n, _ in costa.cost_layers())


def test_resnet50_parameter_counts_and_macs_at_the_official_placement():
    c2d = ResNet3dCoST(depth=50, inflate=(0, 0, 0, 0))
    costa, costb, c3d = (ResNet3dCoST(depth=50, st_conv=s) for s in ('costa', 'costb', '3x3x3'))
    assert count(c2d) == 23_508_032  # = torchvision's ResNet-50 without its fc
    widths = [m.out_channels for _, m in costa.cost_layers()]  # one of every two bottlenecks: 1 + 2 + 3 + 2
    assert widths == [64] + [128] * 2 + [256] * 3 + [512] * 2
    assert count(costa) == 23_508_032 + sum(cost_extra_parameters('a', c) for c in widths) == 23_514_368
    assert count(costb) == 23_508_032 + sum(cost_extra_parameters('b', c) for c in widths) == 24_265_864
    assert count(c3d) == 23_508_032 + 2 * 9 * sum(c * c for c in widths) == 37_147_712
    # MACs: a CoST unit costs three 1x3x3 convs, the same as a 3x3x3 conv (shapes small to stay fast)
    kw = dict(depth=18, in_channels=1, base_channels=8)
    macs = {s: get_flops(ResNet3dCoST(st_conv=s, **kw), (1, 4, 32, 32))['flops'] for s in ('costa', '3x3x3')}
    macs['c2d'] = get_flops(ResNet3dCoST(inflate=(0, 0, 0, 0), **kw), (1, 4, 32, 32))['flops']
    assert macs['costa'] == macs['3x3x3'] > macs['c2d']


def test_cost_sees_the_order_of_frames_c2d_does_not():
    x = torch.randn(2, 1, 8, 32, 32)
    swapped = x[:, :, [1, 0, 3, 2, 5, 4, 7, 6]]
    kw = dict(depth=18, in_channels=1, base_channels=8, zero_init_residual=False)
    for st_conv, inflate, same in (('costa', None, False), ('costb', None, False), ('3x3x3', (0, 0, 0, 0), True)):
        m = ResNet3dCoST(st_conv=st_conv, inflate=inflate, **kw).eval()
        with torch.no_grad():
            assert torch.allclose(m(x)[0], m(swapped)[0], atol=1e-5) is same


def test_bad_input_is_refused_naming_the_value():
    with pytest.raises(ValueError, match=r'same kernel_size along T, H and W.*\(1, 3, 3\)'):
        CoSTa(3, 4, (1, 3, 3), padding=(0, 1, 1))
    with pytest.raises(ValueError, match='padding = kernel_size // 2.*padding=0'):
        CoSTa(3, 4, 3, padding=0)
    with pytest.raises(ValueError, match='dilation 1 only'):
        CoSTb(3, 4, 3, dilation=2)
    with pytest.raises(ValueError, match=r'\(N, C, T, H, W\)'):
        CoSTa(3, 4, 3)(torch.randn(1, 3, 8, 8))
    with pytest.raises(ValueError, match=r"invalid st_conv 'cost'.*valid: \('costa', 'costb', '3x3x3'\)"):
        ResNet3dCoST(st_conv='cost')
    with pytest.raises(TypeError, match='sets variant itself'):
        ResNet3dCoST(variant='c3d')
    with pytest.raises(KeyError, match=r'valid: \[18, 34, 50\]'):
        ResNet3dCoST(depth=101)
    with pytest.raises(ValueError, match="invalid cost_type 'c'"):
        cost_extra_parameters('c', 8)
    assert isinstance(ResNet3dCoST(depth=18, st_conv='3x3x3', base_channels=8).stages[0][0].conv1, nn.Conv3d)
