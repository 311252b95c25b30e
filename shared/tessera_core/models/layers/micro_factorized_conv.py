"""Micro-Factorized convolutions: group-adaptive pointwise convs with channel shuffles, k x 1 + 1 x k depthwise.

MicroNet: Improving Image Recognition with Extremely Low FLOPs, Li et al., ICCV 2021, arXiv:2108.05894
(earlier version: arXiv:2011.12289). Official code: https://github.com/liyunsheng13/micronet
(``backbone/micronet.py``: ``GroupConv``, ``ChannelShuffle``, ``DepthSpatialSepConv``, ``SpatialSepConvSF``).
"""
from typing import Optional, Sequence

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from .conv_bn_act import fuse_conv_bn


def channel_shuffle_index(channels: int, groups: int) -> torch.Tensor:
    """Permutation of a ShuffleNet channel shuffle: ``shuffled = x[:, index]``.

    The C channels are viewed as a (groups, C / groups) matrix and transposed,
    so output channel ``i = c * groups + g`` is input channel ``g * (C / groups) + c``.
    Consecutive runs of ``groups`` outputs therefore hold one channel of every
    input group: a following group conv with ``groups`` groups sees all of them.

    Args:
        channels (int): C.
        groups (int): Divides C.

    Returns:
        torch.Tensor: int64 (C,) permutation.
    """
    if groups <= 0 or channels % groups:
        raise ValueError(f'channel shuffle groups={groups} must be a positive divisor of channels={channels}')
    return torch.arange(channels).view(groups, channels // groups).t().reshape(-1)


class ChannelShuffle(nn.Module):
    """Channel shuffle with ``groups`` groups (the official ``ChannelShuffle``/``ChannelShuffle2``).

    Shapes: (N, C, H, W) -> (N, C, H, W), ``out[:, i] = x[:, channel_shuffle_index(C, groups)[i]]``.
    """

    def __init__(self, groups: int):
        super().__init__()
        if groups <= 0:
            raise ValueError(f'channel shuffle groups must be positive, got {groups}')
        self.groups = groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, c, h, w = x.shape
        if c % self.groups:
            raise ValueError(f'channel shuffle groups={self.groups} must divide the {c} input channels')
        return x.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)

    def extra_repr(self) -> str:
        return f'groups={self.groups}'


class MicroFactorizedPointwiseConv(nn.Module):
    """One group-adaptive factor of a micro-factorized pointwise conv: 1x1 group conv, BN, activation, shuffles.

    The paper (Sec. 3.1, Eq. 2) factorizes a C x C pointwise conv into
    ``W = P Phi Q^T``: ``Q`` compresses C -> C/R and ``P`` expands C/R -> C, both
    block-diagonal with G groups, and ``Phi`` is a channel shuffle with G groups
    between them; with ``G = sqrt(C / R)`` every output is connected to every
    input through exactly one path. MicroNet builds each factor as this module
    (the official ``GroupConv`` followed by its activation and
    ``ChannelShuffle``) so that the permutation follows the (Dynamic Shift-Max)
    activation, exactly in the official order; a factor's shuffle is the
    ``Phi`` in front of the next group conv.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        groups (int): G of the 1x1 conv (divides C_in and C_out).
        act (nn.Module, optional): Activation after BN (e.g. :class:`DynamicShiftMax`, ReLU6); None = linear.
        shuffle_groups (Sequence[int]): Channel shuffles applied in order after the activation.
        norm_cfg (dict): Norm after the conv.

    Weights: ``C_in * C_out / G`` (vs ``C_in * C_out`` for a dense 1x1 conv), plus 2 * C_out BN affines.

    Shapes: (N, C_in, H, W) -> (N, C_out, H, W).
    """

    def __init__(self, in_channels: int, out_channels: int, groups: int = 1, act: Optional[nn.Module] = None,
                 shuffle_groups: Sequence[int] = (), norm_cfg: dict = dict(type='BN')):
        super().__init__()
        if groups <= 0 or in_channels % groups or out_channels % groups:
            raise ValueError(f'groups={groups} must divide in_channels={in_channels} and '
                             f'out_channels={out_channels}')
        self.conv = nn.Conv2d(in_channels, out_channels, 1, groups=groups, bias=False)
        self.bn = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = act if act is not None else nn.Identity()
        self.shuffle = nn.Sequential(*[ChannelShuffle(g) for g in shuffle_groups])
        for g in shuffle_groups:
            channel_shuffle_index(out_channels, g)  # validates g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.shuffle(self.act(self.bn(self.conv(x))))

    def switch_to_deploy(self) -> None:
        """Fold ``bn`` into ``conv`` (inference only)."""
        if not isinstance(self.bn, nn.Identity):
            self.conv, self.bn = fuse_conv_bn(self.conv, self.bn), nn.Identity()


