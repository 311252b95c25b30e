"""A small plain CNN backbone: the feature network of FID / IS / precision-recall here.

Inception-v3 weights (what FID and IS are defined with: Heusel et al., arXiv:1706.08500;
Salimans et al., arXiv:1606.03498) cannot be downloaded, so the metrics use a classifier
trained on the same real data (``configs/feature_nets/``): this backbone inside tessera-core's
``ImageClassifier`` with global average pooling and a linear head. Its pooled features play the
role of Inception's pool3 features (FID, precision/recall) and its logits the role of
Inception's class predictions (IS). Numbers are comparable only among runs with one checkpoint.
"""
from typing import Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS

# 3x3 conv -> BN -> ReLU layers. Columns: (out_channels, stride).
ARCH_SETTINGS = {
    'w32': ((32, 1), (32, 2), (64, 1), (64, 2), (64, 1)),   # 28 -> 14 -> 7; 64-d features
    'w16': ((16, 1), (16, 2), (32, 2), (32, 1)),            # tiny: 28 -> 14 -> 7; 32-d features
}


@MODELS.register_module()
class ConvFeatureNet(BaseModule):
    """Args:
        arch (str | sequence): A key of :data:`ARCH_SETTINGS` or ``(out_channels, stride)`` rows.
        in_channels (int): Image channels.

    ``forward(x)``: (N, C, H, W) -> ``((N, out_channels, H', W'),)``.
    """
    arch_settings = ARCH_SETTINGS

    def __init__(self, arch='w32', in_channels: int = 1, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise KeyError(f'unknown ConvFeatureNet arch {arch!r}; valid: {sorted(self.arch_settings)}')
            table: Sequence = self.arch_settings[arch]
        else:
            table = tuple(tuple(r) for r in arch)
        layers, prev = [], in_channels
        for c, s in table:
            layers += [nn.Conv2d(prev, c, 3, s, 1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
            prev = c
        self.layers = nn.Sequential(*layers)
        self.out_channels = prev

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.layers(x),)
