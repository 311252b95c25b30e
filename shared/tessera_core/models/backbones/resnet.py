"""ResNet (torchvision layout), usable as a classification and an mmdet backbone.

Deep Residual Learning for Image Recognition, He et al., CVPR 2016, arXiv:1512.03385.
Layers and widths follow torchvision's ``resnet18/34/50``; ``stem='small'``
replaces the 7x7/2 conv + max-pool by one 3x3/1 conv for 28-32 px images.
The options mmdet 3.x's ``mmdet.models.backbones.ResNet`` users reach for (``strides``,
``dilations``, ``num_stages``, ``deep_stem``, ``stem_channels``, ``conv_cfg``,
``zero_init_residual``) follow its semantics ("pytorch" style: the stride sits on the 3x3 conv).
"""
from typing import Optional, Sequence, Tuple

import torch
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tessera_core.registry import MODELS


class BasicBlock(nn.Module):
    """Two 3x3 convs; ``dilation`` applies to the first (as mmdet's ``BasicBlock``)."""
    expansion = 1

    def __init__(self, in_channels, channels, stride=1, conv_cfg=None, norm_cfg=dict(type='BN'), dilation=1):
        super().__init__()
        out = channels * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, in_channels, channels, 3, stride, dilation, dilation, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.conv2 = build_conv_layer(conv_cfg, channels, out, 3, 1, 1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out, stride, conv_cfg, norm_cfg)

    @property
    def last_norm(self) -> nn.Module:
        return self.bn2

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + identity)


class Bottleneck(nn.Module):
    """1x1 -> 3x3 (``stride``, ``dilation``) -> 1x1 expanding by 4."""
    expansion = 4

    def __init__(self, in_channels, channels, stride=1, conv_cfg=None, norm_cfg=dict(type='BN'), dilation=1):
        super().__init__()
        out = channels * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, in_channels, channels, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.conv2 = build_conv_layer(conv_cfg, channels, channels, 3, stride, dilation, dilation, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, channels)[1]
        self.conv3 = build_conv_layer(conv_cfg, channels, out, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out, stride, conv_cfg, norm_cfg)

    @property
    def last_norm(self) -> nn.Module:
        return self.bn3

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        return self.relu(y + identity)


def _shortcut(in_channels, out_channels, stride, conv_cfg, norm_cfg):
    if stride == 1 and in_channels == out_channels:
        return None
    return nn.Sequential(build_conv_layer(conv_cfg, in_channels, out_channels, 1, stride, bias=False),
                         build_norm_layer(norm_cfg, out_channels)[1])


def _conv_bn_relu(conv_cfg, norm_cfg, in_channels, out_channels, kernel_size, stride, padding):
    return [build_conv_layer(conv_cfg, in_channels, out_channels, kernel_size, stride, padding, bias=False),
            build_norm_layer(norm_cfg, out_channels)[1], nn.ReLU(inplace=True)]


def _check_per_stage(name, values, num_stages):
    values = tuple(values)
    if len(values) != num_stages or not all(isinstance(v, int) and v >= 1 for v in values):
        raise ValueError(f'{name} must give one positive int per stage (num_stages={num_stages}), '
                         f'got {values}')
    return values


