"""Partial channel connections: a mixed operation that samples 1/K of the channels.

PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search, Xu, Xie, Zhang,
Chen, Qi, Tian and Xiong, ICLR 2020, arXiv:1907.05737.
Official code: https://github.com/yuhuixu1993/PC-DARTS (``model_search.py``: ``channel_shuffle``,
``MixedOp`` with ``k = 4``).

The first ``C / K`` channels of the edge input go through the candidate operations (built on
``C / K`` channels); the other ``C - C / K`` channels bypass them unchanged (2x2 max-pooled when
the edge has stride 2, as the official ``self.mp = nn.MaxPool2d(2, 2)``). The two parts are
concatenated (processed part first) and channel-shuffled with ``K`` groups, so that the next edge
reading this node samples different channels.
"""
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from tessera_nas.genotypes import PRIMITIVES
from tessera_nas.registry import MODELS

from .mixed_op import MixedOp, check_edge_weights

__all__ = ['channel_shuffle', 'PartialChannelMixedOp']


def channel_shuffle(x: torch.Tensor, groups: int) -> torch.Tensor:
    """ShuffleNet's channel shuffle, as the official PC-DARTS ``channel_shuffle``.

    The ``C`` channels are viewed as a ``(groups, C / groups)`` grid and transposed: output channel
    ``j * groups + g`` is input channel ``g * (C / groups) + j``.

    Args:
        x (Tensor): (N, C, H, W) with ``C`` divisible by ``groups``.
        groups (int): Number of groups.

    Returns:
        Tensor: (N, C, H, W), a channel permutation of ``x``. ``channel_shuffle(., C / groups)``
        inverts it.
    """
    if x.dim() != 4:
        raise ValueError(f'channel_shuffle expects (N, C, H, W) tensors, got {tuple(x.shape)}')
    n, c, h, w = x.shape
    if not isinstance(groups, int) or groups <= 0 or c % groups != 0:
        raise ValueError(f'channel_shuffle: groups={groups!r} must be a positive divisor of the {c} channels')
    return x.view(n, groups, c // groups, h, w).transpose(1, 2).reshape(n, c, h, w)


@MODELS.register_module()
class PartialChannelMixedOp(nn.Module):
    """A PC-DARTS edge: a :class:`MixedOp` on ``C / k`` sampled channels, the rest bypassed.

    Args:
        channels (int): Channels ``C`` of the input and output; must be divisible by ``k``.
        stride (int): 1, or 2 on the edges from the two inputs of a reduction cell.
        primitives (Sequence[str]): Candidate operations, in the order of the weights.
        k (int): The sampling ratio ``K`` (official 4): ``C / K`` channels go through the ops.
        op_dropout (float): P-DARTS operation-level dropout of the inner :class:`MixedOp` (0 in
            PC-DARTS).

    Shapes: forward(x (N, C, H, W), weights (num_ops,)) -> (N, C, H / stride, W / stride); at
    stride 2, H and W must be even (the bypass is 2x2 max-pooled).
    """

    def __init__(self, channels: int, stride: int, primitives: Sequence[str] = PRIMITIVES, k: int = 4,
                 op_dropout: float = 0.0):
        super().__init__()
        if isinstance(k, bool) or not isinstance(k, int) or k < 1:
            raise ValueError(f'PartialChannelMixedOp: k must be a positive int, got {k!r}')
        if not isinstance(channels, int) or channels <= 0 or channels % k != 0:
            raise ValueError(f'PartialChannelMixedOp: k={k} must divide the edge channels, got channels='
                             f'{channels!r}; use channels that are multiples of k at every cell')
        self.channels, self.stride, self.k = channels, stride, k
        self.mixed = MixedOp(channels // k, stride, primitives, op_dropout=op_dropout)
        self.primitives = self.mixed.primitives

    @property
    def num_ops(self) -> int:
        """Number of candidate operations (length of the weight vector)."""
        return self.mixed.num_ops

    @property
    def op_dropout(self) -> float:
        """The operation-level dropout rate of the inner :class:`MixedOp`."""
        return self.mixed.op_dropout

    def set_op_dropout(self, p: float) -> None:
        """See :meth:`MixedOp.set_op_dropout`."""
        self.mixed.set_op_dropout(p)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Apply the ops to the first ``C / k`` channels, bypass the others, concat and shuffle.

        Args:
            x (Tensor): (N, C, H, W).
            weights (Tensor): (num_ops,) weights of the candidates.

        Returns:
            Tensor: (N, C, H / stride, W / stride).
        """
        check_edge_weights(weights, self.num_ops, f'PartialChannelMixedOp{list(self.primitives)}')
        if x.dim() != 4 or x.size(1) != self.channels:
            raise ValueError(f'PartialChannelMixedOp expects (N, {self.channels}, H, W) inputs, '
                             f'got {tuple(x.shape)}')
        if self.stride == 2 and (x.size(2) % 2 or x.size(3) % 2):
            raise ValueError(f'PartialChannelMixedOp at stride 2 needs even spatial sizes, got {tuple(x.shape[2:])}')
        c_sampled = self.channels // self.k
        processed = self.mixed(x[:, :c_sampled], weights)
        if c_sampled == self.channels:  # k = 1: plain DARTS edge, nothing bypasses
            return processed
        bypass = x[:, c_sampled:]
        if self.stride == 2:
            bypass = F.max_pool2d(bypass, 2, 2)
        return channel_shuffle(torch.cat([processed, bypass], dim=1), self.k)
