"""The GOLD-NAS gradual pruning schedule: prune weak gates, adapt the resource coefficient.

GOLD-NAS: Gradual, One-Level, Differentiable, Bi, Xie, Chen, Wei and Tian, arXiv:2007.03331 (2020),
Algorithm 1. No official code was released; this is our reading of the algorithm.

State: ``lambda`` (the coefficient of the resource term, starts at 0) and ``delta`` (its next
increment, starts at ``lambda_init``). Every pruning step (every ``t0`` one-level iterations):

1. candidates = active gates with ``sigmoid(alpha) < threshold`` (``xi``);
2. prune the ``min(n0, #candidates)`` candidates with the smallest gates (``n0`` =
   ``num_per_step``): at most ``n0`` gates per step, so the network shrinks gradually;
3. ``m`` = number pruned. If ``m < n0`` the constraint is too weak: ``lambda += delta``,
   ``delta *= growth`` (``c0``; an exponential ramp ``lambda_init * (1 + c0 + c0^2 + ...)``).
   Otherwise it is strong enough: ``delta = lambda_init``, ``lambda /= growth``.

Every step with ``m > 0`` yields a new architecture: a point of the Pareto front (paper: the set
``A`` of snapshots, all found in one search).
"""
from typing import List, Tuple

import torch

__all__ = ['GoldNASPruner']


class GoldNASPruner:
    """Pure schedule (no model, no runner), so that the counts can be tested exactly.

    Args:
        num_per_step (int): ``n0``, the number of gates to prune per step.
        threshold (float): ``xi``; a gate below it is a pruning candidate.
        lambda_init (float): ``lambda_0``, the first increment of ``lambda``.
        growth (float): ``c0 > 1``.
    """

    def __init__(self, num_per_step: int = 2, threshold: float = 0.05, lambda_init: float = 0.01,
                 growth: float = 2.0):
        if isinstance(num_per_step, bool) or not isinstance(num_per_step, int) or num_per_step < 1:
            raise ValueError(f'num_per_step must be an int >= 1, got {num_per_step!r}')
        if not 0 < threshold < 1:
            raise ValueError(f'threshold must be in (0, 1) (a sigmoid gate value), got {threshold}')
        if not lambda_init > 0:
            raise ValueError(f'lambda_init must be > 0, got {lambda_init}')
        if not growth > 1:
            raise ValueError(f'growth must be > 1, got {growth}')
        self.num_per_step, self.threshold = num_per_step, float(threshold)
        self.lambda_init, self.growth = float(lambda_init), float(growth)
        self.lam, self.delta = 0.0, float(lambda_init)

    def select(self, gates: torch.Tensor, active: torch.Tensor) -> List[int]:
        """Flat indices of the gates to prune now (smallest first), at most ``num_per_step``."""
        g, a = gates.detach().reshape(-1), active.reshape(-1).bool()
        if g.shape != a.shape:
            raise ValueError(f'gates {tuple(gates.shape)} and active {tuple(active.shape)} differ in size')
        cand = torch.nonzero(a & (g < self.threshold)).flatten()
        order = cand[torch.argsort(g[cand], stable=True)]
        return [int(i) for i in order[:self.num_per_step]]

    def update(self, num_pruned: int) -> float:
        """Adapt ``lambda`` after a step that pruned ``num_pruned`` gates; returns the new ``lambda``."""
        if num_pruned < self.num_per_step:
            self.lam += self.delta
            self.delta *= self.growth
        else:
            self.delta = self.lambda_init
            self.lam /= self.growth
        return self.lam

    def step(self, gates: torch.Tensor, active: torch.Tensor) -> Tuple[List[int], float]:
        """:meth:`select` then :meth:`update`; returns ``(pruned flat indices, new lambda)``."""
        pruned = self.select(gates, active)
        return pruned, self.update(len(pruned))

    def state_dict(self) -> dict:
        return dict(lam=self.lam, delta=self.delta)

    def load_state_dict(self, state: dict) -> None:
        self.lam, self.delta = float(state['lam']), float(state['delta'])