@MODELS.register_module()
class ResNet(BaseModule):
    """ResNet backbone.

    Args:
        depth (int): 18, 34, 50 or 101.
        in_channels (int): Input image channels.
        stem (str): ``'imagenet'`` (7x7/2 conv + 3x3/2 max-pool) or ``'small'`` (one 3x3 conv of
            stride ``stem_stride``, no max-pool).
        stem_stride (int): Stride of the ``'small'`` stem: 1 (CIFAR-style) or 2 (the total stride
            becomes 16, so a 28 x 28 image ends at 2 x 2 as the small-stem GhostNet does).
        base_channels (int): Width of the first stage (64 in the paper).
        out_indices (Sequence[int]): Stages whose outputs are returned (0..num_stages - 1).
        frozen_stages (int): Stages (stem = 0) whose parameters are frozen, -1 for none.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training.
        conv_cfg (dict, optional): mmcv ``build_conv_layer`` config of every conv (stem, blocks,
            shortcuts), e.g. ``dict(type='LSQConv2d', w_bits=4, a_bits=4)`` from
            tessera-compression; None for ``nn.Conv2d``.
        norm_cfg (dict): Config of every norm layer.
        init_cfg (dict | list[dict], optional): mmengine initialisation config.
        num_stages (int): Residual stages built, 1..4 (keyword-only, as every option below).
        strides (Sequence[int]): Stride of the first block of each stage, default (1, 2, 2, 2).
            ``strides=(1, 2, 2, 1)`` is the re-ID "last stride 1" setting (Luo et al.,
            arXiv:1903.07071): the last stage keeps the resolution of the third, total stride 16
            instead of 32 with the imagenet stem, for the same parameters.
        dilations (Sequence[int]): Dilation of the 3x3 convs of every block of each stage
            (padding = dilation, so spatial sizes are unchanged), default (1, 1, 1, 1); e.g.
            ``strides=(1, 2, 1, 1), dilations=(1, 1, 2, 4)`` for an output stride of 8.
        deep_stem (bool): Replace the stem conv by three 3x3 convs ``in -> stem_channels / 2 ->
            stem_channels / 2 -> stem_channels``, the first carrying the stem's stride (2 for
            ``'imagenet'``, keeping its max-pool; ``stem_stride`` for ``'small'``); ResNet-C of
            "Bag of Tricks" (arXiv:1812.01187), mmdet's ``deep_stem``.
        stem_channels (int, optional): Output channels of the stem; None for ``base_channels``.
        stem_conv_cfg (dict, optional): Config of the stem conv(s) only; None uses ``conv_cfg``
            like every other conv. ``dict(type='Conv2d')`` keeps a full-precision stem under a
            quantized ``conv_cfg`` (LSQ / N2UQ configs).
        zero_init_residual (bool): After ``init_weights``, set the weight (gamma) of the last norm
            layer of every block (``bn2`` of a basic block, ``bn3`` of a bottleneck) to zero, so
            each residual block starts as the identity (Goyal et al., arXiv:1706.02677); skipped
            when ``init_cfg`` loads a pretrained checkpoint. Default False (mmdet: True).

    Shapes: input (N, in_channels, H, W); stage i output (N, C_i, H / s_i, W / s_i)
    with C_i = base_channels * 2**i * expansion and s_i = s_stem * strides[0] * ... * strides[i],
    s_stem = 4 (``'imagenet'`` stem) or stem_stride (``'small'``). ``self.stage_channels`` lists
    C_0..C_{num_stages - 1} and ``self.out_channels`` the channels of the returned outputs.
    """
    # depth: (block type, blocks per stage)
    arch_settings = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
                     50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3))}
    stems = ('imagenet', 'small')

    def __init__(self, depth: int = 18, in_channels: int = 3, stem: str = 'imagenet', stem_stride: int = 1,
                 base_channels: int = 64, out_indices: Sequence[int] = (3,), frozen_stages: int = -1,
                 norm_eval: bool = False, conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 init_cfg=(dict(type='Kaiming', layer='Conv2d'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm'])),
                 *, num_stages: int = 4, strides: Sequence[int] = (1, 2, 2, 2),
                 dilations: Sequence[int] = (1, 1, 1, 1), deep_stem: bool = False,
                 stem_channels: Optional[int] = None, stem_conv_cfg: Optional[dict] = None,
                 zero_init_residual: bool = False):
        super().__init__(init_cfg=list(init_cfg) if isinstance(init_cfg, (list, tuple)) else init_cfg)
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for ResNet; valid: {sorted(self.arch_settings)}')
        if stem not in self.stems:
            raise ValueError(f'invalid stem {stem!r}; valid: {self.stems}')
        if stem_stride not in (1, 2) or (stem == 'imagenet' and stem_stride != 1):
            raise ValueError(f'invalid stem_stride {stem_stride!r}; valid: 1 or 2 with the small stem '
                             f'(the imagenet stem has its fixed stride 4)')
        if num_stages not in (1, 2, 3, 4):
            raise ValueError(f'invalid num_stages {num_stages!r}; valid: 1, 2, 3, 4')
        strides = _check_per_stage('strides', strides, num_stages)
        dilations = _check_per_stage('dilations', dilations, num_stages)
        if not all(0 <= i < num_stages for i in out_indices):
            raise ValueError(f'out_indices must lie in [0, {num_stages - 1}] (num_stages={num_stages}), '
                             f'got {tuple(out_indices)}')
        if not -1 <= frozen_stages <= num_stages:
            raise ValueError(f'invalid frozen_stages {frozen_stages!r}; valid: -1 (none), 0 (stem) .. '
                             f'{num_stages} (stem and every stage)')
        stem_channels = base_channels if stem_channels is None else stem_channels
        if not isinstance(stem_channels, int) or stem_channels < (2 if deep_stem else 1):
            raise ValueError(f'invalid stem_channels {stem_channels!r}; valid: None (= base_channels) or a '
                             f'positive int (>= 2 with deep_stem, which halves it inside the stem)')
        block, stage_blocks = self.arch_settings[depth]
        self.depth, self.out_indices = depth, tuple(out_indices)
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        self.num_stages, self.strides, self.dilations = num_stages, strides, dilations
        self.deep_stem, self.stem_channels = deep_stem, stem_channels
        self.zero_init_residual = zero_init_residual

        # stem: keys stem.0 (conv) / stem.1 (norm) as before; a deep stem has convs at 0, 3, 6
        # and norms at 1, 4, 7 (the keys of mmdet's deep stem); the imagenet stem ends in a max-pool
        stem_conv_cfg = conv_cfg if stem_conv_cfg is None else stem_conv_cfg
        first_stride = 2 if stem == 'imagenet' else stem_stride
        if deep_stem:
            mid = stem_channels // 2
            layers = (_conv_bn_relu(stem_conv_cfg, norm_cfg, in_channels, mid, 3, first_stride, 1)
                      + _conv_bn_relu(stem_conv_cfg, norm_cfg, mid, mid, 3, 1, 1)
                      + _conv_bn_relu(stem_conv_cfg, norm_cfg, mid, stem_channels, 3, 1, 1))
        elif stem == 'imagenet':
            layers = _conv_bn_relu(stem_conv_cfg, norm_cfg, in_channels, stem_channels, 7, 2, 3)
        else:
            layers = _conv_bn_relu(stem_conv_cfg, norm_cfg, in_channels, stem_channels, 3, stem_stride, 1)
        if stem == 'imagenet':
            layers.append(nn.MaxPool2d(3, 2, 1))
        self.stem = nn.Sequential(*layers)

        self.stage_channels: Tuple[int, ...] = ()
        channels_in = stem_channels
        self.res_layers = []
        for i in range(num_stages):
            channels = base_channels * 2 ** i
            blocks = []
            for j in range(stage_blocks[i]):
                stride = strides[i] if j == 0 else 1
                blocks.append(block(channels_in, channels, stride, conv_cfg, norm_cfg, dilation=dilations[i]))
                channels_in = channels * block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.res_layers.append(name)
            self.stage_channels += (channels_in,)
        self.out_channels: Tuple[int, ...] = tuple(self.stage_channels[i] for i in self.out_indices)
        self._freeze_stages()

    def init_weights(self):
        first_time = not self.is_init
        super().init_weights()
        init_cfgs = self.init_cfg if isinstance(self.init_cfg, list) else [self.init_cfg]
        pretrained = any(isinstance(c, dict) and c.get('type') == 'Pretrained' for c in init_cfgs)
        if self.zero_init_residual and first_time and not pretrained:
            for m in self.modules():
                if isinstance(m, (BasicBlock, Bottleneck)) and m.last_norm.weight is not None:
                    nn.init.zeros_(m.last_norm.weight)

    def _freeze_stages(self):
        modules = [self.stem] + [getattr(self, n) for n in self.res_layers]
        for m in modules[:self.frozen_stages + 1]:
            m.eval()
            for p in m.parameters():
                p.requires_grad = False

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        x = self.stem(x)
        outs = []
        for i, name in enumerate(self.res_layers):
            x = getattr(self, name)(x)
            if i in self.out_indices:
                outs.append(x)
        return tuple(outs)

    def train(self, mode: bool = True):
        super().train(mode)
        self._freeze_stages()
        if mode and self.norm_eval:
            for m in self.modules():
                if isinstance(m, _BatchNorm):
                    m.eval()
        return self
