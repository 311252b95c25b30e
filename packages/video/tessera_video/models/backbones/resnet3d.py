"""3D ResNet for clips (N, C, T, H, W): C3D-style inflated 3x3x3 convolutions or the C2D baseline.

Deep Residual Learning for Image Recognition, He et al., arXiv:1512.03385 (the 2D layout, torchvision's widths);
its 3D forms as in mmaction2 1.x (``mmaction/models/backbones/resnet3d.py`` and ``c2d.py``,
https://github.com/open-mmlab/mmaction2):

- **C3D-style** (``variant='c3d'``): every 3x3 conv of a basic block, and the 3x3 conv of a bottleneck
  (``inflate_style='3x3x3'``), becomes 3x3x3 (3D ResNets of Hara et al., arXiv:1711.09577; the C3D baseline of
  CoST, arXiv:1903.01197); stem conv 3x7x7.
- **C2D** (``variant='c2d'``): the same network with 1x3x3 (purely spatial) convs and a 1x7x7 stem, plus the one
  temporal operation of the non-local paper's C2D baseline (Wang et al., arXiv:1711.07971, as mmaction2's
  ``C2D``): a 2x1x1 max pool of stride 2 over time after the first stage, and the stem's 1x3x3 max pool
  without padding.

``inflate`` overrides the variant's per-stage inflation (one flag per stage, or one per block), like mmaction2's
``ResNet3d(inflate=...)``; ``st_conv_cfg`` builds the spatiotemporal (inflated) convs only, so a method such as
CoST can replace them while every 1x1x1 / 1x3x3 conv stays a ``Conv3d``.
"""
from typing import NamedTuple, Optional, Sequence, Tuple, Union

import torch
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import nn

from tessera_video.registry import MODELS


class Stage(NamedTuple):
    """One residual stage: ``blocks`` blocks, ``width`` channels of its 3x3 convs at ``base_channels=64``,
    stride (``temporal_stride``, ``spatial_stride``, ``spatial_stride``) in its first block."""
    blocks: int
    width: int
    spatial_stride: int
    temporal_stride: int


# depth -> (block, stages): torchvision's ResNet widths and block counts; no temporal striding in the stages
# (mmaction2's ResNet3d default ``temporal_strides=(1, 1, 1, 1)``).
ARCHS = {
    18: ('basic', (Stage(2, 64, 1, 1), Stage(2, 128, 2, 1), Stage(2, 256, 2, 1), Stage(2, 512, 2, 1))),
    34: ('basic', (Stage(3, 64, 1, 1), Stage(4, 128, 2, 1), Stage(6, 256, 2, 1), Stage(3, 512, 2, 1))),
    50: ('bottleneck', (Stage(3, 64, 1, 1), Stage(4, 128, 2, 1), Stage(6, 256, 2, 1), Stage(3, 512, 2, 1))),
}

# variant -> temporal design. Legend: stem_t = temporal size of the 7x7 stem kernel; pool1_pad = (t, h, w)
# padding of the stem's 1x3x3 / stride (1, 2, 2) max pool; pool2_t = kernel and stride over time of the max
# pool after stage 1 (0: none); inflate = per stage, 1 for temporal kernel 3 in the blocks' 3x3 convs.
VARIANTS = {
    'c3d': dict(stem_t=3, pool1_pad=(0, 1, 1), pool2_t=0, inflate=(1, 1, 1, 1)),
    'c2d': dict(stem_t=1, pool1_pad=(0, 0, 0), pool2_t=2, inflate=(0, 0, 0, 0)),
}
INFLATE_STYLES = ('3x3x3', '3x1x1')
STEMS = ('imagenet', 'small')


def _conv(cfg, in_channels, out_channels, kernel, stride=1, padding=0):
    return build_conv_layer(cfg or dict(type='Conv3d'), in_channels, out_channels, kernel, stride, padding,
                            bias=False)


