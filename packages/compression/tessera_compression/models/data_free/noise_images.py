"""Random-noise images: the "normal distribution" baseline of DAFL's Table 1 (no generator is learned).

Data-Free Learning of Student Networks, Chen et al., ICCV 2019, arXiv:1904.01186, section 4.1: a student
distilled from the teacher on images drawn from a normal distribution instead of a trained generator.
Used as the ``generator`` of :class:`DataFreeDistillation` with ``generator_iters=0``.
"""
import torch
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['NoiseImages']


@MODELS.register_module()
class NoiseImages(nn.Module):
    """``z`` (N, C*H*W) standard normal -> images ``z * std + mean`` of shape (N, C, H, W); no parameters.

    Args:
        img_size (int): Height = width.
        out_channels (int): Image channels.
        mean, std (float): Pixel mean and standard deviation in the networks' input space (a
            ``ConvGenerator``'s ``out_mean`` / ``out_std`` for the same teacher).
    """

    def __init__(self, img_size: int = 28, out_channels: int = 1, mean: float = 0.0, std: float = 1.0):
        super().__init__()
        if img_size <= 0 or out_channels <= 0 or not std > 0:
            raise ValueError(f'NoiseImages: img_size, out_channels and std must be positive, got {img_size}, '
                             f'{out_channels}, {std}')
        self.img_size, self.out_channels, self.mean, self.std = img_size, out_channels, float(mean), float(std)
        self.latent_dim = out_channels * img_size * img_size

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        if z.dim() != 2 or z.size(1) != self.latent_dim:
            raise ValueError(f'NoiseImages expects noise (N, {self.latent_dim}), got {tuple(z.shape)}')
        return z.view(-1, self.out_channels, self.img_size, self.img_size) * self.std + self.mean
