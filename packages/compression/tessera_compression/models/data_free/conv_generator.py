"""A DCGAN-style image generator for data-free distillation.

The layout is that of the generator in DAFL's official code (Data-Free Learning of Student
Networks, Chen et al., ICCV 2019, arXiv:1904.01186;
https://github.com/huawei-noah/Efficient-Computing/tree/master/Data-Efficient-Model-Compression/DAFL,
``DAFL_train.py``, class ``Generator``), with the channel widths as arguments:

    z (N, latent_dim) -> Linear -> (N, 128, s/4, s/4) -> BN -> x2 up -> Conv3x3(128) BN LReLU(0.2)
      -> x2 up -> Conv3x3(64) BN LReLU(0.2) -> Conv3x3(out_channels) -> tanh -> BN(affine=False)

The layout (and ``nn.BatchNorm2d(128, 0.8)``, i.e. ``eps=0.8``, a positional slip) comes from the
widely copied PyTorch-GAN DCGAN example; ``bn_eps`` keeps 0.8 as the default. Compared line by line
with ``DAFL-train.py`` (2026-12-02): same layers, order, nearest-neighbour upsampling, BatchNorm eps and
PyTorch default initialisation. The final affine-free BatchNorm makes each output channel zero-mean,
unit-variance over the batch: the official teachers see images standardised with the data's mean and
std (MNIST 0.1307 / 0.3081), so that is their input range. A teacher normalised otherwise (ours:
``(x - 127.5) / 127.5``) gets the same standardised range through ``out_mean`` / ``out_std`` (a fixed
affine map after that BatchNorm; not in the official code, which needs none).
"""
import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['ConvGenerator']


@MODELS.register_module()
class ConvGenerator(BaseModule):
    """Args:
        img_size (int): Output height = width, a multiple of 4 (28 and 32 both work).
        latent_dim (int): Noise dimension (DAFL: 100).
        out_channels (int): Image channels (1 for grey digits).
        base_channels (int): Width of the first convolution (DAFL: 128; the second is half).
        bn_eps (float): eps of the two inner BatchNorms (official: 0.8, see the module docstring).
        out_mean, out_std (float): Fixed output map ``x * out_std + out_mean`` after the last BatchNorm
            (defaults 0, 1: the official output).

    Shapes: z (N, latent_dim) -> images (N, out_channels, img_size, img_size).
    """

    def __init__(self, img_size: int = 32, latent_dim: int = 100, out_channels: int = 1, base_channels: int = 128,
                 bn_eps: float = 0.8, out_mean: float = 0.0, out_std: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if img_size % 4:
            raise ValueError(f'img_size must be a multiple of 4, got {img_size}')
        if not out_std > 0:
            raise ValueError(f'out_std must be positive, got {out_std}')
        self.out_mean, self.out_std = float(out_mean), float(out_std)
        self.img_size, self.latent_dim, self.out_channels = img_size, latent_dim, out_channels
        self.init_size, c = img_size // 4, base_channels
        self.fc = nn.Linear(latent_dim, c * self.init_size ** 2)
        self.bn0 = nn.BatchNorm2d(c)
        self.conv1 = nn.Sequential(nn.Conv2d(c, c, 3, 1, 1), nn.BatchNorm2d(c, eps=bn_eps), nn.LeakyReLU(0.2))
        self.conv2 = nn.Sequential(nn.Conv2d(c, c // 2, 3, 1, 1), nn.BatchNorm2d(c // 2, eps=bn_eps),
                                   nn.LeakyReLU(0.2), nn.Conv2d(c // 2, out_channels, 3, 1, 1), nn.Tanh(),
                                   nn.BatchNorm2d(out_channels, affine=False))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        x = self.fc(z).view(z.size(0), -1, self.init_size, self.init_size)
        x = F.interpolate(self.bn0(x), scale_factor=2)
        x = F.interpolate(self.conv1(x), scale_factor=2)
        x = self.conv2(x)
        if self.out_mean != 0.0 or self.out_std != 1.0:
            x = x * self.out_std + self.out_mean
        return x