class BasicBlock3d(nn.Module):
    """Two 3x3 convs, each (3, 3, 3) when inflated (as mmaction2's ``BasicBlock3d``) else (1, 3, 3)."""
    expansion = 1

    def __init__(self, in_channels, width, spatial_stride=1, temporal_stride=1, inflate=True,
                 inflate_style='3x3x3', st_conv_cfg=None, norm_cfg=dict(type='BN3d')):
        super().__init__()
        out = width * self.expansion
        kt = 3 if inflate else 1
        cfg = st_conv_cfg if inflate else None
        self.conv1 = _conv(cfg, in_channels, width, (kt, 3, 3), (temporal_stride, spatial_stride, spatial_stride),
                           (kt // 2, 1, 1))
        self.bn1 = build_norm_layer(norm_cfg, width)[1]
        self.conv2 = _conv(cfg, width, out, (kt, 3, 3), 1, (kt // 2, 1, 1))
        self.bn2 = build_norm_layer(norm_cfg, out)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out, spatial_stride, temporal_stride, norm_cfg)

    @property
    def last_norm(self) -> nn.Module:
        return self.bn2

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(y)) + identity)


class Bottleneck3d(nn.Module):
    """1x1x1 -> 3x3 -> 1x1x1 (x4). Inflated: ``'3x3x3'`` makes the middle conv 3x3x3 (C3D-style), ``'3x1x1'``
    the first conv 3x1x1 (I3D-style), as mmaction2's ``Bottleneck3d``; strides on the middle conv."""
    expansion = 4

    def __init__(self, in_channels, width, spatial_stride=1, temporal_stride=1, inflate=True,
                 inflate_style='3x3x3', st_conv_cfg=None, norm_cfg=dict(type='BN3d')):
        super().__init__()
        out = width * self.expansion
        k1, k2 = (1, 1, 1), (1, 3, 3)
        c1 = c2 = None
        if inflate and inflate_style == '3x1x1':
            k1, c1 = (3, 1, 1), st_conv_cfg
        elif inflate:
            k2, c2 = (3, 3, 3), st_conv_cfg
        self.conv1 = _conv(c1, in_channels, width, k1, 1, (k1[0] // 2, 0, 0))
        self.bn1 = build_norm_layer(norm_cfg, width)[1]
        self.conv2 = _conv(c2, width, width, k2, (temporal_stride, spatial_stride, spatial_stride),
                           (k2[0] // 2, 1, 1))
        self.bn2 = build_norm_layer(norm_cfg, width)[1]
        self.conv3 = _conv(None, width, out, 1)
        self.bn3 = build_norm_layer(norm_cfg, out)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out, spatial_stride, temporal_stride, norm_cfg)

    @property
    def last_norm(self) -> nn.Module:
        return self.bn3

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        return self.relu(self.bn3(self.conv3(y)) + identity)


BLOCKS = {'basic': BasicBlock3d, 'bottleneck': Bottleneck3d}


def _shortcut(in_channels, out_channels, spatial_stride, temporal_stride, norm_cfg):
    if spatial_stride == 1 and temporal_stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(_conv(None, in_channels, out_channels, 1, (temporal_stride, spatial_stride, spatial_stride)),
                         build_norm_layer(norm_cfg, out_channels)[1])


def _per_block_inflation(inflate, stages: Sequence[Stage]) -> Tuple[Tuple[bool, ...], ...]:
    inflate = tuple(inflate)
    if len(inflate) != len(stages):
        raise ValueError(f'inflate must give one entry per stage ({len(stages)}), got {inflate}')
    out = []
    for i, (flag, stage) in enumerate(zip(inflate, stages)):
        flags = tuple(flag) if isinstance(flag, (tuple, list)) else (flag,) * stage.blocks
        if len(flags) != stage.blocks or not all(f in (0, 1, True, False) for f in flags):
            raise ValueError(f'inflate of stage {i} must be 0/1 or {stage.blocks} 0/1 flags (one per block), '
                             f'got {flag!r}')
        out.append(tuple(bool(f) for f in flags))
    return tuple(out)


@MODELS.register_module()
class ResNet3d(BaseModule):
    """3D ResNet backbone.

    Args:
        depth (int): 18, 34 (basic blocks) or 50 (bottlenecks); stages from :data:`ARCHS`.
        variant (str): ``'c3d'`` (inflated 3x3x3 convs) or ``'c2d'`` (1x3x3 convs + temporal pooling after
            stage 1), the rows of :data:`VARIANTS`.
        in_channels (int): Input channels (1 for grey clips).
        base_channels (int): Width of the first stage (64 in the paper); stage widths scale with it.
        stem (str): ``'imagenet'`` (stem_t x 7 x 7 conv of stride (1, 2, 2) + 1x3x3 max pool of stride
            (1, 2, 2)) or ``'small'`` (one stem_t x 3 x 3 conv of stride 1, no pool) for small frames.
        inflate (Sequence, optional): Per stage 0/1 or per-block 0/1 tuples; None for the variant's.
        inflate_style (str): Bottlenecks only: ``'3x3x3'`` or ``'3x1x1'``.
        st_conv_cfg (dict, optional): mmcv conv config of the inflated (spatiotemporal) convs; None for
            ``Conv3d``. Stem, 1x1x1, 1x3x3 and shortcut convs are always ``Conv3d``.
        norm_cfg (dict): Norm config (``BN3d``).
        out_indices (Sequence[int]): Stages returned.
        zero_init_residual (bool): Zero the last norm's weight of every block at construction (mmaction2's
            default True); an ``init_cfg`` (e.g. ``Pretrained``) applies on top in ``init_weights``.

    Shapes: (N, C, T, H, W) -> stage i (N, C_i, T_i, H_i, W_i); C_i = base_channels * 2**i * expansion,
    T_i = T (c3d) or T / 2 after stage 0 (c2d); H_i = H / (4 * 2**i) with the imagenet stem.
    """

    def __init__(self, depth: int = 18, variant: str = 'c3d', in_channels: int = 3, base_channels: int = 64,
                 stem: str = 'imagenet', inflate: Optional[Sequence] = None, inflate_style: str = '3x3x3',
                 st_conv_cfg: Optional[dict] = None, norm_cfg: dict = dict(type='BN3d', requires_grad=True),
                 out_indices: Sequence[int] = (3,), zero_init_residual: bool = True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if depth not in ARCHS:
            raise KeyError(f'invalid depth {depth} for ResNet3d; valid: {sorted(ARCHS)}')
        if variant not in VARIANTS:
            raise ValueError(f'invalid variant {variant!r}; valid: {tuple(VARIANTS)}')
        if stem not in STEMS:
            raise ValueError(f'invalid stem {stem!r}; valid: {STEMS}')
        if inflate_style not in INFLATE_STYLES:
            raise ValueError(f'invalid inflate_style {inflate_style!r}; valid: {INFLATE_STYLES}')
        block_name, stages = ARCHS[depth]
        if not all(0 <= i < len(stages) for i in out_indices):
            raise ValueError(f'out_indices must lie in [0, {len(stages) - 1}], got {tuple(out_indices)}')
        spec = VARIANTS[variant]
        self.depth, self.variant, self.out_indices = depth, variant, tuple(out_indices)
        self.zero_init_residual = zero_init_residual
        self.inflate = _per_block_inflation(spec['inflate'] if inflate is None else inflate, stages)
        block = BLOCKS[block_name]

        kt = spec['stem_t']
        if stem == 'imagenet':
            conv = _conv(None, in_channels, base_channels, (kt, 7, 7), (1, 2, 2), (kt // 2, 3, 3))
            pool = [nn.MaxPool3d((1, 3, 3), (1, 2, 2), spec['pool1_pad'])]
        else:
            conv, pool = _conv(None, in_channels, base_channels, (kt, 3, 3), 1, (kt // 2, 1, 1)), []
        self.stem = nn.Sequential(conv, build_norm_layer(norm_cfg, base_channels)[1], nn.ReLU(inplace=True), *pool)
        self.pool2 = nn.MaxPool3d((spec['pool2_t'], 1, 1), (spec['pool2_t'], 1, 1)) if spec['pool2_t'] else None

        scale = base_channels / 64
        channels, self.stage_channels = base_channels, ()
        self.stages = nn.ModuleList()
        for stage, flags in zip(stages, self.inflate):
            width = int(stage.width * scale)
            blocks = []
            for b, flag in enumerate(flags):
                first = b == 0
                blocks.append(block(channels, width, stage.spatial_stride if first else 1,
                                    stage.temporal_stride if first else 1, flag, inflate_style, st_conv_cfg,
                                    norm_cfg))
                channels = width * block.expansion
            self.stages.append(nn.Sequential(*blocks))
            self.stage_channels += (channels,)
        self.out_channels = tuple(self.stage_channels[i] for i in self.out_indices)

        self._init_layers()

    def _init_layers(self):
        """torchvision's initialisation (Kaiming fan-out convs, unit norms), then zero-init residuals."""
        for m in self.modules():
            if isinstance(m, nn.Conv3d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, nn.BatchNorm3d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        if self.zero_init_residual:
            for stage in self.stages:
                for blk in stage:
                    nn.init.zeros_(blk.last_norm.weight)

    def forward(self, x: torch.Tensor) -> Union[torch.Tensor, Tuple[torch.Tensor, ...]]:
        if x.dim() != 5:
            raise ValueError(f'ResNet3d expects clips (N, C, T, H, W), got shape {tuple(x.shape)}')
        x = self.stem(x)
        outs = []
        for i, stage in enumerate(self.stages):
            x = stage(x)
            if i == 0 and self.pool2 is not None:
                x = self.pool2(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)
