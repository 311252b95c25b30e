"""Polarized Self-Attention (PSA) block.

Polarized Self-Attention: Towards High-quality Pixel-wise Regression, Liu, Liu, Fan, Huang,
arXiv:2107.00782. Official code: https://github.com/DeLightCMU/PSA
(``semantic-segmentation/network/PSA.py``, classes ``PSA_p`` and ``PSA_s``).

PSA gates a feature map ``X`` (N, C, H, W) with two "polarized" attentions, each keeping full
resolution along one axis while collapsing the other completely (paper Eqs. 1-5):

Channel-only branch (Eq. 1), a weight per channel::

    A_ch(X) = sigmoid(LayerNorm(W_z(sigma_1(W_v X) x softmax_HW(sigma_2(W_q X)))))  in R^{C x 1 x 1}

``W_v``: 1x1 conv C -> C/2, ``W_q``: 1x1 conv C -> 1, softmax over the H*W positions,
``x`` the matrix product (C/2, HW) x (HW, 1), ``W_z``: 1x1 conv C/2 -> C, LayerNorm over the C
channels, sigmoid. Output ``Z_ch = A_ch(X) * X`` (broadcast over H, W).

Spatial-only branch (Eq. 3), a weight per pixel::

    A_sp(X) = sigmoid(sigma_3(softmax_C(sigma_1(GAP(W_q X))) x sigma_2(W_v X)))  in R^{1 x H x W}

``W_q``, ``W_v``: 1x1 convs C -> C/2, global average pooling of ``W_q X``, softmax over the C/2
channels, the product (1, C/2) x (C/2, HW), sigmoid. Output ``Z_sp = A_sp(X) * X``.

Layouts (Eqs. 4-5): parallel ``PSA_p(X) = Z_ch + Z_sp``; sequential
``PSA_s(X) = Z_sp(Z_ch(X))`` (the spatial branch attends to the channel-gated map).

Paper vs. official code. The official ``PSA.py`` departs from the paper's equations in ways the
paper does not describe: ``PSA_p`` has no LayerNorm after ``W_z`` and applies its spatial softmax
after the product (over H*W) instead of to the pooled query (over channels); ``PSA_s`` replaces
``W_z`` by a GCNet-style bottleneck (conv C/2 -> C/8, LayerNorm, ReLU, conv -> C) and softmaxes
``W_v X`` over H*W (reported in DeLightCMU/PSA issue #5). This module follows the paper's
equations (the same in both layouts) and takes from the official code what the paper leaves
open: bias-free 1x1 convs, the internal width ``C // 2``, Kaiming-normal (fan-in) initialisation
of the four query/value convs, PyTorch's default for ``W_z``.
"""
from typing import Optional, Tuple

import torch
from mmengine.model import BaseModule
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn

from tessera_core.registry import MODELS


