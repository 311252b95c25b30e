"""The convolution and the filter gate of an ABS super-bit network (arXiv:2101.04935).

:class:`SuperBitConv2d` is ``conv(Q_a(x), Q_w(W))`` with :class:`SuperBitQuantizer` on both sides
(the official ``SuperQConv2d``); it records its output size, which the BOPs term needs.

:class:`FilterGate` is the filter-wise 0-bit (pruning) gate of a residual block (official
``SuperCompressedGateBasicBlockGroup``): for the output filters of the block's first convolution,
taken in groups of ``group_size`` (1: filter-wise, the paper), the score is the mean absolute weight of
the group over the largest absolute weight of the layer,

    s_j = mean |W_j| / max |W|,      g_j = 1[s_j > t_j]      (straight-through sigmoid gradient)

with thresholds ``t_j`` initialised to 0 (nothing pruned) and clamped after each step to
``0 <= t_j <= `` the ``k``-th smallest score, ``k = max(floor(C * max_pruning_ratio / group_size), 1)``
(the official ``clip_pruning_thresholds``: at most ``k`` groups are pruned). The gate multiplies the
first BatchNorm's output channel-wise, so a closed gate zeroes the filter's output (and the matching
input channel of the second convolution), exactly as removing it.
"""
from typing import Optional, Sequence

import torch
from torch import nn

from .super_bit_quantizer import DEFAULT_BITS_LIST, SuperBitQuantizer, straight_through_gate

__all__ = ['SuperBitConv2d', 'FilterGate', 'filter_scores']


