"""G-GhostNet on RegNetX (G-Ghost RegNet) backbone for classification and detection.

GhostNets on Heterogeneous Devices via Cheap Operations, Han et al., IJCV 2022, arXiv:2201.03297.
Official code: https://github.com/huawei-noah/Efficient-AI-Backbones (g_ghost_pytorch/g_ghost_regnet.py).

The GPU-oriented G-GhostNet of the paper: RegNetX (Designing Network Design
Spaces, Radosavovic et al., CVPR 2020, arXiv:2003.13678) whose deeper stages are
:class:`~tessera_core.models.layers.GGhostStage` s, with the official code's 12
RegNetX sizes and its rules (which stages become G-Ghost stages, cheap ratio 0.5,
complex blocks with 0.75x the group width).
"""
from functools import partial
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from tessera_core.models.layers import ConvBnAct, GGhostStage
from tessera_core.registry import MODELS

from .staged_backbone import StagedBackbone


class RegNetXBlock(nn.Module):
    """RegNetX's residual bottleneck (bottleneck ratio 1): 1x1 conv -> 3x3 group conv -> 1x1 conv.

    ``act(bn(conv1x1(x)))`` -> ``act(bn(conv3x3(., stride, groups)))`` ->
    ``bn(conv1x1(.))``, plus the shortcut (identity, or 1x1 conv (stride) + BN when
    the shape changes), then ``act``. The 3x3 conv has
    ``groups = C_out // min(C_out, group_width)``, i.e. ``group_width`` channels per group.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out (also the inner width).
        stride (int): Stride of the 3x3 conv and of the projection shortcut.
        group_width (int): Channels per group of the 3x3 conv.
        norm_cfg (dict): Norm config.
        act_cfg (dict): Activation config (ReLU).

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, group_width: int = 1,
                 norm_cfg: dict = dict(type='BN'), act_cfg: dict = dict(type='ReLU', inplace=True)):
        super().__init__()
        groups = out_channels // min(out_channels, group_width)
        if out_channels % groups:
            raise ValueError(f'RegNetXBlock: {out_channels} channels cannot be split into groups of '
                             f'{group_width} channels')
        self.conv1 = ConvBnAct(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv2 = ConvBnAct(out_channels, out_channels, 3, stride, groups=groups, norm_cfg=norm_cfg,
                               act_cfg=act_cfg)
        self.conv3 = ConvBnAct(out_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.shortcut = (None if stride == 1 and in_channels == out_channels else
                         ConvBnAct(in_channels, out_channels, 1, stride, norm_cfg=norm_cfg, act_cfg=None))
        self.act = build_activation_layer(act_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(self.conv2(self.conv1(x)))
        return self.act(y + (x if self.shortcut is None else self.shortcut(x)))


@MODELS.register_module()
class GGhostRegNet(StagedBackbone):
    """G-Ghost RegNetX backbone (the official ``g_ghost_regnetx_*`` models).

    Layout for a 224 x 224 input (out index in brackets), e.g. ``arch='3.2gf'``:

    - ``stem`` (stride 2): 3x3/2 conv-BN-ReLU to 32 channels
    - ``stages[0]`` (stride 4, [0]): plain RegNetX stage, 2 blocks -> 96
    - ``stages[1]`` (stride 8, [1]): G-Ghost stage, 6 blocks -> 192 = 72 complex + 120 cheap
    - ``stages[2]`` (stride 16, [2]): G-Ghost stage, 15 blocks -> 432 = 216 + 216
    - ``stages[3]`` (stride 32, [3]): plain RegNetX stage, 2 blocks -> 1008 (the final feature)

    Each stage starts with a stride-2 block. A stage becomes a G-Ghost stage
    (:class:`~tessera_core.models.layers.GGhostStage`) where the table's cheap
    ratio is > 0: in the official code, the second and fourth stages if they have
    more than 2 blocks, and always the third; the first stage stays plain. The
    thin blocks of a G-Ghost stage use ``0.75 * group_width`` channels per group
    and their width is rounded down to a multiple of it.

    Classification (official setting): ``out_indices=(3,)`` followed by
    ``GlobalAveragePooling`` and ``LinearClsHead(in_channels=widths[-1], dropout=0.2)``.
    Detection: ``out_indices=(0, 1, 2, 3)`` gives strides 4/8/16/32, numbered like
    :class:`GhostNet`'s and :class:`ResNet`'s stages (RegNet has no head conv:
    index 3 is the final feature).

    Args:
        arch (str | dict): One of ``arch_settings`` ('200mf' ... '32gf' for the
            official ``g_ghost_regnetx_002`` ... ``_320``), or a dict with keys
            ``depths``, ``widths``, ``group_width``, ``cheap_ratios`` (4 stages each).
        in_channels (int): Input image channels.
        cheap_ratio (float, optional): Overrides the cheap ratio of every G-Ghost
            stage of the table (plain stages stay plain); must lie in (0, 1).
        out_indices (Sequence[int]): Outputs to return, from 0..3. Stages after the
            deepest requested output are not built.
        frozen_stages (int): -1 freezes nothing; ``k >= 0`` freezes the stem and
            the stages with out index ``< k`` (4 freezes everything): parameters get
            ``requires_grad=False`` and their norms stay in eval mode.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        stem_stride (int): 2 (paper) or 1 for small images (28-32 px); all output
            strides halve, e.g. a 28 x 28 image gives a 2 x 2 map at index 3.
        norm_cfg (dict): mmcv norm config (BatchNorm).
        act_cfg (dict): Activation (ReLU).
        init_cfg (dict | list[dict], optional): mmengine weight init (official:
            Kaiming normal, fan_out, for convs; BN weight 1, bias 0).

    Shapes: input (N, in_channels, H, W); the output at index i is
    (N, widths[i], H / s_i, W / s_i) with s = (4, 8, 16, 32) * stem_stride / 2
    (rounded up). ``forward`` returns a tuple in the order of ``out_indices``;
    ``self.out_channels`` lists their channels.
    """

    # RegNetX sizes of the official g_ghost_regnetx_* builders. Columns: depths (blocks per stage),
    # widths (stage widths = block widths, bottleneck ratio 1), group_width (channels per group of
    # the 3x3 conv), cheap_ratios (fraction of a stage's width made by the cheap operation; 0 = plain
    # RegNetX stage).
    arch_settings = {
        '200mf': dict(depths=(1, 1, 4, 7), widths=(24, 56, 152, 368), group_width=8,
                      cheap_ratios=(0, 0, 0.5, 0.5)),
        '400mf': dict(depths=(1, 2, 7, 12), widths=(32, 64, 160, 384), group_width=16,
                      cheap_ratios=(0, 0, 0.5, 0.5)),
        '600mf': dict(depths=(1, 3, 5, 7), widths=(48, 96, 240, 528), group_width=24,
                      cheap_ratios=(0, 0.5, 0.5, 0.5)),
        '800mf': dict(depths=(1, 3, 7, 5), widths=(64, 128, 288, 672), group_width=16,
                      cheap_ratios=(0, 0.5, 0.5, 0.5)),
        '1.6gf': dict(depths=(2, 4, 10, 2), widths=(72, 168, 408, 912), group_width=24,
                      cheap_ratios=(0, 0.5, 0.5, 0)),
        '3.2gf': dict(depths=(2, 6, 15, 2), widths=(96, 192, 432, 1008), group_width=48,
                      cheap_ratios=(0, 0.5, 0.5, 0)),
        '4.0gf': dict(depths=(2, 5, 14, 2), widths=(80, 240, 560, 1360), group_width=40,
                      cheap_ratios=(0, 0.5, 0.5, 0)),
        '6.4gf': dict(depths=(2, 4, 10, 1), widths=(168, 392, 784, 1624), group_width=56,
                      cheap_ratios=(0, 0.5, 0.5, 0)),
        '8.0gf': dict(depths=(2, 5, 15, 1), widths=(80, 240, 720, 1920), group_width=120,
                      cheap_ratios=(0, 0.5, 0.5, 0)),
        '12gf': dict(depths=(2, 5, 11, 1), widths=(224, 448, 896, 2240), group_width=112,
                     cheap_ratios=(0, 0.5, 0.5, 0)),
        '16gf': dict(depths=(2, 6, 13, 1), widths=(256, 512, 896, 2048), group_width=128,
                     cheap_ratios=(0, 0.5, 0.5, 0)),
        '32gf': dict(depths=(2, 7, 13, 1), widths=(336, 672, 1344, 2520), group_width=168,
                     cheap_ratios=(0, 0.5, 0.5, 0)),
    }
    arch_keys = ('depths', 'widths', 'group_width', 'cheap_ratios')
    stem_channels = 32
    complex_group_width_factor = 0.75  # the thin blocks of a G-Ghost stage: int(0.75 * group_width)
    num_stages = 4

    def __init__(self, arch: Union[str, dict] = '3.2gf', in_channels: int = 3,
                 cheap_ratio: Optional[float] = None, out_indices: Sequence[int] = (3,),
                 frozen_stages: int = -1, norm_eval: bool = False, stem_stride: int = 2,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 init_cfg=(dict(type='Kaiming', layer='Conv2d'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, (list, tuple)) else init_cfg)
        arch = self._parse_arch(arch)
        if cheap_ratio is not None:
            if not isinstance(cheap_ratio, (int, float)) or not 0 < cheap_ratio < 1:
                raise ValueError(f'cheap_ratio must lie in (0, 1) or be None (the table), got {cheap_ratio!r}')
            arch['cheap_ratios'] = tuple(cheap_ratio if r > 0 else 0 for r in arch['cheap_ratios'])
        self.arch = arch
        self._set_output_args(out_indices, frozen_stages, norm_eval, stem_stride, self.num_stages,
                              'stages at strides 4/8/16/32')

        self.stem = ConvBnAct(in_channels, self.stem_channels, 3, stem_stride, norm_cfg=norm_cfg, act_cfg=act_cfg)
        channels, group_width = self.stem_channels, arch['group_width']
        block = partial(RegNetXBlock, group_width=group_width, norm_cfg=norm_cfg, act_cfg=act_cfg)
        stages = []
        for i in range(max(out_indices) + 1):
            depth, width, ratio = arch['depths'][i], arch['widths'][i], arch['cheap_ratios'][i]
            if ratio > 0:
                thin_group_width = int(group_width * self.complex_group_width_factor)
                stage = GGhostStage(
                    block, channels, width, depth, stride=2, cheap_ratio=ratio, channel_divisor=thin_group_width,
                    complex_block=partial(RegNetXBlock, group_width=thin_group_width, norm_cfg=norm_cfg,
                                          act_cfg=act_cfg),
                    norm_cfg=norm_cfg, act_cfg=act_cfg)
            else:
                stage = nn.Sequential(block(channels, width, 2), *(block(width, width, 1) for _ in range(depth - 1)))
            stages.append(stage)
            channels = width
        self.stages = nn.ModuleList(stages)
        self.stage_channels: Tuple[int, ...] = tuple(arch['widths'][:len(stages)])
        self.out_channels: Tuple[int, ...] = tuple(self.stage_channels[i] for i in out_indices)
        self._freeze_stages()

    @classmethod
    def _parse_arch(cls, arch: Union[str, dict]) -> dict:
        if isinstance(arch, str):
            if arch not in cls.arch_settings:
                raise ValueError(f'invalid arch {arch!r} for GGhostRegNet; valid: '
                                 f'{", ".join(cls.arch_settings)} (or a dict with keys {", ".join(cls.arch_keys)})')
            return dict(cls.arch_settings[arch])
        if not isinstance(arch, dict) or set(arch) != set(cls.arch_keys):
            raise ValueError(f'a custom arch must be a dict with exactly the keys {", ".join(cls.arch_keys)}, '
                             f'got {arch!r}')
        for key in ('depths', 'widths', 'cheap_ratios'):
            if len(arch[key]) != cls.num_stages:
                raise ValueError(f'arch[{key!r}] must have {cls.num_stages} entries (one per stage), '
                                 f'got {arch[key]!r}')
        for depth, ratio in zip(arch['depths'], arch['cheap_ratios']):
            if depth < 1 or not 0 <= ratio < 1 or (ratio > 0 and depth < 3):
                raise ValueError(f'each stage needs depth >= 1 and a cheap ratio in [0, 1), and a G-Ghost stage '
                                 f'(ratio > 0) needs depth >= 3; got depths {arch["depths"]} and cheap_ratios '
                                 f'{arch["cheap_ratios"]}')
        return dict(arch)

    def switch_to_deploy(self) -> 'GGhostRegNet':
        """Fold every BatchNorm into the conv before it, in place, for inference.

        Includes the mix branch (its BNs act on pooled 1 x 1 maps). In eval mode
        the outputs are unchanged up to float rounding; idempotent.
        """
        for m in self.modules():
            if isinstance(m, ConvBnAct):
                m.switch_to_deploy()
        self.deployed = True
        return self
