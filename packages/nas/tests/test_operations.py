"""The DARTS primitives: shapes at stride 1 and 2, and the exact semantics of the official code."""
import pytest
import torch
from torch import nn

from tessera_nas.models.operations import (OPS, PRIMITIVES, DilConv, FactorizedReduce, ReLUConvBN, SepConv, Zero,
                                          build_op)


@pytest.mark.parametrize('name', PRIMITIVES)
@pytest.mark.parametrize('stride', [1, 2])
def test_every_op_keeps_channels_and_divides_the_resolution_by_the_stride(name, stride):
    op = build_op(name, 8, stride)
    y = op(torch.randn(2, 8, 16, 16))
    assert y.shape == (2, 8, 16 // stride, 16 // stride)


def _convs(op):
    return [m for m in op.modules() if isinstance(m, nn.Conv2d)]


def test_separable_conv_is_two_stacked_relu_dw_pw_bn_blocks():
    op = OPS['sep_conv_5x5'](6, 2, True)
    layers = list(op.op)
    kinds = [type(m) for m in layers]
    assert kinds == [nn.ReLU, nn.Conv2d, nn.Conv2d, nn.BatchNorm2d] * 2
    dw1, pw1, dw2, pw2 = _convs(op)
    assert (dw1.kernel_size, dw1.stride, dw1.padding, dw1.groups) == ((5, 5), (2, 2), (2, 2), 6)
    assert (dw2.kernel_size, dw2.stride, dw2.padding, dw2.groups) == ((5, 5), (1, 1), (2, 2), 6)
    assert pw1.kernel_size == pw2.kernel_size == (1, 1) and all(c.bias is None for c in _convs(op))
    # parameters: 2 x (depthwise 25 C + pointwise C^2 + BN 2 C)
    assert sum(p.numel() for p in op.parameters()) == 2 * (25 * 6 + 36 + 12)


def test_dilated_conv_has_dilation_two_and_same_padding():
    for name, k, pad in [('dil_conv_3x3', 3, 2), ('dil_conv_5x5', 5, 4)]:
        op = OPS[name](4, 1, True)
        assert [type(m) for m in op.op] == [nn.ReLU, nn.Conv2d, nn.Conv2d, nn.BatchNorm2d]
        dw, pw = _convs(op)
        assert (dw.kernel_size, dw.dilation, dw.padding, dw.groups) == ((k, k), (2, 2), (pad, pad), 4)
        assert pw.kernel_size == (1, 1)


def test_affine_flag_controls_the_batchnorm_parameters():
    for name in ('sep_conv_3x3', 'dil_conv_5x5'):
        assert all(bn.affine for bn in OPS[name](4, 1, True).modules() if isinstance(bn, nn.BatchNorm2d))
        assert not any(bn.affine for bn in OPS[name](4, 1, False).modules() if isinstance(bn, nn.BatchNorm2d))
    assert not FactorizedReduce(4, 4, affine=False).bn.affine
    assert sum(p.numel() for p in OPS['sep_conv_3x3'](4, 1, False).parameters()) == 2 * (9 * 4 + 16)


def test_average_pooling_excludes_padding_and_pools_have_no_parameters():
    ones = torch.ones(1, 2, 6, 6)
    avg = OPS['avg_pool_3x3'](2, 1, True)
    assert torch.allclose(avg(ones), ones)  # corners would be 4/9 if the padding were counted
    assert sum(p.numel() for p in avg.parameters()) == 0
    assert sum(p.numel() for p in OPS['max_pool_3x3'](2, 2, True).parameters()) == 0
    x = torch.randn(1, 2, 6, 6)
    assert torch.equal(OPS['max_pool_3x3'](2, 2, True)(x), nn.functional.max_pool2d(x, 3, 2, 1))


def test_skip_connect_is_identity_or_factorized_reduce_and_none_is_zero():
    x = torch.randn(2, 4, 8, 8)
    skip1 = OPS['skip_connect'](4, 1, True)
    assert isinstance(skip1, nn.Identity) and torch.equal(skip1(x), x)
    assert isinstance(OPS['skip_connect'](4, 2, True), FactorizedReduce)
    assert isinstance(OPS['none'](4, 2, True), Zero)
    assert torch.equal(OPS['none'](4, 2, True)(x), torch.zeros(2, 4, 4, 4))


def test_factorized_reduce_concatenates_two_shifted_strided_convs():
    fr = FactorizedReduce(3, 6).eval()
    x = torch.randn(2, 3, 8, 8)
    r = torch.relu(x)
    expected = fr.bn(torch.cat([fr.conv_1(r), fr.conv_2(r[:, :, 1:, 1:])], dim=1))
    assert torch.allclose(fr(x), expected)
    assert fr.conv_1.stride == fr.conv_2.stride == (2, 2) and fr.conv_1.kernel_size == (1, 1)
    with pytest.raises(ValueError, match='even number of output channels'):
        FactorizedReduce(3, 5)
    with pytest.raises(ValueError, match=r'even spatial sizes, got \(7, 8\)'):
        fr(torch.randn(1, 3, 7, 8))


def test_relu_conv_bn_order():
    m = ReLUConvBN(3, 5, 1, 1, 0)
    assert [type(l) for l in m.op] == [nn.ReLU, nn.Conv2d, nn.BatchNorm2d]
    assert isinstance(SepConv(2, 2, 3, 1, 1).op[0], nn.ReLU) and isinstance(DilConv(2, 2, 3, 1, 2, 2).op[0], nn.ReLU)


def test_build_op_rejects_unknown_names_and_strides():
    with pytest.raises(KeyError, match=r"unknown DARTS operation 'conv_7x1_1x7'; valid: \['none'"):
        build_op('conv_7x1_1x7', 4, 1)
    with pytest.raises(ValueError, match='stride 1 or 2, got 3'):
        build_op('sep_conv_3x3', 4, 3)
