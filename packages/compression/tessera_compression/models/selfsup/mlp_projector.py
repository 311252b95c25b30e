"""The MLP projection head of MoCo v2 / SimCLR.

Improved Baselines with Momentum Contrastive Learning (MoCo v2), Chen, Fan, Girshick and He,
arXiv:2003.04297, official code https://github.com/facebookresearch/moco (``--mlp``: the encoder's
fc replaced by ``Linear(2048, 2048) -> ReLU -> Linear(2048, 128)``); the head follows SimCLR
(Chen et al., arXiv:2002.05709, section 2.1).
"""
from typing import Sequence, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['MLPProjector']


@MODELS.register_module()
class MLPProjector(BaseModule):
    """``num_layers`` Linear layers with ReLU between them (MoCo v2: 2).

    Args:
        in_channels (int): Feature width (the backbone's pooled output).
        hid_channels (int): Hidden width (MoCo v2: equal to ``in_channels``, 2048 for ResNet-50).
        out_channels (int): Embedding width (MoCo: 128).
        num_layers (int): Linear layers (>= 1).

    Shapes: (N, in_channels) or a tuple whose last element is that -> (N, out_channels).
    """

    def __init__(self, in_channels: int, hid_channels: int, out_channels: int = 128, num_layers: int = 2,
                 init_cfg=dict(type='Kaiming', layer='Linear', a=5 ** 0.5, distribution='uniform')):
        super().__init__(init_cfg=init_cfg)
        if num_layers < 1:
            raise ValueError(f'num_layers must be >= 1, got {num_layers}')
        widths = [in_channels] + [hid_channels] * (num_layers - 1) + [out_channels]
        layers = []
        for i in range(num_layers):
            layers.append(nn.Linear(widths[i], widths[i + 1]))
            if i < num_layers - 1:
                layers.append(nn.ReLU(inplace=True))
        self.mlp = nn.Sequential(*layers)
        self.in_channels, self.out_channels = in_channels, out_channels

    def forward(self, x: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        if isinstance(x, (tuple, list)):
            x = x[-1]
        return self.mlp(x)
