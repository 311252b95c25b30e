"""Local coordinate coding of embeddings by their nearest bases.

Adversarial Learning with Local Coordinate Coding (LCCGAN), Cao, Guo, Wu, Shen, Huang & Tan, ICML 2018,
arXiv:1806.04895. Official repository: https://github.com/guoyongcs/LCCGAN

LCC (Yu, Zhang & Gong, NeurIPS 2009) approximates a point ``x`` on a manifold by a convex-like
combination of a few nearby bases ``v``: ``x ~ r(x) = sum_{v in C(x)} gamma_v(x) v`` with
``sum_v gamma_v(x) = 1``. Here ``C(x)`` are the ``d`` bases nearest to ``x`` and ``gamma`` solves

    min_gamma || x - sum_j gamma_j v_j ||^2   s.t.   sum_j gamma_j = 1

in closed form (the locally linear embedding solution): with the local Gram matrix
``C_jk = (x - v_j).(x - v_k)``, ``gamma = C^-1 1 / (1^T C^-1 1)`` (``C`` regularised by
``reg * trace(C) / d``). A point that lies on the simplex of its ``d`` nearest bases is reconstructed
exactly (its barycentric coordinates); the error measures how well the bases cover the manifold.
"""
from typing import Tuple

import torch


def nearest_bases(points: torch.Tensor, bases: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (N, k) of the ``k`` bases nearest to each point, nearest first.

    Args:
        points: (N, D). bases: (M, D) with ``k <= M``.
    """
    if bases.dim() != 2 or points.dim() != 2 or points.size(1) != bases.size(1):
        raise ValueError(f'points (N, D) and bases (M, D) must share D; got {tuple(points.shape)}, '
                         f'{tuple(bases.shape)}')
    if not 1 <= k <= bases.size(0):
        raise ValueError(f'k must be in [1, {bases.size(0)}] (the number of bases), got {k}')
    dist = torch.cdist(points, bases)                      # (N, M)
    # stable sort so that ties (e.g. duplicated bases) resolve by index, deterministically
    return torch.sort(dist, dim=1, stable=True).indices[:, :k]


def local_coordinates(points: torch.Tensor, bases: torch.Tensor, d: int,
                      reg: float = 1e-6) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Code each point by its ``d`` nearest bases with weights summing to one.

    Args:
        points: (N, D) embeddings. bases: (M, D). d: local bases per point.
        reg: Tikhonov regulariser of the local Gram matrix, relative to its trace.

    Returns:
        indices (N, d), weights (N, d) (rows sum to 1), reconstructions (N, D).
    """
    idx = nearest_bases(points, bases, d)                   # (N, d)
    local = bases[idx]                                      # (N, d, D)
    diff = points[:, None, :] - local                       # (N, d, D)
    gram = diff @ diff.transpose(1, 2)                      # (N, d, d)
    trace = gram.diagonal(dim1=1, dim2=2).sum(-1).clamp_min(1e-12)
    eye = torch.eye(d, dtype=points.dtype, device=points.device)
    gram = gram + (reg * trace / d)[:, None, None] * eye
    w = torch.linalg.solve(gram, torch.ones(points.size(0), d, 1, dtype=points.dtype, device=points.device))
    w = w.squeeze(-1)
    w = w / w.sum(1, keepdim=True)
    recon = (w[:, :, None] * local).sum(1)
    return idx, w, recon


def lcc_reconstruction_error(points: torch.Tensor, bases: torch.Tensor, d: int) -> dict:
    """Mean squared LCC reconstruction error, absolute and relative to the points' variance."""
    _, _, recon = local_coordinates(points, bases, d)
    mse = (points - recon).pow(2).sum(1).mean()
    var = (points - points.mean(0)).pow(2).sum(1).mean().clamp_min(1e-12)
    return dict(mse=float(mse), relative=float(mse / var))
