"""MicroNet (M0-M3) backbone for classification and detection.

MicroNet: Improving Image Recognition with Extremely Low FLOPs, Li et al., ICCV 2021, arXiv:2108.05894
(earlier version: arXiv:2011.12289). Official code: https://github.com/liyunsheng13/micronet
(``backbone/micronet.py``, ``backbone/microconfig.py``, ``scripts/train_micronet_m*_4gpu.sh``).

The per-layer tables below are the official ``microconfig.py`` tables (``msnx_dy6_exp4_4M_221``,
``msnx_dy6_exp6_6M_221``, ``msnx_dy9_exp6_12M_221``, ``msnx_dy12_exp6_20M_020`` for M0-M3) and the
other settings are those of the official training/evaluation scripts (stem ``spatialsepsf``,
``POINTWISE group``, ``DEPTHSEP True``, ``SHUFFLE True``, ``ACTIVATION.MODULE DYShiftMax``,
``ACT_MAX 2.0``, ``REDUCTION 8``, ``INIT_A_BLOCK3 1.0,0.0`` and the per-model ``INIT_A``/``INIT_B``).
"""
from typing import Optional, Sequence, Tuple

import torch
from torch import nn

from tessera_core.models.layers import (DynamicShiftMax, MicroFactorizedDepthwiseConv,
                                        MicroFactorizedPointwiseConv)
from tessera_core.registry import MODELS

from .staged_backbone import StagedBackbone


