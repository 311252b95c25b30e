"""Unsupervised Representation Learning with Deep Convolutional Generative Adversarial Networks
(DCGAN), Radford, Metz & Chintala, ICLR 2016, arXiv:1511.06434.

Official repository: https://github.com/Newmu/dcgan_code (Theano); the layer recipe also follows
pytorch/examples ``dcgan/main.py``.

The paper's architecture guidelines (Section 3): no pooling, fractionally-strided (transposed)
convolutions to upsample, batch normalisation in every generator layer but the output, ReLU
activations and a tanh output; weights from N(0, 0.02) (Section 4). Sized here for 28 and 32 px:
``z (N, noise_size) -> project to init_size x init_size -> x2 per stage -> image``.
"""
from typing import Dict, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS

# Feature maps of the generator, from the projected noise to the last hidden map; the output
# layer doubles the last size. Columns: (spatial size, channels as a multiple of base_channels).
ARCH_SETTINGS: Dict[int, Tuple[Tuple[int, int], ...]] = {
    28: ((7, 2), (14, 1)),             # 7 -> 14 -> 28
    32: ((4, 4), (8, 2), (16, 1)),     # 4 -> 8 -> 16 -> 32
    64: ((4, 8), (8, 4), (16, 2), (32, 1)),  # the paper's 64 px layout
}


def dcgan_init(module: nn.Module) -> None:
    """The paper's initialisation: conv weights N(0, 0.02); BN weights N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


@MODELS.register_module()
class DCGANGenerator(BaseModule):
    """Args:
        output_scale (int): Image size, a key of :data:`ARCH_SETTINGS`.
        out_channels (int): Image channels.
        base_channels (int): Width of the last hidden map (the table's multiplier 1).
        noise_size (int): Dimension of ``z`` (100 in the paper).

    ``forward(noise)``: (N, noise_size) -> (N, out_channels, output_scale, output_scale) in [-1, 1].
    """
    arch_settings = ARCH_SETTINGS

    def __init__(self, output_scale: int = 32, out_channels: int = 1, base_channels: int = 64,
                 noise_size: int = 100, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if output_scale not in self.arch_settings:
            raise KeyError(f'DCGANGenerator has no layout for output_scale={output_scale}; '
                           f'valid: {sorted(self.arch_settings)}')
        if min(out_channels, base_channels, noise_size) < 1:
            raise ValueError(f'out_channels, base_channels and noise_size must be >= 1, got '
                             f'{out_channels}, {base_channels}, {noise_size}')
        self.output_scale, self.out_channels, self.noise_size = output_scale, out_channels, noise_size
        table = self.arch_settings[output_scale]
        size0, mult0 = table[0]
        layers = [nn.ConvTranspose2d(noise_size, base_channels * mult0, size0, 1, 0, bias=False),
                  nn.BatchNorm2d(base_channels * mult0), nn.ReLU(inplace=True)]
        for (_, m_in), (_, m_out) in zip(table[:-1], table[1:]):
            layers += [nn.ConvTranspose2d(base_channels * m_in, base_channels * m_out, 4, 2, 1, bias=False),
                       nn.BatchNorm2d(base_channels * m_out), nn.ReLU(inplace=True)]
        layers += [nn.ConvTranspose2d(base_channels * table[-1][1], out_channels, 4, 2, 1), nn.Tanh()]
        self.layers = nn.Sequential(*layers)
        self.init_weights()

    def init_weights(self) -> None:
        if self.init_cfg is not None:
            return super().init_weights()
        dcgan_init(self)

    def forward(self, noise: torch.Tensor) -> torch.Tensor:
        if noise.dim() != 2 or noise.size(1) != self.noise_size:
            raise ValueError(f'DCGANGenerator expects noise (N, {self.noise_size}), got {tuple(noise.shape)}')
        return self.layers(noise[:, :, None, None])
