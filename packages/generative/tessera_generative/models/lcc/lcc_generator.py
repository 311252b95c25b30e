"""The LCCGAN generator: LCC sampling on the embedding manifold, then an image generator.

Adversarial Learning with Local Coordinate Coding (LCCGAN), Cao et al., ICML 2018, arXiv:1806.04895.
Official repository: https://github.com/guoyongcs/LCCGAN (``model_define.py``, ``_netG``: ``lcc_sampling``
followed by a DCGAN generator whose input size is the embedding size).

``forward(z)``: (N, d) -> :class:`LCCSampler` -> (N, embedding_dim) -> ``generator`` -> (N, C, H, W).
``noise_size`` is ``d``, so :class:`BaseGAN` draws ``z ~ N(0, I_d)``.
"""
from typing import Optional, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS
from .lcc_sampler import LCCSampler


@MODELS.register_module()
class LCCGenerator(BaseModule):
    """Args:
        generator (dict | nn.Module): Image generator taking (N, embedding_dim), e.g. ``DCGANGenerator``
            (its ``noise_size`` is set to ``embedding_dim``).
        embedding_dim (int): D, the autoencoder's latent size (official 100).
        num_bases (int): M (official 128). local_size (int): d (official 3).
        coefficients (str): ``'gaussian'`` (official) or ``'simplex'``, see :class:`LCCSampler`.
        noise_size (int, optional): must equal ``local_size`` if given (BaseGAN passes its own).
    """

    def __init__(self, generator: Union[dict, nn.Module], embedding_dim: int = 100, num_bases: int = 128,
                 local_size: int = 3, coefficients: str = 'gaussian', noise_size: Optional[int] = None,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if noise_size is not None and noise_size != local_size:
            raise ValueError(f'LCCGenerator takes noise of size local_size={local_size} (d); got noise_size={noise_size}')
        if isinstance(generator, dict):
            generator = dict(generator)
            if generator.setdefault('noise_size', embedding_dim) != embedding_dim:
                raise ValueError(f"the image generator's noise_size {generator['noise_size']} must equal "
                                 f'embedding_dim={embedding_dim}')
            generator = MODELS.build(generator)
        self.sampler = LCCSampler(num_bases, embedding_dim, local_size, coefficients)
        self.generator = generator
        self.noise_size = local_size
        self.embedding_dim = embedding_dim

    def set_bases(self, bases: torch.Tensor) -> None:
        self.sampler.set_bases(bases)

    def forward(self, noise: torch.Tensor, anchor: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.generator(self.sampler(noise, anchor))
