"""MobileNetV2 backbone (torchvision layout) for classification and detection.

MobileNetV2: Inverted Residuals and Linear Bottlenecks, Sandler et al., CVPR 2018, arXiv:1801.04381.
Official code: https://github.com/tensorflow/models/tree/master/research/slim/nets/mobilenet
(layout, rounding and head as torchvision's ``mobilenet_v2``: 3,504,872 parameters with the
1000-class linear head at width 1.0, 300M multiply-adds at 224 x 224).
"""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.cnn import build_conv_layer
from torch import nn

from tessera_core.models.layers import ConvBnAct
from tessera_core.models.utils import make_divisible
from tessera_core.registry import MODELS

from .staged_backbone import StagedBackbone


def _conv_bn_act(in_channels, out_channels, kernel_size=1, stride=1, groups=1, conv_cfg=None,
                 norm_cfg=dict(type='BN'), act_cfg=dict(type='ReLU6', inplace=True)) -> ConvBnAct:
    """A :class:`ConvBnAct` whose conv is built from ``conv_cfg`` (mmcv) when one is given."""
    m = ConvBnAct(in_channels, out_channels, kernel_size, stride, groups, norm_cfg=norm_cfg, act_cfg=act_cfg)
    if conv_cfg is not None:
        m.conv = build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size, stride, kernel_size // 2,
                                  groups=groups, bias=False)
    return m


class InvertedResidual(nn.Module):
    """Inverted residual with linear bottleneck (paper Table 1).

    1x1 expansion to ``hidden = round(C_in * t)`` + BN + ReLU6 (omitted when t = 1), 3x3 depthwise
    conv of stride s + BN + ReLU6, linear 1x1 projection to C_out + BN; identity shortcut when
    s = 1 and C_in = C_out.

    Args:
        in_channels (int): C_in.
        out_channels (int): C_out.
        stride (int): Stride of the depthwise conv (1 or 2).
        expand_ratio (float): Expansion t.
        conv_cfg (dict, optional): mmcv config of the two pointwise convs (None: ``nn.Conv2d``).
        norm_cfg (dict): Norm layer config.
        act_cfg (dict): Activation after expansion and depthwise conv (ReLU6).

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / s), ceil(W / s)).
    """

    def __init__(self, in_channels: int, out_channels: int, stride: int, expand_ratio: float,
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN'),
                 act_cfg: dict = dict(type='ReLU6', inplace=True)):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'invalid stride {stride!r} for InvertedResidual; valid: 1, 2')
        hidden = int(round(in_channels * expand_ratio))
        self.use_shortcut = stride == 1 and in_channels == out_channels
        self.expand = None
        if expand_ratio != 1:
            self.expand = _conv_bn_act(in_channels, hidden, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg,
                                       act_cfg=act_cfg)
        self.depthwise = _conv_bn_act(hidden, hidden, 3, stride, groups=hidden, norm_cfg=norm_cfg,
                                      act_cfg=act_cfg)
        self.project = _conv_bn_act(hidden, out_channels, 1, conv_cfg=conv_cfg, norm_cfg=norm_cfg, act_cfg=None)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x if self.expand is None else self.expand(x)
        y = self.project(self.depthwise(y))
        return x + y if self.use_shortcut else y