class SuperBitConv2d(nn.Conv2d):
    """``nn.Conv2d`` on super-bit quantized weights and inputs.

    Args:
        weight_bits_list, act_bits_list (Sequence[int]): Candidate widths of the two quantizers.
        Other arguments as ``nn.Conv2d``.

    Attributes:
        weight_quantizer, act_quantizer (SuperBitQuantizer): The two super-bit quantizers.
        out_hw (tuple): ``(H', W')`` of the last output.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = 'zeros',
                 weight_bits_list: Sequence[int] = DEFAULT_BITS_LIST,
                 act_bits_list: Sequence[int] = DEFAULT_BITS_LIST):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
                         groups=groups, bias=bias, padding_mode=padding_mode)
        self.weight_quantizer = SuperBitQuantizer(weight_bits_list, kind='weight')
        self.act_quantizer = SuperBitQuantizer(act_bits_list, kind='activation')
        self.out_hw = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self._conv_forward(self.act_quantizer(x), self.weight_quantizer(self.weight), self.bias)
        self.out_hw = tuple(y.shape[2:])
        return y

    @property
    def macs_per_channel_pair(self) -> int:
        """MACs per (input channel, output channel) pair per sample: ``H' W' k_h k_w / groups``."""
        if self.out_hw is None:
            raise RuntimeError('run a forward pass before counting BOPs')
        return self.out_hw[0] * self.out_hw[1] * self.kernel_size[0] * self.kernel_size[1] // self.groups

    @classmethod
    def from_float(cls, conv: nn.Conv2d, weight_bits_list=DEFAULT_BITS_LIST,
                   act_bits_list=DEFAULT_BITS_LIST) -> 'SuperBitConv2d':
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                  dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None,
                  padding_mode=conv.padding_mode, weight_bits_list=weight_bits_list, act_bits_list=act_bits_list)
        new.to(device=conv.weight.device, dtype=conv.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(conv.weight)
            if conv.bias is not None:
                new.bias.copy_(conv.bias)
        return new.train(conv.training)


def filter_scores(weight: torch.Tensor, group_size: int) -> torch.Tensor:
    """``mean |W_j| / max |W|`` per group of ``group_size`` output filters, shape (C_out / group_size,)."""
    groups = weight.shape[0] // group_size
    w = weight.reshape(groups, -1)
    return (w / weight.abs().max().clamp_min(1e-12)).abs().mean(1)


class FilterGate(nn.Module):
    """A BatchNorm followed by the filter-wise 0-bit gates of the convolution before it.

    Args:
        norm (nn.Module): The block's first BatchNorm (kept as ``self.norm``).
        conv (nn.Conv2d): The convolution whose filters are gated (referenced, not registered).
        group_size (int): Filters per gate (1: filter-wise).
        max_pruning_ratio (float): At most this fraction of the filters may be pruned (< 1).

    Attributes:
        thresholds (Parameter): ``t_j``, shape (C / group_size,), initialised to 0.
        forced_mask (Tensor, optional): Hand-set 0/1 gates per group (tests, ablations).
        indicator (Tensor): The straight-through gates of the last forward call, (C / group_size,).
    """

    def __init__(self, norm: nn.Module, conv: nn.Conv2d, group_size: int = 1, max_pruning_ratio: float = 0.5):
        super().__init__()
        channels = conv.out_channels
        if not isinstance(group_size, int) or group_size < 1 or channels % group_size:
            raise ValueError(f'group_size={group_size!r} must be a positive divisor of the {channels} filters')
        if not 0 < max_pruning_ratio < 1:
            raise ValueError(f'max_pruning_ratio={max_pruning_ratio!r} must be in (0, 1): a block keeps a filter')
        self.norm = norm
        object.__setattr__(self, '_conv', conv)  # not a submodule: it stays where it is in the block
        self.group_size = group_size
        self.max_pruning_ratio = float(max_pruning_ratio)
        self.num_groups = channels // group_size
        self.thresholds = nn.Parameter(torch.zeros(self.num_groups))
        self.forced_mask: Optional[torch.Tensor] = None
        self.indicator: Optional[torch.Tensor] = None

    @property
    def max_pruned_groups(self) -> int:
        """``k``: how many groups the threshold clamp lets be pruned."""
        return max(int(self._conv.out_channels * self.max_pruning_ratio / self.group_size), 1)

    def set_mask(self, mask: Optional[Sequence[int]]) -> None:
        """Force the gates (one 0/1 per group; None: learned gates again)."""
        if mask is not None:
            mask = torch.as_tensor(mask, dtype=torch.float32)
            if mask.shape != (self.num_groups,) or not bool(((mask == 0) | (mask == 1)).all()):
                raise ValueError(f'forced mask must hold {self.num_groups} values in {{0, 1}}, got {mask.tolist()}')
        self.forced_mask = mask

    def compute_indicator(self) -> torch.Tensor:
        if self.forced_mask is not None:
            self.indicator = self.forced_mask.to(self.thresholds)
        else:
            self.indicator = straight_through_gate(filter_scores(self._conv.weight, self.group_size) - self.thresholds)
        return self.indicator

    def channel_mask(self) -> torch.Tensor:
        """The gates expanded to one value per channel, (C,)."""
        return self.compute_indicator().repeat_interleave(self.group_size)

    def kept_channels(self) -> torch.Tensor:
        """``group_size * sum_j g_j``, differentiable through the gates."""
        if self.indicator is None:
            self.compute_indicator()
        return self.indicator.sum() * self.group_size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x) * self.channel_mask().reshape(1, -1, 1, 1)

    @torch.no_grad()
    def clamp_thresholds(self) -> None:
        """``0 <= t_j <= k``-th smallest score (official ``clip_pruning_thresholds``)."""
        scores = filter_scores(self._conv.weight, self.group_size)
        upper = torch.topk(scores, k=self.max_pruned_groups, largest=False).values[-1]
        self.thresholds.clamp_(min=0)
        self.thresholds.copy_(torch.minimum(self.thresholds, upper))

    def extra_repr(self) -> str:
        return f'groups={self.num_groups}, group_size={self.group_size}, max_pruning_ratio={self.max_pruning_ratio}'
