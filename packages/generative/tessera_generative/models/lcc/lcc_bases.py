"""Fitting LCC bases on autoencoder embeddings.

Adversarial Learning with Local Coordinate Coding (LCCGAN), Cao et al., ICML 2018, arXiv:1806.04895.
Official repository: https://github.com/guoyongcs/LCCGAN (``trainer.py``, stage 2).

The bases ``B`` (M, D) and a coding ``gamma`` (N, M) of a batch of embeddings ``X`` (N, D) minimise the
official stage-2 objective (all terms are means over their elements, as ``nn.MSELoss``):

    L = 0.5 * mse(gamma B, X) + L_G * mse(sqrt|g_ij| (x_i - v_j), 0) + lambda * mse(B, 0),
    g = gamma / sum_j gamma_ij                       (locality term of LCC, Yu et al. 2009)

LCCGAN++ (Improving GANs with Local Coordinate Coding, Cao et al., TPAMI, arXiv:2008.00942; official
repository https://github.com/guoyongcs/LCCGAN-v2) replaces the locality term by the higher-order one of its
generator approximation (``order=3``; official ``L_v = 1e-4``, ``L_h = 1``, ``lambda = 0.2``, d = nz = 5):

    L = 0.5 * mse(gamma B, X) + L_v * mean_ij |g_ij| ||x_i - v_j||^3 + lambda * mse(B, 0).

Both objectives are minimised by alternating Adam steps on ``gamma`` (reset per batch) and on ``B`` (official: ``L_G = 2``,
``lambda = 0.2``, lr 0.01, batches of 1,000 embeddings, 10 rounds of 10 coefficient + 10 basis steps,
3 epochs). The official code starts ``B`` from ``nn.Linear``'s random initialisation; ``init='kmeans'``
(the default here) starts it from k-means centres of the embeddings, which puts every basis on the
data before the objective refines it (a deviation, documented in configs/lccgan/README.md).
"""
from typing import Optional

import torch

INITS = ('kmeans', 'random')


def kmeans(points: torch.Tensor, k: int, iters: int = 25, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """k-means++ seeding + Lloyd iterations. points (N, D) -> centres (k, D)."""
    n = points.size(0)
    if k > n:
        raise ValueError(f'cannot fit {k} bases on {n} embeddings; collect at least {k}')
    centres = [points[torch.randint(n, (1,), generator=generator)].squeeze(0)]
    d2 = (points - centres[0]).pow(2).sum(1)
    for _ in range(1, k):
        j = torch.multinomial(d2.clamp_min(0) + 1e-12, 1, generator=generator)
        centres.append(points[j].squeeze(0))
        d2 = torch.minimum(d2, (points - centres[-1]).pow(2).sum(1))
    c = torch.stack(centres)
    for _ in range(iters):
        assign = torch.cdist(points, c).argmin(1)
        for j in range(k):
            members = points[assign == j]
            if len(members):
                c[j] = members.mean(0)
    return c


ORDERS = (2, 3)


def lcc_objective(x: torch.Tensor, bases: torch.Tensor, coding: torch.Tensor, lg: float = 2.0,
                  lam: float = 0.2, order: int = 2) -> torch.Tensor:
    """The official stage-2 loss (``order=2``: LCCGAN, ``order=3``: LCCGAN++).
    x (N, D), bases (M, D), coding (N, M) -> scalar."""
    if order not in ORDERS:
        raise ValueError(f'unknown LCC order {order!r}; valid: {ORDERS} (2: LCCGAN, 3: LCCGAN++)')
    rec = coding @ bases
    g = coding / coding.sum(1, keepdim=True)
    d2 = (x.pow(2).sum(1, keepdim=True) - 2 * x @ bases.t() + bases.pow(2).sum(1)[None]).clamp_min(0)
    if order == 2:
        # mean_ijk (sqrt|g_ij| (x_ik - v_jk))^2 = sum_ij |g_ij| ||x_i - v_j||^2 / (N M D), without (N, M, D)
        local = (g.abs() * d2).sum() / (x.size(0) * bases.size(0) * x.size(1))
    else:
        local = (g.abs() * d2.clamp_min(1e-12).pow(1.5)).mean()
    return 0.5 * (rec - x).pow(2).mean() + lg * local + lam * bases.pow(2).mean()


def fit_lcc_bases(x: torch.Tensor, num_bases: int, init: str = 'kmeans', epochs: int = 3, batch_size: int = 1000,
                  rounds: int = 10, steps: int = 10, lr: float = 0.01, lg: float = 2.0, lam: float = 0.2,
                  order: int = 2, seed: int = 0) -> torch.Tensor:
    """Fit ``num_bases`` LCC bases on embeddings x (N, D); returns (num_bases, D). ``epochs=0`` keeps the init."""
    if init not in INITS:
        raise ValueError(f'unknown LCC basis init {init!r}; valid: {INITS}')
    if order not in ORDERS:
        raise ValueError(f'unknown LCC order {order!r}; valid: {ORDERS} (2: LCCGAN, 3: LCCGAN++)')
    g = torch.Generator().manual_seed(seed)
    x = x.detach().float().cpu()
    n, dim = x.shape
    if init == 'kmeans':
        bases = kmeans(x, num_bases, generator=g)
    else:   # nn.Linear(num_bases, dim)'s default init, as the official learnBasis
        bound = 1.0 / num_bases ** 0.5
        bases = (torch.rand(num_bases, dim, generator=g) * 2 - 1) * bound
    bases = bases.clone().requires_grad_(True)
    opt_b = torch.optim.Adam([bases], lr=lr, betas=(0.5, 0.999))
    bs = min(batch_size, n)
    for _ in range(epochs):
        perm = torch.randperm(n, generator=g)
        for s in range(0, n - bs + 1, bs):
            xb = x[perm[s:s + bs]]
            bound = 1.0 / num_bases ** 0.5
            coding = ((torch.rand(bs, num_bases, generator=g) * 2 - 1) * bound).requires_grad_(True)
            opt_c = torch.optim.Adam([coding], lr=lr, betas=(0.5, 0.999))
            for _ in range(rounds):
                for _ in range(steps):
                    opt_c.zero_grad()
                    lcc_objective(xb, bases.detach(), coding, lg, lam, order).backward()
                    opt_c.step()
                for _ in range(steps):
                    opt_b.zero_grad()
                    lcc_objective(xb, bases, coding.detach(), lg, lam, order).backward()
                    opt_b.step()
    return bases.detach()
