"""GhostNet backbone for classification and detection.

GhostNet: More Features from Cheap Operations, Han et al., CVPR 2020, arXiv:1911.11907.
Official code: https://github.com/huawei-noah/Efficient-AI-Backbones (ghostnet_pytorch).

Architecture of the paper's table "Overall architecture of GhostNet" (the
MobileNetV3-Large layout with Ghost bottlenecks); widths are scaled by
``widen_factor`` and rounded to multiples of 4 exactly as the official code and
timm's ``ghostnet_050/100/130`` do, so that their weights load through
:mod:`tessera_core.models.converters.timm_ghostnet`.
"""
from typing import Sequence, Tuple

from torch import nn

from tessera_core.models.layers import ConvBnAct, GhostBottleneck
from tessera_core.models.utils import make_divisible
from tessera_core.registry import MODELS

from .staged_backbone import StagedBackbone


@MODELS.register_module()
class GhostNet(StagedBackbone):
    """GhostNet backbone (the paper's architecture table, Sec. 3.2).

    Layout for a 224 x 224 input and ``widen_factor=1.0`` (out index in brackets):

    - ``stem`` (stride 2): 3x3/2 conv-BN-ReLU to 16 channels + one G-bneck (16)
    - ``stages[0]`` (stride 4, [0]): 2 G-bnecks -> 24 channels
    - ``stages[1]`` (stride 8, [1]): 2 G-bnecks with SE -> 40
    - ``stages[2]`` (stride 16, [2]): 6 G-bnecks -> 112
    - ``stages[3]`` (stride 32, [3]): 5 G-bnecks -> 160
    - ``final_conv`` (stride 32, [4]): 1x1 conv-BN-ReLU -> 960

    The paper groups bottlenecks by the size of their *input* (the stride-2
    block closes a stage); here they are grouped by the size of their *output*
    so that every stage ends with the last feature map of one resolution, the
    map a detector's neck wants. Block order and settings are the paper's.

    Classification (paper setting): ``out_indices=(4,)`` followed by
    ``GlobalAveragePooling`` and ``ConvClsHead(in_channels=960 * width,
    mid_channels=1280, dropout=0.2)``. Detection: e.g. ``out_indices=(0, 1, 2, 3)``
    gives strides 4/8/16/32 (24/40/112/160 channels at 1.0x), numbered like
    :class:`ResNet`'s stages.

    Args:
        widen_factor (float): Width multiplier, one of 0.5, 1.0, 1.3 (timm's
            ``ghostnet_050``, ``ghostnet_100``, ``ghostnet_130``).
        in_channels (int): Input image channels.
        out_indices (Sequence[int]): Outputs to return, from 0..4 (table above).
            Layers after the deepest requested output are not built (so a
            detector using indices 0..3 has no unused parameters under DDP; a
            classification checkpoint loaded into it has unexpected
            ``final_conv`` keys, which non-strict loading skips).
        frozen_stages (int): -1 freezes nothing; ``k >= 0`` freezes the stem
            and the parts with out index ``< k`` (5 freezes everything), as
            :class:`ResNet` does: parameters get ``requires_grad=False`` and
            their norms stay in eval mode.
        norm_eval (bool): Keep every BatchNorm in eval mode while training
            (frozen running statistics), e.g. for small-batch detection.
        stem_stride (int): 2 (paper) or 1 for small images (28-32 px): the
            strides of all outputs are then halved, e.g. a 28 x 28 digit gives
            a 2 x 2 map at out index 3 instead of 1 x 1.
        norm_cfg (dict): mmcv norm config of every conv (BatchNorm).
        act_cfg (dict): Activation of the non-linear layers (ReLU).
        init_cfg (dict | list[dict], optional): mmengine weight init.

    Shapes: input (N, in_channels, H, W); the output at index i is
    (N, C_i, H / s_i, W / s_i) with s = (4, 8, 16, 32, 32) * stem_stride / 2
    (rounded up) and C_i = ``self.stage_channels[i]``. ``forward`` returns a
    tuple in the order of ``out_indices``; ``self.out_channels`` lists their
    channels.
    """

    # One row per G-bneck: (k, exp, c, se_ratio, s) = depthwise kernel size, expansion
    # (hidden) channels, output channels, SE reduction ratio (0 = no SE), stride.
    # Groups: the stem's block (stride 2), then the stages ending at strides 4, 8, 16, 32.
    arch_settings = (
        ((3, 16, 16, 0.0, 1),),
        ((3, 48, 24, 0.0, 2),
         (3, 72, 24, 0.0, 1)),
        ((5, 72, 40, 0.25, 2),
         (5, 120, 40, 0.25, 1)),
        ((3, 240, 80, 0.0, 2),
         (3, 200, 80, 0.0, 1),
         (3, 184, 80, 0.0, 1),
         (3, 184, 80, 0.0, 1),
         (3, 480, 112, 0.25, 1),
         (3, 672, 112, 0.25, 1)),
        ((5, 672, 160, 0.25, 2),
         (5, 960, 160, 0.0, 1),
         (5, 960, 160, 0.25, 1),
         (5, 960, 160, 0.0, 1),
         (5, 960, 160, 0.25, 1)),
    )
    stem_channels = 16  # output of the first 3x3/2 conv
    final_channels = 960  # the 1x1 conv before pooling
    widen_factors = (0.5, 1.0, 1.3)
    channel_divisor = 4
    num_outputs = 5  # four stages + the final 1x1 conv

    def __init__(self, widen_factor: float = 1.0, in_channels: int = 3, out_indices: Sequence[int] = (4,),
                 frozen_stages: int = -1, norm_eval: bool = False, stem_stride: int = 2,
                 norm_cfg: dict = dict(type='BN', requires_grad=True),
                 act_cfg: dict = dict(type='ReLU', inplace=True),
                 init_cfg=(dict(type='Kaiming', layer='Conv2d'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, (list, tuple)) else init_cfg)
        if widen_factor not in self.widen_factors:
            raise ValueError(f'invalid widen_factor {widen_factor!r} for GhostNet; '
                             f'valid: {", ".join(map(str, self.widen_factors))}')
        self.widen_factor = widen_factor
        self._set_output_args(out_indices, frozen_stages, norm_eval, stem_stride, self.num_outputs,
                              '0-3: stages at strides 4/8/16/32, 4: final 1x1 conv')

        def width(c):
            return make_divisible(c * widen_factor, self.channel_divisor)

        last = max(out_indices)
        channels = width(self.stem_channels)
        stem = [ConvBnAct(in_channels, channels, 3, stem_stride, norm_cfg=norm_cfg, act_cfg=act_cfg)]
        stages, self.stage_channels = [], ()
        for group_idx, group in enumerate(self.arch_settings):
            if group_idx - 1 > last:
                break
            blocks = []
            for k, exp, c, se_ratio, s in group:
                blocks.append(GhostBottleneck(channels, width(exp), width(c), k, s, se_ratio,
                                              norm_cfg=norm_cfg, act_cfg=act_cfg))
                channels = width(c)
            if group_idx == 0:
                stem += blocks
            else:
                stages.append(nn.Sequential(*blocks))
                self.stage_channels += (channels,)
        self.stem = nn.Sequential(*stem)
        self.stages = nn.ModuleList(stages)
        self.final_conv = None
        if last == self.num_outputs - 1:
            self.final_conv = ConvBnAct(channels, width(self.final_channels), 1, norm_cfg=norm_cfg,
                                        act_cfg=act_cfg)
            self.stage_channels += (width(self.final_channels),)
        self.out_channels: Tuple[int, ...] = tuple(self.stage_channels[i] for i in out_indices)
        self._freeze_stages()

    def switch_to_deploy(self) -> 'GhostNet':
        """Fold every BatchNorm into the conv before it, in place, for inference.

        Each conv gets a bias and each BatchNorm becomes ``nn.Identity``; in eval
        mode the outputs are unchanged (up to float rounding). Training after
        this is no longer the same model (no batch statistics). Idempotent.
        """
        for m in self.modules():
            if isinstance(m, ConvBnAct):
                m.switch_to_deploy()
        self.deployed = True
        return self
