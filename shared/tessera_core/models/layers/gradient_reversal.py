"""Gradient reversal layer (GRL) with the DANN warm-up schedule of its coefficient.

Papers: "Unsupervised Domain Adaptation by Backpropagation", Ganin & Lempitsky, ICML 2015,
arXiv:1409.7495 (the layer); the schedule as used by CDAN/GVB's official code
(https://github.com/cuishuhao/GVB, ``GVB-GD/network.py``: ``calc_coeff`` and ``grl_hook``).

Forward is the identity; backward multiplies the incoming gradient by ``-coeff``::

    GRL(x) = x,        dGRL/dx = -coeff * I

so a domain classifier D placed after it descends its loss L_d while everything before it
*ascends* ``coeff * L_d`` (one backward pass plays the minimax game). The official schedule ramps
the coefficient from ``low`` to ``high``::

    coeff(i) = 2 (high - low) / (1 + exp(-alpha * i / max_iters)) - (high - low) + low

with alpha = 10 and max_iters = 10,000 iterations in the official code.
"""
import math

import torch
from torch import nn

from tessera_core.registry import MODELS


class _GradientReversal(torch.autograd.Function):

    @staticmethod
    def forward(ctx, x: torch.Tensor, coeff: float) -> torch.Tensor:
        ctx.coeff = coeff
        return x.view_as(x)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        return -ctx.coeff * grad, None


def grad_reverse(x: torch.Tensor, coeff: float = 1.0) -> torch.Tensor:
    """Identity on ``x`` (any shape) whose backward returns ``-coeff`` times the gradient."""
    return _GradientReversal.apply(x, float(coeff))


def dann_coeff(iteration: int, max_iters: float = 10000.0, alpha: float = 10.0, low: float = 0.0,
               high: float = 1.0) -> float:
    """The official warm-up ``2 (h - l) / (1 + exp(-alpha i / max_iters)) - (h - l) + l``: ``low`` at
    ``i = 0``, rising to about ``high`` (0.9999 for alpha = 10) at ``i = max_iters``."""
    return float(2.0 * (high - low) / (1.0 + math.exp(-alpha * iteration / max_iters)) - (high - low) + low)


@MODELS.register_module()
class GradientReversalLayer(nn.Module):
    """GRL whose coefficient follows :func:`dann_coeff` of its own count of training forwards
    (as the official ``AdversarialNetwork.iter_num``, incremented before use in training mode).

    Args:
        max_iters (float): Iterations of the ramp (official 10,000).
        alpha (float): Steepness (official 10).
        low, high (float): Start and end coefficients (official 0 and 1).
        coeff (float, optional): A fixed coefficient instead of the schedule.
    """

    def __init__(self, max_iters: float = 10000.0, alpha: float = 10.0, low: float = 0.0, high: float = 1.0,
                 coeff=None):
        super().__init__()
        if max_iters <= 0:
            raise ValueError(f'max_iters must be positive, got {max_iters!r}')
        self.max_iters, self.alpha, self.low, self.high, self.fixed_coeff = max_iters, alpha, low, high, coeff
        self.register_buffer('iteration', torch.zeros((), dtype=torch.long))

    @property
    def coeff(self) -> float:
        """The coefficient the next backward pass uses (that of the last forward)."""
        if self.fixed_coeff is not None:
            return float(self.fixed_coeff)
        return dann_coeff(int(self.iteration), self.max_iters, self.alpha, self.low, self.high)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            self.iteration += 1
        return grad_reverse(x, self.coeff)

    def extra_repr(self) -> str:
        if self.fixed_coeff is not None:
            return f'coeff={self.fixed_coeff}'
        return f'max_iters={self.max_iters}, alpha={self.alpha}, low={self.low}, high={self.high}'