@MODELS.register_module()
class MobileNetV2(StagedBackbone):
    """MobileNetV2 backbone (paper Table 2, torchvision's layout and rounding).

    Layout for a 224 x 224 input and ``widen_factor=1.0`` (out index in brackets):

    - ``stem`` (stride 2): 3x3/2 conv-BN-ReLU6 to 32 channels + the t=1 block (16)
    - ``stages[0]`` (stride 4, [0]): 2 blocks -> 24
    - ``stages[1]`` (stride 8, [1]): 3 blocks -> 32
    - ``stages[2]`` (stride 16, [2]): 4 blocks -> 64, 3 blocks -> 96
    - ``stages[3]`` (stride 32, [3]): 3 blocks -> 160, 1 block -> 320
    - ``final_conv`` (stride 32, [4]): 1x1 conv-BN-ReLU6 -> 1280

    Rows of the paper's table are grouped by the stride of their *output*, as in
    :class:`GhostNet`, so that each stage ends with the last map of one resolution.
    Classification (paper / torchvision): ``out_indices=(4,)``, ``GlobalAveragePooling`` and
    ``LinearClsHead(in_channels=1280, dropout=0.2)``. Detection: ``out_indices=(0, 1, 2, 3)``
    (24/32/96/320 channels at 1.0x).

    Args:
        widen_factor (float): Width multiplier, one of ``widen_factors`` (the paper's 0.35-1.4).
            Channels are rounded to multiples of 8 (``make_divisible``); the final conv keeps
            1280 channels for widths <= 1.
        in_channels (int): Input image channels.
        out_indices (Sequence[int]): Outputs to return, from 0..4 (table above). Layers after
            the deepest requested output are not built.
        frozen_stages (int): -1 freezes nothing; ``k >= 0`` freezes the stem and the parts with
            out index ``< k`` (parameters get ``requires_grad=False``, norms stay in eval mode).
        norm_eval (bool): Keep every BatchNorm in eval mode while training.
        stem_stride (int): 2 (paper) or 1 for small images (28-32 px): every output stride halves,
            a 28 x 28 image then ends at 2 x 2 (total stride 16).
        conv_cfg (dict, optional): mmcv conv config of the pointwise (expansion and projection)
            convs of the inverted residual blocks, the dense convs that hold most weights (e.g.
            ``dict(type='DCD')``). The stem, the depthwise convs and the final conv stay
            ``nn.Conv2d``. See :meth:`pointwise_conv_cfg`.
        norm_cfg (dict): Norm config of every conv.
        act_cfg (dict): Activation (ReLU6).
        init_cfg (dict | list[dict], optional): torchvision's init (Kaiming fan-out convs, unit BN).

    Shapes: input (N, in_channels, H, W); output i is (N, C_i, H / s_i, W / s_i) with
    s = (4, 8, 16, 32, 32) * stem_stride / 2 (rounded up) and C_i = ``self.stage_channels[i]``.
    ``forward`` returns a tuple in the order of ``out_indices``; ``self.out_channels`` lists their
    channels.
    """

    # Paper Table 2, one row per sequence of n identical blocks: (t, c, n, s) = expansion factor,
    # output channels, repeats, stride of the first block. Preceded by a 3x3/2 conv to 32
    # channels and followed by a 1x1 conv to 1280 channels.
    arch_settings = (
        (1, 16, 1, 1),
        (6, 24, 2, 2),
        (6, 32, 3, 2),
        (6, 64, 4, 2),
        (6, 96, 3, 1),
        (6, 160, 3, 2),
        (6, 320, 1, 1),
    )
    stem_channels = 32
    final_channels = 1280
    widen_factors = (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)
    channel_divisor = 8
    num_outputs = 5  # four stages + the final 1x1 conv

    def __init__(self, widen_factor: float = 1.0, in_channels: int = 3, out_indices: Sequence[int] = (4,),
                 frozen_stages: int = -1, norm_eval: bool = False, stem_stride: int = 2,
                 conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU6', inplace=True),
                 init_cfg=(dict(type='Kaiming', layer='Conv2d'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, (list, tuple)) else init_cfg)
        if widen_factor not in self.widen_factors:
            raise ValueError(f'invalid widen_factor {widen_factor!r} for {type(self).__name__}; '
                             f'valid: {", ".join(map(str, self.widen_factors))}')
        self.widen_factor = widen_factor
        self.conv_cfg = conv_cfg
        self._set_output_args(out_indices, frozen_stages, norm_eval, stem_stride, self.num_outputs,
                              '0-3: stages at strides 4/8/16/32, 4: final 1x1 conv')

        def width(c):
            return make_divisible(c * widen_factor, self.channel_divisor)

        last = max(out_indices)
        channels = width(self.stem_channels)
        stem = [_conv_bn_act(in_channels, channels, 3, stem_stride, norm_cfg=norm_cfg, act_cfg=act_cfg)]
        groups = [[] for _ in range(self.num_outputs)]  # blocks of the stem (0) and stages 1..4
        log2_stride = 1  # nominal (paper) stride, to group rows by the stride of their output
        for t, c, n, s in self.arch_settings:
            log2_stride += s // 2
            group = log2_stride - 1
            if group - 1 > last:
                break
            for i in range(n):
                block_cfg = self.pointwise_conv_cfg(t)
                groups[group].append(InvertedResidual(channels, width(c), s if i == 0 else 1, t, block_cfg,
                                                      norm_cfg, act_cfg))
                channels = width(c)
        self.stem = nn.Sequential(*stem, *groups[0])
        self.stages = nn.ModuleList(nn.Sequential(*blocks) for blocks in groups[1:] if blocks)
        self.stage_channels = tuple(stage[-1].project.bn.num_features for stage in self.stages)
        self.final_conv = None
        if last == self.num_outputs - 1:
            final = make_divisible(self.final_channels * max(1.0, widen_factor), self.channel_divisor)
            self.final_conv = _conv_bn_act(channels, final, 1, norm_cfg=norm_cfg, act_cfg=act_cfg)
            self.stage_channels += (final,)
        self.out_channels: Tuple[int, ...] = tuple(self.stage_channels[i] for i in out_indices)
        self._freeze_stages()

    def pointwise_conv_cfg(self, expand_ratio: float) -> Optional[dict]:
        """mmcv conv config of the pointwise convs of a block of expansion t (``self.conv_cfg`` for all)."""
        return self.conv_cfg

    def switch_to_deploy(self) -> 'MobileNetV2':
        """Fold every BatchNorm into the conv before it, in place, for inference.

        Plain convs get a bias (:func:`~tessera_core.models.layers.fuse_conv_bn`); convs built from ``conv_cfg`` fold it
        through their own ``fold_bn`` (e.g. :class:`DCDConv2d`) or keep it if they have none.
        In eval mode the outputs are unchanged up to float rounding. Idempotent.
        """
        for m in self.modules():
            if not isinstance(m, ConvBnAct) or isinstance(m.bn, nn.Identity):
                continue
            if type(m.conv) is nn.Conv2d:
                m.switch_to_deploy()
            elif hasattr(m.conv, 'fold_bn'):
                m.conv.fold_bn(m.bn)
                m.bn = nn.Identity()
        self.deployed = True
        return self
