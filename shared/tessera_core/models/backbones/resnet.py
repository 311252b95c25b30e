"""ResNet (torchvision layout), usable as a classification and an mmdet backbone.

Deep Residual Learning for Image Recognition, He et al., CVPR 2016, arXiv:1512.03385.
Layers and widths follow torchvision's ``resnet18/34/50``; ``stem='small'``
replaces the 7x7/2 conv + max-pool by one 3x3/1 conv for 28-32 px images.
"""
from typing import Sequence, Tuple

import torch
from mmcv.cnn import build_conv_layer, build_norm_layer
from mmengine.model import BaseModule
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tessera_core.registry import MODELS


class BasicBlock(nn.Module):
    expansion = 1

    def __init__(self, in_channels, channels, stride=1, conv_cfg=None, norm_cfg=dict(type='BN')):
        super().__init__()
        out = channels * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, in_channels, channels, 3, stride, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.conv2 = build_conv_layer(conv_cfg, channels, out, 3, 1, 1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, out)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out, stride, conv_cfg, norm_cfg)

    def forward(self, x):
        identity = x if self.downsample is None else self.downsample(x)
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + identity)


class Bottleneck(nn.Module):
    expansion = 4

    def __init__(self, in_channels, channels, stride=1, conv_cfg=None, norm_cfg=dict(type='BN')):
        super().__init__()
        out = channels * self.expansion
        self.conv1 = build_conv_layer(conv_cfg, in_channels, channels, 1, bias=False)
        self.bn1 = build_norm_layer(norm_cfg, channels)[1]
        self.conv2 = build_conv_layer(conv_cfg, channels, channels, 3, stride, 1, bias=False)
        self.bn2 = build_norm_layer(norm_cfg, channels)[1]
        self.conv3 = build_conv_layer(conv_cfg, channels, out, 1, bias=False)
        self.bn3 = build_norm_layer(norm_cfg, out)[1]
        self.relu = nn.ReLU(inplace=True)
        self.downsample = _shortcut(in_channels, out, stride, conv_cfg, norm_cfg)

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
        out_indices (Sequence[int]): Stages whose outputs are returned (0..3).
        frozen_stages (int): Stages (stem = 0) whose parameters are frozen, -1 for none.
        norm_eval (bool): Keep BatchNorm layers in eval mode while training.

    Shapes: input (N, in_channels, H, W); stage i output (N, C_i, H / s_i, W / s_i)
    with C_i = base_channels * 2**i * expansion and s_i = 4 * 2**i (``'imagenet'`` stem) or
    stem_stride * 2**i (``'small'``). ``self.stage_channels`` lists C_0..C_3 and ``self.out_channels``
    the channels of the returned outputs.
    """
    # depth: (block type, blocks per stage)
    arch_settings = {18: (BasicBlock, (2, 2, 2, 2)), 34: (BasicBlock, (3, 4, 6, 3)),
                     50: (Bottleneck, (3, 4, 6, 3)), 101: (Bottleneck, (3, 4, 23, 3))}
    stems = ('imagenet', 'small')

    def __init__(self, depth: int = 18, in_channels: int = 3, stem: str = 'imagenet', stem_stride: int = 1,
                 base_channels: int = 64, out_indices: Sequence[int] = (3,), frozen_stages: int = -1,
                 norm_eval: bool = False, conv_cfg=None, norm_cfg=dict(type='BN', requires_grad=True),
                 init_cfg=(dict(type='Kaiming', layer='Conv2d'),
                           dict(type='Constant', val=1, layer=['_BatchNorm', 'GroupNorm']))):
        super().__init__(init_cfg=list(init_cfg) if init_cfg is not None else None)
        if depth not in self.arch_settings:
            raise KeyError(f'invalid depth {depth} for ResNet; valid: {sorted(self.arch_settings)}')
        if stem not in self.stems:
            raise ValueError(f'invalid stem {stem!r}; valid: {self.stems}')
        if stem_stride not in (1, 2) or (stem == 'imagenet' and stem_stride != 1):
            raise ValueError(f'invalid stem_stride {stem_stride!r}; valid: 1 or 2 with the small stem '
                             f'(the imagenet stem has its fixed stride 4)')
        if not all(0 <= i < 4 for i in out_indices):
            raise ValueError(f'out_indices must lie in [0, 3], got {tuple(out_indices)}')
        block, stage_blocks = self.arch_settings[depth]
        self.depth, self.out_indices = depth, tuple(out_indices)
        self.frozen_stages, self.norm_eval = frozen_stages, norm_eval
        if stem == 'imagenet':
            self.stem = nn.Sequential(
                build_conv_layer(conv_cfg, in_channels, base_channels, 7, 2, 3, bias=False),
                build_norm_layer(norm_cfg, base_channels)[1], nn.ReLU(inplace=True),
                nn.MaxPool2d(3, 2, 1))
        else:
            self.stem = nn.Sequential(
                build_conv_layer(conv_cfg, in_channels, base_channels, 3, stem_stride, 1, bias=False),
                build_norm_layer(norm_cfg, base_channels)[1], nn.ReLU(inplace=True))
        self.stage_channels: Tuple[int, ...] = ()
        channels_in = base_channels
        self.res_layers = []
        for i, num_blocks in enumerate(stage_blocks):
            channels = base_channels * 2 ** i
            blocks = []
            for j in range(num_blocks):
                stride = 2 if (j == 0 and i > 0) else 1
                blocks.append(block(channels_in, channels, stride, conv_cfg, norm_cfg))
                channels_in = channels * block.expansion
            name = f'layer{i + 1}'
            self.add_module(name, nn.Sequential(*blocks))
            self.res_layers.append(name)
            self.stage_channels += (channels_in,)
        self.out_channels: Tuple[int, ...] = tuple(self.stage_channels[i] for i in self.out_indices)
        self._freeze_stages()

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
