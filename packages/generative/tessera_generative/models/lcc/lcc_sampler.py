"""LCC sampling of generator inputs on the latent manifold.

Adversarial Learning with Local Coordinate Coding (LCCGAN), Cao et al., ICML 2018, arXiv:1806.04895.
Official repository: https://github.com/guoyongcs/LCCGAN (``model_define.py``, ``lcc_sampling``).

A sample is ``h = sum_{j=1..d} w_j v_{a_j}``: an anchor basis ``a_1`` is drawn uniformly from the
``M`` bases, ``a_1..a_d`` are its ``d`` nearest bases (the anchor itself first), and ``w`` comes
from the generator's low-dimensional input ``z`` (N, d):

- ``coefficients='gaussian'`` (the official code): ``w = z``, ``z ~ N(0, I_d)``;
- ``coefficients='simplex'``: ``w ~ Dirichlet(1_d)`` obtained from ``z`` as ``e_j = -log Phi(z_j)``,
  ``w = e / sum e``, so ``h`` lies in the convex hull of the local bases (LCC's sum-to-one coding).

So the generator sees a ``d``-dimensional input (``noise_size = d``; the official default 3) that is
mapped onto the ``D``-dimensional embedding manifold (``D`` = the autoencoder's latent size).
"""
from typing import Optional, Tuple

import torch
from torch import nn

from .lcc_coding import nearest_bases

COEFFICIENTS = ('gaussian', 'simplex')


def simplex_weights(z: torch.Tensor) -> torch.Tensor:
    """Dirichlet(1) weights (N, d) from standard normal z (N, d): rows >= 0, summing to 1."""
    u = torch.special.ndtr(z).clamp(1e-7, 1 - 1e-7)
    e = -torch.log(u)
    return e / e.sum(1, keepdim=True)


class LCCSampler(nn.Module):
    """Args:
        num_bases (int): M (official 128). embedding_dim (int): D (official 100).
        local_size (int): d, the bases per sample and the input size (official ``nz`` = 3).
        coefficients (str): one of :data:`COEFFICIENTS`.

    ``forward(z, anchor=None)``: (N, d) -> (N, D). ``bases`` (M, D) is a buffer, set by ``set_bases``.
    """

    def __init__(self, num_bases: int = 128, embedding_dim: int = 100, local_size: int = 3,
                 coefficients: str = 'gaussian'):
        super().__init__()
        if coefficients not in COEFFICIENTS:
            raise ValueError(f'unknown coefficients {coefficients!r}; valid: {COEFFICIENTS}')
        if not 1 <= local_size <= num_bases:
            raise ValueError(f'local_size (d) must be in [1, num_bases={num_bases}], got {local_size}')
        self.num_bases, self.embedding_dim, self.local_size = num_bases, embedding_dim, local_size
        self.coefficients = coefficients
        self.register_buffer('bases', torch.zeros(num_bases, embedding_dim))

    def set_bases(self, bases: torch.Tensor) -> None:
        if bases.shape != self.bases.shape:
            raise ValueError(f'bases must have shape {tuple(self.bases.shape)}, got {tuple(bases.shape)}')
        self.bases.copy_(bases.to(self.bases))

    def local_bases(self, anchor: torch.Tensor) -> torch.Tensor:
        """(N,) anchor indices -> (N, d) indices of each anchor's d nearest bases (itself first)."""
        return nearest_bases(self.bases[anchor], self.bases, self.local_size)

    def weights(self, z: torch.Tensor) -> torch.Tensor:
        return z if self.coefficients == 'gaussian' else simplex_weights(z)

    def sample(self, z: torch.Tensor, anchor: Optional[torch.Tensor] = None
               ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Returns h (N, D), the local basis indices (N, d) and the weights (N, d)."""
        if z.dim() != 2 or z.size(1) != self.local_size:
            raise ValueError(f'z must have shape (N, {self.local_size}), got {tuple(z.shape)}')
        if anchor is None:
            anchor = torch.randint(self.num_bases, (z.size(0),), device=z.device)
        idx = self.local_bases(anchor)
        w = self.weights(z)
        h = (w[:, :, None] * self.bases[idx]).sum(1)
        return h, idx, w

    def forward(self, z: torch.Tensor, anchor: Optional[torch.Tensor] = None) -> torch.Tensor:
        return self.sample(z, anchor)[0]
