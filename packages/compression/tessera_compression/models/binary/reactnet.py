"""ReActNet-A: a binary MobileNetV1 with RSign, RPReLU and full 3x3 binary convolutions.

ReActNet: Towards Precise Binary Neural Network with Generalized Activation Functions,
Liu, Shen, Savvides, Xing and Cheng, ECCV 2020, arXiv:2003.03488.
Official code: https://github.com/liuzechun/ReActNet (``mobilenet/*/reactnet.py``), the network
AdamBNN (arXiv:2106.11309, https://github.com/liuzechun/AdamBNN) trains unchanged.

Paper numbers at 224 x 224 (its ImageNet comparison table): 4.82 x 10^9 BOPs, 0.12 x 10^8 FLOPs, 0.87 x 10^8 OPs
(OPs = BOPs / 64 + FLOPs), 69.4% ImageNet top-1 (70.5% with AdamBNN's training recipe).
"""
from typing import Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_norm_layer
from torch import nn

from tessera_core.models.backbones import StagedBackbone
from tessera_compression.registry import MODELS

from .binary_conv import BinaryConv2d
from .rprelu import RPReLU

__all__ = ['ReActBlock', 'ReActNet']


class ReActBlock(nn.Module):
    """One ReActNet block (paper, Sec. 3 and its ReActNet-A figure): two binary convs with real shortcuts.

    ``x -> RSign -> 3x3 binary conv (C_in -> C_in, stride s) -> BN -> + shortcut -> RPReLU = y``;
    ``y -> RSign -> 1x1 binary conv (C_in -> C_out) -> BN -> + y (repeated) -> RPReLU``.
    The shortcut of the 3x3 conv is ``x`` average-pooled 2x2 when s = 2. When C_out = 2 C_in the
    official code runs two 1x1 convs C_in -> C_in on the same binarized input, each with its BN and
    the shortcut ``y``, and concatenates them; here that is one 1x1 conv C_in -> 2 C_in, one BN over
    2 C_in channels and the shortcut ``cat([y, y])``: the same function, parameters and operations
    (the scaling factor and the BN are per output channel either way).

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out, either C_in or 2 C_in.
        stride (int): 1 or 2, of the 3x3 conv.
        weight_bits (int): Weights of both convs: 1 (binary) or 32 (real, step 1).
        act_bits (int): Inputs of both convs: 1 (RSign) or 32.
        norm_cfg (dict): Norm layer config.

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / s), ceil(W / s)). Pooling uses ``ceil_mode``
    so that odd maps (e.g. 7 x 7 of a 28 px input) keep the conv's output size; on the even maps
    of a 224 px input it is the official ``AvgPool2d(2, 2)``.
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1, weight_bits: int = 1,
                 act_bits: int = 1, norm_cfg: dict = dict(type='BN')):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'invalid stride {stride!r} for ReActBlock; valid: 1, 2')
        if out_channels not in (in_channels, 2 * in_channels):
            raise ValueError(f'ReActBlock keeps or doubles the channels; got {in_channels} -> {out_channels} '
                             f'(valid out_channels: {in_channels}, {2 * in_channels})')
        self.in_channels, self.out_channels, self.stride = in_channels, out_channels, stride
        self.conv3x3 = BinaryConv2d(in_channels, in_channels, 3, stride, 1, weight_bits=weight_bits,
                                    act_bits=act_bits)
        self.bn1 = build_norm_layer(norm_cfg, in_channels)[1]
        self.rprelu1 = RPReLU(in_channels)
        self.conv1x1 = BinaryConv2d(in_channels, out_channels, 1, weight_bits=weight_bits, act_bits=act_bits)
        self.bn2 = build_norm_layer(norm_cfg, out_channels)[1]
        self.rprelu2 = RPReLU(out_channels)
        self.pool = nn.AvgPool2d(2, 2, ceil_mode=True) if stride == 2 else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        shortcut = x if self.pool is None else self.pool(x)
        y = self.rprelu1(self.bn1(self.conv3x3(x)) + shortcut)
        if self.out_channels != self.in_channels:
            shortcut = torch.cat([y, y], dim=1)
        else:
            shortcut = y
        return self.rprelu2(self.bn2(self.conv1x1(y)) + shortcut)


@MODELS.register_module()
class ReActNet(StagedBackbone):
    """ReActNet backbone (ReActNet-A of the paper, or a table of the same kind).

    Layout of ReActNet-A for a 224 x 224 input (out index in brackets):

    - ``stem`` (stride 2): full-precision 3x3/2 conv to 32 channels + BN (no activation), and the
      block 32 -> 64 of stride 1
    - ``stages[0]`` (stride 4, [0]): 2 blocks -> 128
    - ``stages[1]`` (stride 8, [1]): 2 blocks -> 256
    - ``stages[2]`` (stride 16, [2]): 6 blocks -> 512
    - ``stages[3]`` (stride 32, [3]): 2 blocks -> 1024

    Every block holds two binary convs (see :class:`ReActBlock`); the first conv and the
    classifier (``GlobalAveragePooling`` + ``LinearClsHead(in_channels=1024)``) stay full precision,
    as in the paper. Rows are grouped into stages by the stride of their output, as tessera-core's
    ``MobileNetV2``: every stride-2 row starts a stage.

    Args:
        arch (str | dict): ``'A'`` (``arch_settings``) or ``dict(stem_channels=int,
            blocks=[(out_channels, stride), ...])`` for a reduced network; each row keeps or doubles
            the channels of the previous one.
        in_channels (int): Input image channels.
        stem_stride (int): 2 (paper) or 1 for small images (28-32 px).
        widen_factor (float): Multiplies every width; every ``channels * widen_factor`` of the
            table must be an integer (e.g. 0.25, 0.5, 1, 2 for ReActNet-A), so doublings stay exact.
        out_indices (Sequence[int], optional): Stages to return (0 .. number of stride-2 rows - 1);
            None returns the last. Stages after the deepest requested one are not built.
        frozen_stages (int): -1 freezes nothing; ``k >= 0`` freezes the stem and stages ``< k``.
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        weight_bits (int): Weights of the binary convs: 1 (binary, step 2) or 32 (real, step 1).
        act_bits (int): Inputs of the binary convs: 1 (RSign) or 32 (a real-valued reference).
        norm_cfg (dict): Norm config.
        init_cfg (dict | list[dict], optional): None keeps PyTorch's default initialisation, as the
            official code.

    Shapes: input (N, in_channels, H, W); output i is (N, C_i, H / s_i, W / s_i) (rounded up) with
    s_i = 2^(i + 1) * stem_stride and C_i = ``self.stage_channels[i]``; ``forward`` returns a tuple
    in the order of ``out_indices``, ``self.out_channels`` lists their channels.
    """

    # ReActNet-A (official ``stage_out_channel = [32] + [64] + [128] * 2 + [256] * 2 + [512] * 6 +
    # [1024] * 2``): the stem width, then one row per block, (c, s) = output channels, stride of
    # its 3x3 conv (2 where the width doubles, except 32 -> 64 as in MobileNetV1).
    arch_settings = {
        'A': dict(stem_channels=32,
                  blocks=((64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2), (512, 1), (512, 1),
                          (512, 1), (512, 1), (512, 1), (1024, 2), (1024, 1))),
    }

    def __init__(self, arch: Union[str, dict] = 'A', in_channels: int = 3, stem_stride: int = 2,
                 widen_factor: float = 1.0, out_indices: Optional[Sequence[int]] = None,
                 frozen_stages: int = -1, norm_eval: bool = False, weight_bits: int = 1, act_bits: int = 1,
                 norm_cfg: dict = dict(type='BN', requires_grad=True), init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        stem_channels, rows = self._parse_arch(arch)
        if not isinstance(widen_factor, (int, float)) or widen_factor <= 0:
            raise ValueError(f'widen_factor must be a positive number, got {widen_factor!r}')
        widths = [stem_channels * widen_factor] + [c * widen_factor for c, _ in rows]
        if any(abs(w - round(w)) > 1e-6 or round(w) < 1 for w in widths):
            raise ValueError(f'invalid widen_factor {widen_factor!r} for ReActNet: every width times it must be '
                             f'a positive integer (widths {[stem_channels] + [c for c, _ in rows]}), e.g. '
                             f'{", ".join(str(f) for f in (0.25, 0.5, 1.0, 2.0))} for arch A')
        widths = [int(round(w)) for w in widths]
        num_stages = sum(1 for _, s in rows if s == 2)
        if num_stages == 0:
            raise ValueError('arch needs at least one stride-2 row (each starts a stage)')
        if out_indices is None:
            out_indices = (num_stages - 1,)
        self._set_output_args(out_indices, frozen_stages, norm_eval, stem_stride, num_stages,
                              f'0-{num_stages - 1}: the stages, each starting at a stride-2 row')
        self.arch, self.widen_factor = arch, widen_factor
        self.weight_bits, self.act_bits = weight_bits, act_bits

        last = max(self.out_indices)
        groups = [[] for _ in range(num_stages + 1)]  # blocks of the stem (0) and stages 1..num_stages
        group, channels = 0, widths[0]
        for (_, stride), width in zip(rows, widths[1:]):
            group += stride == 2
            if group - 1 > last:
                break
            groups[group].append(ReActBlock(channels, width, stride, weight_bits, act_bits, norm_cfg))
            channels = width
        self.stem = nn.Sequential(
            nn.Conv2d(in_channels, widths[0], 3, stem_stride, 1, bias=False),
            build_norm_layer(norm_cfg, widths[0])[1],
            *groups[0])
        self.stages = nn.ModuleList(nn.Sequential(*blocks) for blocks in groups[1:] if blocks)
        self.final_conv = None
        self.stage_channels: Tuple[int, ...] = tuple(stage[-1].out_channels for stage in self.stages)
        self.out_channels: Tuple[int, ...] = tuple(self.stage_channels[i] for i in self.out_indices)
        self._freeze_stages()

    def _parse_arch(self, arch) -> Tuple[int, Tuple[Tuple[int, int], ...]]:
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise ValueError(f'unknown ReActNet arch {arch!r}; valid: {", ".join(sorted(self.arch_settings))} '
                                 'or dict(stem_channels=int, blocks=[(out_channels, stride), ...])')
            arch = self.arch_settings[arch]
        if not isinstance(arch, dict) or set(arch) != {'stem_channels', 'blocks'}:
            raise ValueError(f'a custom ReActNet arch is dict(stem_channels=int, blocks=[(out_channels, stride), '
                             f'...]), got {arch!r}')
        stem_channels = arch['stem_channels']
        rows = tuple(tuple(row) for row in arch['blocks'])
        if not isinstance(stem_channels, int) or stem_channels < 1:
            raise ValueError(f'stem_channels must be a positive int, got {stem_channels!r}')
        if not rows:
            raise ValueError('arch blocks must hold at least one (out_channels, stride) row')
        previous = stem_channels
        for i, row in enumerate(rows):
            if len(row) != 2 or row[1] not in (1, 2) or row[0] not in (previous, 2 * previous):
                raise ValueError(f'invalid ReActNet arch row {i} {row!r}: expected (out_channels, stride) with '
                                 f'out_channels in ({previous}, {2 * previous}) and stride in (1, 2)')
            previous = row[0]
        return stem_channels, rows