class MicroFactorizedDepthwiseConv(nn.Module):
    """Micro-factorized depthwise conv: k x 1 conv -> BN -> 1 x k depthwise conv -> BN -> act -> shuffles.

    The paper (Sec. 3.1, Eq. 3) factorizes a k x k depthwise kernel into a
    k x 1 and a 1 x k kernel (rank 1), cutting ``k^2`` weights per channel to
    ``2k``; each factor may also multiply the channels (Micro-Block-A expands
    C -> C * e1 -> C * e1 * e2 here). There is no activation between the two
    factors. The stride is split as (s, 1) then (1, s).

    Uses: Micro-Block-A (``groups = in_channels``, depthwise with multipliers),
    the k x k depthwise conv of the other blocks (``in = mid = out``) and the
    stem (``groups = 1``: the first 3 x 1 conv sees all input channels, the
    second is a 1 x 3 group conv), as in the official code.

    Args:
        in_channels (int): C_in.
        mid_channels (int): Channels after the k x 1 conv (a multiple of ``groups``).
        out_channels (int): C_out, a multiple of ``mid_channels``.
        kernel_size (int): k (odd).
        stride (int): Stride s.
        groups (int, optional): Groups of the k x 1 conv; default ``in_channels`` (depthwise).
            The 1 x k conv always has ``mid_channels`` groups.
        act (nn.Module, optional): Activation after the second BN; None = linear.
        shuffle_groups (Sequence[int]): Channel shuffles applied in order after the activation.
        norm_cfg (dict): Norm after each conv.

    Weights: ``mid * C_in / groups * k + out * k`` (``2 k C`` when ``in = mid = out`` and depthwise).

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / s), ceil(W / s)).
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, kernel_size: int = 3,
                 stride: int = 1, groups: Optional[int] = None, act: Optional[nn.Module] = None,
                 shuffle_groups: Sequence[int] = (), norm_cfg: dict = dict(type='BN')):
        super().__init__()
        groups = in_channels if groups is None else groups
        if groups <= 0 or in_channels % groups or mid_channels % groups:
            raise ValueError(f'groups={groups} must divide in_channels={in_channels} and '
                             f'mid_channels={mid_channels}')
        if out_channels % mid_channels:
            raise ValueError(f'out_channels={out_channels} must be a multiple of mid_channels={mid_channels}')
        if kernel_size % 2 == 0:
            raise ValueError(f'kernel_size must be odd, got {kernel_size}')
        pad = kernel_size // 2
        self.conv1 = nn.Conv2d(in_channels, mid_channels, (kernel_size, 1), (stride, 1), (pad, 0),
                               groups=groups, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, mid_channels)[1]
        self.conv2 = nn.Conv2d(mid_channels, out_channels, (1, kernel_size), (1, stride), (0, pad),
                               groups=mid_channels, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.act = act if act is not None else nn.Identity()
        self.shuffle = nn.Sequential(*[ChannelShuffle(g) for g in shuffle_groups])
        for g in shuffle_groups:
            channel_shuffle_index(out_channels, g)  # validates g

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.bn2(self.conv2(self.bn1(self.conv1(x))))
        return self.shuffle(self.act(x))

    def switch_to_deploy(self) -> None:
        """Fold both BNs into their convs (inference only)."""
        if not isinstance(self.bn1, nn.Identity):
            self.conv1, self.bn1 = fuse_conv_bn(self.conv1, self.bn1), nn.Identity()
        if not isinstance(self.bn2, nn.Identity):
            self.conv2, self.bn2 = fuse_conv_bn(self.conv2, self.bn2), nn.Identity()
