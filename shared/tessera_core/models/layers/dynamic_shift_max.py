"""Dynamic Shift-Max: a dynamic activation maxing out fusions of a feature map and its circular channel shifts.

MicroNet: Improving Image Recognition with Extremely Low FLOPs, Li et al., ICCV 2021, arXiv:2108.05894
(earlier version: arXiv:2011.12289). Official code: https://github.com/liyunsheng13/micronet
(``backbone/activation.py``, class ``DYShiftMax``).
"""
from typing import Sequence

import torch
from torch import nn

from tessera_core.models.utils import make_divisible


def group_shift_index(channels: int, groups: int) -> torch.Tensor:
    """Channel index of the official code's circular shift (one group over and one channel over).

    The channels are viewed as ``groups`` groups of ``C / groups``; output
    channel ``(g, c)`` (group ``g``, position ``c``) takes input channel
    ``((g + 1) mod G, (c + 1) mod (C / G))``, i.e. ``x[:, index]`` is the shifted
    map. The paper writes the shift as ``(i + C / G) mod C`` (a whole group);
    the official code shifts the position inside the group by one as well, which
    we follow.

    Args:
        channels (int): C.
        groups (int): G, must divide C.

    Returns:
        torch.Tensor: int64 (C,) permutation of ``range(C)``.
    """
    if groups <= 0 or channels % groups:
        raise ValueError(f'groups={groups} must be a positive divisor of channels={channels}')
    per_group = channels // groups
    g = torch.arange(groups).repeat_interleave(per_group)
    c = torch.arange(per_group).repeat(groups)
    return ((g + 1) % groups) * per_group + (c + 1) % per_group


class DynamicShiftMax(nn.Module):
    """Dynamic Shift-Max (paper Sec. 3.2, Eq. 5; the official ``DYShiftMax``).

    ``y_i = max_{k < K} sum_{j < J} a^k_{i,j}(x) * x_{shift^j(i)}`` where
    ``shift`` is :func:`group_shift_index` (``shift^0`` = identity) and the
    ``K * J * C`` coefficients come from a hyper-function of the whole input:
    global average pooling -> Linear(C, S) -> ReLU -> Linear(S, K*J*C) ->
    hard sigmoid ``h`` -> ``(h - 0.5) * 2 * act_max`` (values in
    ``[-act_max, act_max]``) plus a fixed offset: ``init_a[k]`` for the
    unshifted term (j = 0) and ``init_b[k]`` for the shifted ones (j >= 1).
    The hidden width is ``S = make_divisible(C // reduction, 4)`` (at least 4).

    MicroNet uses J = 2 and either K = 2 (after depthwise and expanding convs,
    ReLU-like; the official ``act_relu=True``) or K = 1 (after compressing
    convs, a single dynamic linear fusion). The official scripts set
    ``act_max = 2`` (``MODEL.ACTIVATION.ACT_MAX``), ``init_a = (1, 1)``,
    ``init_b = (0, 0)`` (M3: ``(1, 0.5)``, ``(0, 0.5)``) for K = 2 and
    ``init_a = (1,)``, ``init_b = (0,)`` (``INIT_A_BLOCK3``) for K = 1. With the
    official init (linears ~ N(0, 0.01), zero bias) the hyper-function outputs
    about 0, so the layer starts near the fixed-offset fusion (identity for
    ``a = 1, b = 0``).

    Args:
        channels (int): C (input = output channels).
        groups (int): G, channel groups of the circular shift (divides C).
        num_fusions (int): K, fusions maxed over (1 = no max).
        num_shifts (int): J, terms per fusion (the input and J - 1 shifts).
        reduction (int): Hidden width divisor of the hyper-function.
        act_max (float): Range of the dynamic part of each coefficient.
        init_a (Sequence[float]): K offsets of the unshifted coefficients.
        init_b (Sequence[float]): K offsets of the shifted coefficients.

    Shapes: (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, channels: int, groups: int, num_fusions: int = 2, num_shifts: int = 2,
                 reduction: int = 8, act_max: float = 2.0, init_a: Sequence[float] = (1.0, 1.0),
                 init_b: Sequence[float] = (0.0, 0.0)):
        super().__init__()
        if num_fusions < 1 or num_shifts < 1:
            raise ValueError(f'num_fusions (K={num_fusions}) and num_shifts (J={num_shifts}) must be >= 1')
        if len(init_a) != num_fusions or len(init_b) != num_fusions:
            raise ValueError(f'init_a {tuple(init_a)} and init_b {tuple(init_b)} need one value per fusion '
                             f'(K={num_fusions})')
        if reduction < 1:
            raise ValueError(f'reduction must be >= 1, got {reduction}')
        self.channels, self.groups = channels, groups
        self.num_fusions, self.num_shifts, self.act_max = num_fusions, num_shifts, act_max
        self.squeeze_channels = max(4, make_divisible(channels // reduction, 4))
        self.fc = nn.Sequential(
            nn.Linear(channels, self.squeeze_channels),
            nn.ReLU(inplace=True),
            nn.Linear(self.squeeze_channels, channels * num_fusions * num_shifts),
            nn.Hardsigmoid())
        self.register_buffer('shift_index', group_shift_index(channels, groups), persistent=False)
        offsets = torch.tensor([[a] + [b] * (num_shifts - 1) for a, b in zip(init_a, init_b)],
                               dtype=torch.float32)
        self.register_buffer('init_offsets', offsets, persistent=False)  # (K, J)

    def coefficients(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W) -> coefficients a (N, K, J, C, 1, 1), offsets included."""
        n, c = x.shape[:2]
        h = self.fc(x.mean(dim=(2, 3)))
        a = (h - 0.5) * (2 * self.act_max)
        a = a.view(n, self.num_fusions, self.num_shifts, c, 1, 1)
        return a + self.init_offsets.to(a.dtype).view(1, self.num_fusions, self.num_shifts, 1, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.size(1) != self.channels:
            raise ValueError(f'DynamicShiftMax expects (N, {self.channels}, H, W), got {tuple(x.shape)}')
        coefs = self.coefficients(x)
        terms = [x]
        for _ in range(1, self.num_shifts):
            terms.append(terms[-1][:, self.shift_index])
        out = None
        for k in range(self.num_fusions):
            fused = sum(coefs[:, k, j] * term for j, term in enumerate(terms))
            out = fused if out is None else torch.maximum(out, fused)
        return out

    def extra_repr(self) -> str:
        return (f'channels={self.channels}, groups={self.groups}, K={self.num_fusions}, J={self.num_shifts}, '
                f'squeeze={self.squeeze_channels}, act_max={self.act_max}, '
                f'init={self.init_offsets.tolist()}')