@MODELS.register_module('PSA')
@MODELS.register_module()
class PolarizedSelfAttention(BaseModule):
    """Polarized Self-Attention block (see module doc), shape preserving.

    Registered as ``'PolarizedSelfAttention'`` and ``'PSA'`` in tessera-core's ``MODELS`` and as
    ``'PSA'`` in mmengine's root ``MODELS``, where mmcv's ``build_plugin_layer`` looks plugin
    types up from any default scope, so it works as an mmcv/mmdet backbone plugin::

        plugins=[dict(cfg=dict(type='PSA', layout='sequential'),
                      stages=(False, True, True, True), position='after_conv2')]

    and directly: ``build_plugin_layer(dict(type='PSA'), in_channels=C)`` returns
    ``('psa', PolarizedSelfAttention(C))``.

    Parameters (C' = C // 2): channel branch ``W_v`` C C', ``W_q`` C, ``W_z`` C' C, LayerNorm
    2 C; spatial branch ``W_q`` C C', ``W_v`` C C'. Both branches: ``4 C C' + 3 C``
    (``2 C^2 + 3 C`` for even C), the same in both layouts (:meth:`num_parameters`).

    Args:
        in_channels (int): Channels C of the input and output (at least 2).
        layout (str): ``'parallel'`` (``Z_ch + Z_sp``) or ``'sequential'`` (``Z_sp(Z_ch)``).
        branches (str): ``'both'`` (the PSA block), ``'channel_only'`` (``Z_ch``) or
            ``'spatial_only'`` (``Z_sp``), for the paper's ablations; with one branch the layout
            has no effect.
        init_cfg (dict | list[dict], optional): mmengine initialisation config.

    Shapes: (N, C, H, W) -> (N, C, H, W).
    """
    _abbr_ = 'psa'
    layouts = ('parallel', 'sequential')
    branch_choices = ('both', 'channel_only', 'spatial_only')

    def __init__(self, in_channels: int, layout: str = 'parallel', branches: str = 'both',
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if not isinstance(in_channels, int) or isinstance(in_channels, bool) or in_channels < 2:
            raise ValueError(f'in_channels must be an int >= 2 (the branches work at C // 2), got {in_channels!r}')
        if layout not in self.layouts:
            raise ValueError(f'invalid layout {layout!r} for PSA; valid: {", ".join(map(repr, self.layouts))}')
        if branches not in self.branch_choices:
            raise ValueError(f'invalid branches {branches!r} for PSA; valid: '
                             f'{", ".join(map(repr, self.branch_choices))}')
        self.in_channels, self.layout, self.branches = in_channels, layout, branches
        self.inter_channels = in_channels // 2
        c, ci = in_channels, self.inter_channels
        self.with_channel = branches in ('both', 'channel_only')
        self.with_spatial = branches in ('both', 'spatial_only')
        if self.with_channel:
            self.ch_wv = nn.Conv2d(c, ci, 1, bias=False)
            self.ch_wq = nn.Conv2d(c, 1, 1, bias=False)
            self.ch_wz = nn.Conv2d(ci, c, 1, bias=False)
            self.ch_ln = nn.LayerNorm(c)
        if self.with_spatial:
            self.sp_wq = nn.Conv2d(c, ci, 1, bias=False)
            self.sp_wv = nn.Conv2d(c, ci, 1, bias=False)
        for name in ('ch_wv', 'ch_wq', 'sp_wq', 'sp_wv'):
            if hasattr(self, name):
                nn.init.kaiming_normal_(getattr(self, name).weight, mode='fan_in', nonlinearity='relu')

    @staticmethod
    def num_parameters(in_channels: int, branches: str = 'both') -> int:
        """Closed-form parameter count: ``2 C (C // 2) + 3 C`` per channel branch,
        ``2 C (C // 2)`` per spatial branch (independent of the layout)."""
        c, ci = in_channels, in_channels // 2
        channel, spatial = 2 * c * ci + 3 * c, 2 * c * ci
        return {'both': channel + spatial, 'channel_only': channel, 'spatial_only': spatial}[branches]

    def extra_repr(self) -> str:
        return f'{self.in_channels}, layout={self.layout!r}, branches={self.branches!r}'

    def _check_input(self, x: torch.Tensor) -> Tuple[int, int, int, int]:
        if x.dim() != 4 or x.shape[1] != self.in_channels:
            raise ValueError(f'PolarizedSelfAttention expects input (N, {self.in_channels}, H, W), '
                             f'got {tuple(x.shape)}')
        return tuple(x.shape)

    def channel_attention(self, x: torch.Tensor) -> torch.Tensor:
        """A_ch(x) (Eq. 1): x (N, C, H, W) -> channel weights (N, C, 1, 1) in (0, 1)."""
        n, c, h, w = self._check_input(x)
        v = self.ch_wv(x).reshape(n, self.inter_channels, h * w)        # sigma_1(W_v x): (N, C/2, HW)
        q = torch.softmax(self.ch_wq(x).reshape(n, h * w, 1), dim=1)     # softmax_HW(sigma_2(W_q x)): (N, HW, 1)
        z = torch.bmm(v, q).reshape(n, self.inter_channels, 1, 1)       # (N, C/2, 1, 1)
        z = self.ch_ln(self.ch_wz(z).reshape(n, c))                      # LayerNorm(W_z z): (N, C)
        return torch.sigmoid(z).reshape(n, c, 1, 1)

    def spatial_attention(self, x: torch.Tensor) -> torch.Tensor:
        """A_sp(x) (Eq. 3): x (N, C, H, W) -> pixel weights (N, 1, H, W) in (0, 1)."""
        n, c, h, w = self._check_input(x)
        q = self.sp_wq(x).mean(dim=(2, 3))                               # GAP(W_q x): (N, C/2)
        q = torch.softmax(q, dim=1).reshape(n, 1, self.inter_channels)   # softmax over C/2: (N, 1, C/2)
        v = self.sp_wv(x).reshape(n, self.inter_channels, h * w)         # sigma_2(W_v x): (N, C/2, HW)
        return torch.sigmoid(torch.bmm(q, v).reshape(n, 1, h, w))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W) -> (N, C, H, W): ``Z_ch + Z_sp`` (parallel), ``Z_sp(Z_ch)`` (sequential),
        or one branch alone."""
        if not self.with_spatial:
            return self.channel_attention(x) * x
        if not self.with_channel:
            return self.spatial_attention(x) * x
        if self.layout == 'parallel':
            return self.channel_attention(x) * x + self.spatial_attention(x) * x
        z_ch = self.channel_attention(x) * x
        return self.spatial_attention(z_ch) * z_ch


MMENGINE_MODELS.register_module('PSA', module=PolarizedSelfAttention)
