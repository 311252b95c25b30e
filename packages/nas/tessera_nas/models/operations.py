"""The candidate operations of the DARTS search space.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/operations.py``).

Every operation maps ``(N, C, H, W)`` to ``(N, C, ceil(H / stride), ceil(W / stride))``
(stride 1 or 2) and is built by ``OPS[name](C, stride, affine)``. The semantics are those of the
official code: pooling has no BatchNorm, average pooling excludes the padding from its counts,
``skip_connect`` is the identity at stride 1 and a :class:`FactorizedReduce` at stride 2, a
separable convolution is two stacked ReLU - depthwise conv - pointwise conv - BN blocks (the
first one carrying the stride), a dilated convolution is one ReLU - dilated depthwise conv -
pointwise conv - BN block with dilation 2. ``affine`` is the BatchNorm flag: the search network
of DARTS uses ``affine=False``, the evaluation network ``affine=True``.
"""
from typing import Callable, Dict

import torch
from torch import nn

from tessera_nas.genotypes import PRIMITIVES

__all__ = ['PRIMITIVES', 'OPS', 'build_op', 'darts_stem', 'ReLUConvBN', 'DilConv', 'SepConv', 'Zero',
           'FactorizedReduce']


class ReLUConvBN(nn.Module):
    """ReLU -> Conv2d (no bias) -> BatchNorm2d.

    Args:
        in_channels (int): Input channels ``C_in``.
        out_channels (int): Output channels ``C_out``.
        kernel_size (int): Convolution kernel size.
        stride (int): Convolution stride.
        padding (int): Convolution padding.
        affine (bool): Learnable BatchNorm scale and shift.

    Shapes: (N, C_in, H, W) -> (N, C_out, H', W') with the usual convolution arithmetic.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 padding: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class DilConv(nn.Module):
    """ReLU -> dilated depthwise conv (carries the stride) -> 1x1 conv -> BatchNorm2d.

    Args:
        in_channels (int): Input channels ``C_in``.
        out_channels (int): Output channels ``C_out``.
        kernel_size (int): Depthwise kernel size.
        stride (int): Depthwise stride.
        padding (int): Depthwise padding (``dilation * (kernel_size - 1) / 2`` keeps the size).
        dilation (int): Depthwise dilation.
        affine (bool): Learnable BatchNorm scale and shift.

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 dilation: int, affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                      dilation=dilation, groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class SepConv(nn.Module):
    """Two stacked ReLU -> depthwise conv -> 1x1 conv -> BatchNorm2d blocks; the first
    depthwise conv carries the stride.

    Args:
        in_channels (int): Input channels ``C_in``.
        out_channels (int): Output channels ``C_out`` (of the second block).
        kernel_size (int): Depthwise kernel size of both blocks.
        stride (int): Stride of the first depthwise conv.
        padding (int): Padding of both depthwise convs (``(kernel_size - 1) / 2``).
        affine (bool): Learnable BatchNorm scale and shift.

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int, padding: int,
                 affine: bool = True):
        super().__init__()
        self.op = nn.Sequential(
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, in_channels, kernel_size, stride=stride, padding=padding,
                      groups=in_channels, bias=False),
            nn.Conv2d(in_channels, in_channels, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(in_channels, affine=affine),
            nn.ReLU(inplace=False),
            nn.Conv2d(in_channels, in_channels, kernel_size, stride=1, padding=padding,
                      groups=in_channels, bias=False),
            nn.Conv2d(in_channels, out_channels, kernel_size=1, padding=0, bias=False),
            nn.BatchNorm2d(out_channels, affine=affine))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.op(x)


class Zero(nn.Module):
    """The ``none`` operation: zeros of the (strided) input's shape.

    Shapes: (N, C, H, W) -> (N, C, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, stride: int):
        super().__init__()
        self.stride = stride

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.stride == 1:
            return x.mul(0.)
        return x[:, :, ::self.stride, ::self.stride].mul(0.)


class FactorizedReduce(nn.Module):
    """Halves the resolution without losing every other pixel: ReLU, then two 1x1/2 convs,
    one on the input and one on the input shifted by one pixel, concatenated, then BatchNorm2d.

    Args:
        in_channels (int): Input channels ``C_in``.
        out_channels (int): Output channels ``C_out`` (even: each conv gives ``C_out / 2``).
        affine (bool): Learnable BatchNorm scale and shift.

    Shapes: (N, C_in, H, W) -> (N, C_out, H / 2, W / 2) for even H, W.
    """

    def __init__(self, in_channels: int, out_channels: int, affine: bool = True):
        super().__init__()
        if out_channels % 2 != 0:
            raise ValueError(f'FactorizedReduce needs an even number of output channels, got {out_channels}')
        self.relu = nn.ReLU(inplace=False)
        self.conv_1 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, padding=0, bias=False)
        self.conv_2 = nn.Conv2d(in_channels, out_channels // 2, 1, stride=2, padding=0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels, affine=affine)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.size(2) % 2 or x.size(3) % 2:
            raise ValueError(f'FactorizedReduce needs even spatial sizes, got {tuple(x.shape[2:])}')
        x = self.relu(x)
        out = torch.cat([self.conv_1(x), self.conv_2(x[:, :, 1:, 1:])], dim=1)
        return self.bn(out)


# name -> constructor(C, stride, affine) of an op mapping C channels to C channels; the keys are
# tessera_nas.genotypes.PRIMITIVES, in that order.
# sep_conv_kxk: SepConv(kernel k, padding (k-1)/2); dil_conv_kxk: DilConv(kernel k, dilation 2,
# padding k-1); pools: 3x3, padding 1, no BatchNorm.
OPS: Dict[str, Callable[[int, int, bool], nn.Module]] = {
    'none': lambda C, stride, affine: Zero(stride),
    'max_pool_3x3': lambda C, stride, affine: nn.MaxPool2d(3, stride=stride, padding=1),
    'avg_pool_3x3': lambda C, stride, affine: nn.AvgPool2d(3, stride=stride, padding=1,
                                                           count_include_pad=False),
    'skip_connect': lambda C, stride, affine: (nn.Identity() if stride == 1
                                               else FactorizedReduce(C, C, affine=affine)),
    'sep_conv_3x3': lambda C, stride, affine: SepConv(C, C, 3, stride, 1, affine=affine),
    'sep_conv_5x5': lambda C, stride, affine: SepConv(C, C, 5, stride, 2, affine=affine),
    'dil_conv_3x3': lambda C, stride, affine: DilConv(C, C, 3, stride, 2, 2, affine=affine),
    'dil_conv_5x5': lambda C, stride, affine: DilConv(C, C, 5, stride, 4, 2, affine=affine),
}


def build_op(name: str, channels: int, stride: int, affine: bool = True) -> nn.Module:
    """Build the operation ``name`` on ``channels`` channels with the given stride.

    Raises:
        KeyError: ``name`` is not a DARTS primitive (the message lists them).
        ValueError: ``stride`` is not 1 or 2.
    """
    if name not in OPS:
        raise KeyError(f'unknown DARTS operation {name!r}; valid: {list(PRIMITIVES)}')
    if stride not in (1, 2):
        raise ValueError(f'DARTS operations take stride 1 or 2, got {stride}')
    return OPS[name](channels, stride, affine)


def darts_stem(in_channels: int, out_channels: int) -> nn.Sequential:
    """The CIFAR stem of the DARTS search and evaluation networks: 3x3 conv (no bias) + BN.
    (N, in_channels, H, W) -> (N, out_channels, H, W)."""
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
                         nn.BatchNorm2d(out_channels))
