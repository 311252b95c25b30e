"""Convolutional encoder of LCCGAN's autoencoder (images -> embeddings).

Adversarial Learning with Local Coordinate Coding (LCCGAN), Cao et al., ICML 2018, arXiv:1806.04895.
Official repository: https://github.com/guoyongcs/LCCGAN (``model_define.py``, ``_encoder``: the DCGAN
discriminator's strided convolutions whose last convolution outputs ``embedding_dim`` channels at 1 x 1,
without an activation). The decoder is a ``DCGANGenerator`` with ``noise_size = embedding_dim``.
"""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS
from ..gans.dcgan_discriminator import ARCH_SETTINGS
from ..gans.dcgan_generator import dcgan_init


@MODELS.register_module()
class ConvEncoder(BaseModule):
    """Args:
        input_scale (int): Image size, a key of the DCGAN discriminator's ``ARCH_SETTINGS``.
        in_channels (int): Image channels. base_channels (int): Width of the first map.
        embedding_dim (int): Output size D (official 100).

    ``forward(img)``: (N, in_channels, S, S) -> (N, embedding_dim).
    """

    def __init__(self, input_scale: int = 28, in_channels: int = 1, base_channels: int = 64,
                 embedding_dim: int = 100, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if input_scale not in ARCH_SETTINGS:
            raise KeyError(f'ConvEncoder has no layout for input_scale={input_scale}; valid: {sorted(ARCH_SETTINGS)}')
        table = ARCH_SETTINGS[input_scale]
        layers, prev = [], in_channels
        for i, (_, mult) in enumerate(table):
            c = base_channels * mult
            layers.append(nn.Conv2d(prev, c, 4, 2, 1, bias=False))
            if i > 0:
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            prev = c
        layers.append(nn.Conv2d(prev, embedding_dim, table[-1][0], 1, 0, bias=False))
        self.layers = nn.Sequential(*layers)
        self.input_scale, self.in_channels, self.embedding_dim = input_scale, in_channels, embedding_dim
        dcgan_init(self)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        return self.layers(img).flatten(1)