class MicroBlock(nn.Module):
    """One row of the official MicroNet table (``DYMicroBlock``), with a residual when shape is kept.

    Three layouts, chosen by the row exactly as the official code does:

    - ``'dw-pw'`` (``g1 == 0``, the paper's Micro-Block-A): micro-factorized
      depthwise conv expanding C -> C*e1*e2 (k x 1, 1 x k) -> act (DY-Shift-Max
      with K=2 if ``y2 == 2``, K=1 if ``y2 == 1``, ReLU6 if ``y2 == 0``) ->
      shuffles -> group 1x1 conv (g3 groups) compressing to C_out -> DY-Shift-Max
      K=1 if ``y3 > 0`` -> shuffles.
    - ``'pw-dw-pw'`` (Micro-Block-B/C): group 1x1 conv (g1 groups) expanding to
      C*e1*e2 -> act (``y1``) -> shuffle -> micro-factorized depthwise conv
      (stride) -> act (``y2``) -> shuffle -> group 1x1 conv (g3 groups) to C_out ->
      DY-Shift-Max K=1 if ``y3 > 0`` -> shuffles.
    - ``'pw'`` (``g4 == 0``, the last row): group 1x1 conv (g1 groups) expanding
      to C*e1*e2 (the final feature width) -> DY-Shift-Max K=1 if ``y3 > 0``.

    The shift groups of each DY-Shift-Max and the shuffle groups follow the
    official code line by line (see ``_build_*``).

    Args:
        in_channels (int): C.
        out_channels (int): C_out (the table's ``c``).
        kernel_size (int): k of the depthwise convs.
        stride (int): 1 or 2.
        expand_ratios (tuple[int, int]): (e1, e2) = the table's (c1, c2).
        in_groups (tuple[int, int]): (g1, g2): groups of the expanding 1x1 conv
            and of the shuffle / shift after it.
        out_groups (tuple[int, int]): (g3, g4): the same for the compressing 1x1 conv.
        dynamic (tuple[int, int, int]): (y1, y2, y3), the activation after each
            conv: 0 = ReLU6 (y3: none), 1 = DY-Shift-Max K=1, 2 = K=2 (y3: > 0 = K=1).
        reduction (int): Hidden-width divisor of the DY-Shift-Max hyper-functions (8 * r).
        act_max (float): DY-Shift-Max coefficient range.
        init_a, init_b (tuple[float, float]): DY-Shift-Max offsets after expanding/depthwise convs.
        init_ab_compress (tuple[float, float]): (a, b) offsets of the K=1 DY-Shift-Max after compressing convs.
        norm_cfg (dict): Norm config.

    Shapes: (N, C, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int,
                 expand_ratios: Tuple[int, int], in_groups: Tuple[int, int], out_groups: Tuple[int, int],
                 dynamic: Tuple[int, int, int], reduction: int, act_max: float = 2.0,
                 init_a: Tuple[float, float] = (1.0, 1.0), init_b: Tuple[float, float] = (0.0, 0.0),
                 init_ab_compress: Tuple[float, float] = (1.0, 0.0), norm_cfg: dict = dict(type='BN')):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'MicroBlock stride must be 1 or 2, got {stride}')
        self.act_max, self.init_a, self.init_b = act_max, tuple(init_a), tuple(init_b)
        self.init_ab_compress, self.norm_cfg = tuple(init_ab_compress), norm_cfg
        self.hidden_channels = in_channels * expand_ratios[0] * expand_ratios[1]
        g1, g2 = in_groups
        g3, g4 = out_groups
        y1, y2, y3 = dynamic
        if g1 == 0:
            self.layout = 'dw-pw'
            self.layers = self._build_dw_pw(in_channels, out_channels, kernel_size, stride, expand_ratios,
                                            g2, g3, g4, y2, y3, reduction)
        elif g4 == 0:
            self.layout = 'pw'
            if self.hidden_channels != out_channels:
                raise ValueError(f'the last row expands {in_channels} x {expand_ratios} = '
                                 f'{self.hidden_channels} channels, but the table says {out_channels}')
            self.layers = nn.Sequential(MicroFactorizedPointwiseConv(
                in_channels, out_channels, g1, act=self._compress_act(out_channels, g2, reduction, y3),
                norm_cfg=norm_cfg))
        else:
            self.layout = 'pw-dw-pw'
            self.layers = self._build_pw_dw_pw(in_channels, out_channels, kernel_size, stride, g1, g2, g3, g4,
                                               y1, y2, y3, reduction)
        self.use_residual = stride == 1 and in_channels == out_channels

    def _dynamic_act(self, channels: int, groups: int, reduction: int, y: int) -> nn.Module:
        """Activation after an expanding / depthwise conv: DY-Shift-Max (K = 2 if y == 2 else 1) or ReLU6."""
        if y == 0:
            return nn.ReLU6(inplace=True)
        k = 2 if y == 2 else 1
        return DynamicShiftMax(channels, groups, num_fusions=k, reduction=reduction, act_max=self.act_max,
                               init_a=self.init_a[:k], init_b=self.init_b[:k])

    def _compress_act(self, channels: int, groups: int, reduction: int, y3: int) -> Optional[nn.Module]:
        """Activation after a compressing conv: a single dynamic fusion (K = 1) or none."""
        if y3 == 0:
            return None
        a, b = self.init_ab_compress
        return DynamicShiftMax(channels, groups, num_fusions=1, reduction=reduction, act_max=self.act_max,
                               init_a=(a,), init_b=(b,))

    def _build_dw_pw(self, cin, cout, k, stride, expand_ratios, g2, g3, g4, y2, y3, reduction):
        hid = self.hidden_channels
        dw = MicroFactorizedDepthwiseConv(
            cin, cin * expand_ratios[0], hid, k, stride, groups=cin,
            act=self._dynamic_act(hid, g2, reduction, y2),
            shuffle_groups=(g2,) + ((hid // 2,) if y2 != 0 else ()), norm_cfg=self.norm_cfg)
        pw = MicroFactorizedPointwiseConv(
            hid, cout, g3, act=self._compress_act(cout, g4, reduction // 2, y3),
            shuffle_groups=(g4,) + ((cout // 2,) if cout % 2 == 0 and y3 != 0 else ()), norm_cfg=self.norm_cfg)
        return nn.Sequential(dw, pw)

    def _build_pw_dw_pw(self, cin, cout, k, stride, g1, g2, g3, g4, y1, y2, y3, reduction):
        hid = self.hidden_channels
        expand = MicroFactorizedPointwiseConv(
            cin, hid, g1, act=self._dynamic_act(hid, g2, reduction, y1), shuffle_groups=(g2,),
            norm_cfg=self.norm_cfg)
        # official: the shift after the depthwise conv uses hid / g2 groups of g2 channels ("expansion")
        dw_shift_groups = hid // g2 if g2 != 1 else 1
        if y1 != 0 and y2 != 0:
            dw_shuffle = (hid // 4,)
        elif y1 == 0 and y2 == 0:
            dw_shuffle = ()
        else:
            dw_shuffle = (hid // 2,)
        dw = MicroFactorizedDepthwiseConv(
            hid, hid, hid, k, stride, act=self._dynamic_act(hid, dw_shift_groups, reduction, y2),
            shuffle_groups=dw_shuffle, norm_cfg=self.norm_cfg)
        compress = MicroFactorizedPointwiseConv(
            hid, cout, g3,
            act=self._compress_act(cout, g4, reduction // 2 if cout < hid else reduction, y3),
            shuffle_groups=(g4,) + ((cout // 2,) if y3 != 0 else ()), norm_cfg=self.norm_cfg)
        return nn.Sequential(expand, dw, compress)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.layers(x)
        return out + x if self.use_residual else out


@MODELS.register_module()
class MicroNet(StagedBackbone):
    """MicroNet M0-M3 (paper Sec. 4, Table 1; the official per-layer tables).

    Layout for a 224 x 224 input (out index in brackets; channels M0 / M1 / M2 / M3):

    - ``stem`` (stride 2): 3 x 1 conv (stride 2, 1) to g1 channels -> BN -> 1 x 3
      group conv (stride 1, 2) to g1 * g2 -> BN -> ReLU6 -> shuffle (g1):
      4 / 6 / 8 / 12 channels
    - ``stages[0]`` (stride 4, [0]): 8 / 8 / 12 / 16
    - ``stages[1]`` (stride 8, [1]): 12 / 16 / 24 / 24
    - ``stages[2]`` (stride 16, [2]): 32 / 32 / 64 / 80
    - ``stages[3]`` (stride 32, [3]): 96 / 96 / 128 / 144
    - ``final_conv`` (stride 32, [4]): the last table row, a 1x1 group conv
      (+ DY-Shift-Max for M0-M2): 384 / 576 / 768 / 864

    Table rows are grouped by the resolution of their output: each stride-2 row
    opens a stage, so every stage ends with the last map of its resolution.

    Classification (paper setting): ``out_indices=(4,)``, no neck, and
    :class:`MicroNetClsHead` (ReLU6 -> average pooling -> h-swish -> Linear +
    BN + h-swish to ``head_channels`` -> dropout -> Linear + BN + h-swish), with
    ``head_channels`` / ``dropout`` from ``arch_settings[arch]``. Detection: e.g.
    ``out_indices=(0, 1, 2, 3)`` (strides 4/8/16/32).

    Args:
        arch (str): 'm0', 'm1', 'm2' or 'm3'.
        in_channels (int): Input image channels.
        out_indices (Sequence[int]): Outputs to return, from 0..4 (list above).
            Parts after the deepest requested output are not built.
        frozen_stages (int): -1 freezes nothing; ``k >= 0`` freezes the stem and
            the parts with out index ``< k`` (5 freezes everything): parameters get
            ``requires_grad=False`` and their norms stay in eval mode.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        stem_stride (int): 2 (paper) or 1 for small images (28-32 px): all
            output strides halve, a 28 x 28 image gives 2 x 2 at out index 3/4.
        norm_cfg (dict): mmcv norm config of every conv.
        init_cfg (dict | list[dict], optional): Default = the official init:
            conv weights N(0, sqrt(2 / (k_h k_w C_out))), linears (the
            DY-Shift-Max hyper-functions) N(0, 0.01) with zero bias, BN weight 1.

    Shapes: input (N, in_channels, H, W); the output at index i is
    (N, C_i, H / s_i, W / s_i) with s = (4, 8, 16, 32, 32) * stem_stride / 2
    (rounded up) and C_i = ``self.stage_channels[i]``. ``forward`` returns a tuple
    in the order of ``out_indices``; ``self.out_channels`` lists their channels.
    """

    # Official per-layer rows, one block each (repeated n times, stride s on the first):
    # (s, n, c, ks, c1, c2, g1, g2, c3, g3, g4, y1, y2, y3, r) = stride, repeats, output channels,
    # depthwise kernel, expansion ratios (hidden = C_in * c1 * c2), groups of the expanding 1x1 conv (g1;
    # 0 = Micro-Block-A: expand with the depthwise conv instead) and of its shuffle/shift (g2), c3 (the
    # official "hidden_fft", unused by its 'group' pointwise mode; 0 marks the last row), groups of the
    # compressing 1x1 conv (g3) and of its shuffle/shift (g4), activations y1/y2/y3 after the three convs
    # (see MicroBlock), r (DY-Shift-Max reduction = 8 * r).
    # Stem: stem_groups (g1, g2) = channels of the 3 x 1 conv and multiplier of the 1 x 3 conv.
    # Head (MicroNetClsHead): head_channels (OUT_CH), dropout. DY-Shift-Max offsets: init_a, init_b.
    arch_settings = {
        'm0': dict(  # msnx_dy6_exp4_4M_221
            stem_groups=(2, 2), head_channels=640, dropout=0.05, init_a=(1.0, 1.0), init_b=(0.0, 0.0),
            blocks=(
                (2, 1, 8, 3, 2, 2, 0, 4, 8, 2, 2, 2, 0, 1, 1),
                (2, 1, 12, 3, 2, 2, 0, 8, 12, 4, 4, 2, 2, 1, 1),
                (2, 1, 16, 5, 2, 2, 0, 12, 16, 4, 4, 2, 2, 1, 1),
                (1, 1, 32, 5, 1, 4, 4, 4, 32, 4, 4, 2, 2, 1, 1),
                (2, 1, 64, 5, 1, 4, 8, 8, 64, 8, 8, 2, 2, 1, 1),
                (1, 1, 96, 3, 1, 4, 8, 8, 96, 8, 8, 2, 2, 1, 2),
                (1, 1, 384, 3, 1, 4, 12, 12, 0, 0, 0, 2, 2, 1, 2))),
        'm1': dict(  # msnx_dy6_exp6_6M_221
            stem_groups=(3, 2), head_channels=960, dropout=0.05, init_a=(1.0, 1.0), init_b=(0.0, 0.0),
            blocks=(
                (2, 1, 8, 3, 2, 2, 0, 6, 8, 2, 2, 2, 0, 1, 1),
                (2, 1, 16, 3, 2, 2, 0, 8, 16, 4, 4, 2, 2, 1, 1),
                (2, 1, 16, 5, 2, 2, 0, 16, 16, 4, 4, 2, 2, 1, 1),
                (1, 1, 32, 5, 1, 6, 4, 4, 32, 4, 4, 2, 2, 1, 1),
                (2, 1, 64, 5, 1, 6, 8, 8, 64, 8, 8, 2, 2, 1, 1),
                (1, 1, 96, 3, 1, 6, 8, 8, 96, 8, 8, 2, 2, 1, 2),
                (1, 1, 576, 3, 1, 6, 12, 12, 0, 0, 0, 2, 2, 1, 2))),
        'm2': dict(  # msnx_dy9_exp6_12M_221
            stem_groups=(4, 2), head_channels=1024, dropout=0.1, init_a=(1.0, 1.0), init_b=(0.0, 0.0),
            blocks=(
                (2, 1, 12, 3, 2, 2, 0, 8, 12, 4, 4, 2, 0, 1, 1),
                (2, 1, 16, 3, 2, 2, 0, 12, 16, 4, 4, 2, 2, 1, 1),
                (1, 1, 24, 3, 2, 2, 0, 16, 24, 4, 4, 2, 2, 1, 1),
                (2, 1, 32, 5, 1, 6, 6, 6, 32, 4, 4, 2, 2, 1, 1),
                (1, 1, 32, 5, 1, 6, 8, 8, 32, 4, 4, 2, 2, 1, 2),
                (1, 1, 64, 5, 1, 6, 8, 8, 64, 8, 8, 2, 2, 1, 2),
                (2, 1, 96, 5, 1, 6, 8, 8, 96, 8, 8, 2, 2, 1, 2),
                (1, 1, 128, 3, 1, 6, 12, 12, 128, 8, 8, 2, 2, 1, 2),
                (1, 1, 768, 3, 1, 6, 16, 16, 0, 0, 0, 2, 2, 1, 2))),
        'm3': dict(  # msnx_dy12_exp6_20M_020
            stem_groups=(4, 3), head_channels=1024, dropout=0.1, init_a=(1.0, 0.5), init_b=(0.0, 0.5),
            blocks=(
                (2, 1, 16, 3, 2, 2, 0, 12, 16, 4, 4, 0, 2, 0, 1),
                (2, 1, 24, 3, 2, 2, 0, 16, 24, 4, 4, 0, 2, 0, 1),
                (1, 1, 24, 3, 2, 2, 0, 24, 24, 4, 4, 0, 2, 0, 1),
                (2, 1, 32, 5, 1, 6, 6, 6, 32, 4, 4, 0, 2, 0, 1),
                (1, 1, 32, 5, 1, 6, 8, 8, 32, 4, 4, 0, 2, 0, 2),
                (1, 1, 64, 5, 1, 6, 8, 8, 48, 8, 8, 0, 2, 0, 2),
                (1, 1, 80, 5, 1, 6, 8, 8, 80, 8, 8, 0, 2, 0, 2),
                (1, 1, 80, 5, 1, 6, 10, 10, 80, 8, 8, 0, 2, 0, 2),
                (2, 1, 120, 5, 1, 6, 10, 10, 120, 10, 10, 0, 2, 0, 2),
                (1, 1, 120, 5, 1, 6, 12, 12, 120, 10, 10, 0, 2, 0, 2),
                (1, 1, 144, 3, 1, 6, 12, 12, 144, 12, 12, 0, 2, 0, 2),
                (1, 1, 864, 3, 1, 6, 12, 12, 0, 0, 0, 0, 2, 0, 2))),
    }
    # Settings shared by the four official scripts.
    act_max = 2.0  # MODEL.ACTIVATION.ACT_MAX: dynamic coefficients in [-2, 2]
    reduction = 8  # MODEL.ACTIVATION.REDUCTION (times r of each row)
    init_ab_compress = (1.0, 0.0)  # MODEL.ACTIVATION.INIT_A_BLOCK3
    stem_kernel = 3
    num_outputs = 5  # four stages + the last row

    def __init__(self, arch: str = 'm3', in_channels: int = 3, out_indices: Sequence[int] = (4,),
                 frozen_stages: int = -1, norm_eval: bool = False, stem_stride: int = 2,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 init_cfg=(dict(type='Kaiming', layer='Conv2d', mode='fan_out', nonlinearity='relu',
                                distribution='normal'),
                           dict(type='Normal', layer='Linear', std=0.01),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, (list, tuple)) else init_cfg)
        if arch not in self.arch_settings:
            raise ValueError(f'invalid arch {arch!r} for MicroNet; valid: {", ".join(self.arch_settings)}')
        self.arch = arch
        self._set_output_args(out_indices, frozen_stages, norm_eval, stem_stride, self.num_outputs,
                              '0-3: stages at strides 4/8/16/32, 4: last 1x1 conv')
        setting = self.arch_settings[arch]

        g1, g2 = setting['stem_groups']
        channels = g1 * g2
        self.stem = MicroFactorizedDepthwiseConv(
            in_channels, g1, channels, self.stem_kernel, stem_stride, groups=1, act=nn.ReLU6(inplace=True),
            shuffle_groups=(g1,), norm_cfg=norm_cfg)

        rows = setting['blocks']
        # group the rows before the last one into stages: each stride-2 row opens a stage
        grouped = []
        for row in rows[:-1]:
            if row[0] == 2 or not grouped:
                grouped.append([])
            grouped[-1].append(row)
        if len(grouped) != self.num_outputs - 1:
            raise AssertionError(f'arch {arch!r}: the table gives {len(grouped)} stages, expected 4')
        last = max(out_indices)
        stages, self.stage_channels = [], ()
        for stage_rows in grouped[:last + 1]:
            blocks = []
            for row in stage_rows:
                new_blocks, channels = self._make_blocks(row, channels, setting, norm_cfg)
                blocks += new_blocks
            stages.append(nn.Sequential(*blocks))
            self.stage_channels += (channels,)
        self.stages = nn.ModuleList(stages)
        self.final_conv = None
        if last == self.num_outputs - 1:
            blocks, channels = self._make_blocks(rows[-1], channels, setting, norm_cfg)
            self.final_conv = blocks[0]
            self.stage_channels += (channels,)
        self.out_channels: Tuple[int, ...] = tuple(self.stage_channels[i] for i in out_indices)
        self._freeze_stages()

    def _make_blocks(self, row, in_channels, setting, norm_cfg):
        s, n, c, ks, c1, c2, g1, g2, _c3, g3, g4, y1, y2, y3, r = row
        blocks = []
        for i in range(n):
            blocks.append(MicroBlock(
                in_channels, c, ks, s if i == 0 else 1, (c1, c2), (g1, g2), (g3, g4), (y1, y2, y3),
                reduction=self.reduction * r, act_max=self.act_max, init_a=setting['init_a'],
                init_b=setting['init_b'], init_ab_compress=self.init_ab_compress, norm_cfg=norm_cfg))
            in_channels = c
        return blocks, c

    def switch_to_deploy(self) -> 'MicroNet':
        """Fold every BatchNorm into the conv before it, in place, for inference.

        In eval mode the outputs are unchanged (up to float rounding); training
        afterwards is no longer the same model. Idempotent.
        """
        for m in self.modules():
            if isinstance(m, (MicroFactorizedPointwiseConv, MicroFactorizedDepthwiseConv)):
                m.switch_to_deploy()
        self.deployed = True
        return self
