"""DCGAN discriminator (Radford, Metz & Chintala, ICLR 2016, arXiv:1511.06434).

Official repository: https://github.com/Newmu/dcgan_code

The paper's guidelines (Section 3): strided convolutions instead of pooling, LeakyReLU (slope
0.2) everywhere, batch normalisation in every layer but the input layer, no fully connected
hidden layers; the last convolution covers the whole remaining map and gives one logit per
image. ``norm='none'`` drops the batch norms (WGAN-GP's critic must not use them: the gradient
penalty is per sample, Gulrajani et al. Section 4).
"""
from typing import Dict, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS

from .dcgan_generator import dcgan_init

# Feature maps after each stride-2 4x4 convolution. Columns: (spatial size, channels as a
# multiple of base_channels). The final convolution's kernel is the last size (-> 1 x 1).
ARCH_SETTINGS: Dict[int, Tuple[Tuple[int, int], ...]] = {
    28: ((14, 1), (7, 2)),
    32: ((16, 1), (8, 2), (4, 4)),
    64: ((32, 1), (16, 2), (8, 4), (4, 8)),
}
NORMS = ('BN', 'none')


@MODELS.register_module()
class DCGANDiscriminator(BaseModule):
    """Args:
        input_scale (int): Image size, a key of :data:`ARCH_SETTINGS`.
        in_channels (int): Image channels.
        base_channels (int): Width of the first map (the table's multiplier 1).
        norm (str): ``'BN'`` (the paper) or ``'none'``.

    ``forward(img)``: (N, in_channels, input_scale, input_scale) -> logits (N, 1).
    """
    arch_settings = ARCH_SETTINGS

    def __init__(self, input_scale: int = 32, in_channels: int = 1, base_channels: int = 64,
                 norm: str = 'BN', init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if input_scale not in self.arch_settings:
            raise KeyError(f'DCGANDiscriminator has no layout for input_scale={input_scale}; '
                           f'valid: {sorted(self.arch_settings)}')
        if norm not in NORMS:
            raise ValueError(f'unknown norm {norm!r}; valid: {NORMS}')
        self.input_scale, self.in_channels = input_scale, in_channels
        table = self.arch_settings[input_scale]
        layers, prev = [], in_channels
        for i, (_, mult) in enumerate(table):
            c = base_channels * mult
            layers.append(nn.Conv2d(prev, c, 4, 2, 1, bias=(i == 0 or norm == 'none')))
            if i > 0 and norm == 'BN':
                layers.append(nn.BatchNorm2d(c))
            layers.append(nn.LeakyReLU(0.2, inplace=True))
            prev = c
        layers.append(nn.Conv2d(prev, 1, table[-1][0], 1, 0))
        self.layers = nn.Sequential(*layers)
        self.init_weights()

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            return super().init_weights()
        dcgan_init(self)

    def forward(self, img: torch.Tensor) -> torch.Tensor:
        expected = (self.in_channels, self.input_scale, self.input_scale)
        if img.dim() != 4 or tuple(img.shape[1:]) != expected:
            raise ValueError(f'DCGANDiscriminator was built for images (N, {expected[0]}, {expected[1]}, '
                             f'{expected[2]}), got {tuple(img.shape)}')
        return self.layers(img).flatten(1)
