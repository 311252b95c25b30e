"""N2UQ activation quantizer: learnable nonuniform input thresholds, uniform output levels, G-STE.

Nonuniform-to-Uniform Quantization: Towards Accurate Quantization via Generalized Straight-Through
Estimation, Liu, Cheng, Huang, Xing and Shen, CVPR 2022, arXiv:2111.14826.
Official code: https://github.com/liuzechun/Nonuniform-to-Uniform-Quantization (``LTQ`` in
``resnet/resnet.py``).

An ``n``-bit quantizer has ``N = 2^n - 1`` segments of learnable lengths ``a_1 .. a_N`` that tile
``[s, s + a_1 + ... + a_N]`` from a learnable start ``s``. With the segment starts
``d_i = s + a_1 + ... + a_{i-1}`` (``d_1 = s``) the forward pass (paper eq. 2 and 10) outputs the
integer level

    x^q = #{ i : x > T_i },   T_i = d_i + a_i / 2              (x^q in {0, ..., N})

i.e. every segment is a 0/1 binarization with its threshold at its midpoint: the input thresholds
``T_i`` are nonuniform, the output levels ``0, 1, ..., N`` uniform. The backward pass is the
generalized straight-through estimator (Theorem 1), the derivative of the expectation of the
stochastic quantizer, which is the sum over segments of ``clip((x - d_i) / a_i, 0, 1)`` (eq. 8-9):

    g(x) = 0                          x <= d_1 = s
           (i - 1) + (x - d_i) / a_i  d_i < x <= d_i + a_i       (segment i)
           N                          x > s + a_1 + ... + a_N

so, for ``x`` in segment ``i``, ``dx^q/dx = 1 / a_i``, ``dx^q/ds = -1 / a_i``,
``dx^q/da_j = -1 / a_i`` for ``j < i``, ``dx^q/da_i = -(x - d_i) / a_i^2`` and 0 for ``j > i``;
outside ``(s, s + sum a]`` every derivative is 0. As the official code, the input is first
multiplied by a learnable scale ``beta_1`` and the output levels by ``beta_2`` with a fixed unit
``2 / N``, and the lengths enter as ``max(a_i, 1e-3)`` (so the thresholds stay strictly increasing):

    y = beta_2 * (2 / N) * Q(beta_1 * x)                      (output levels ``k * beta_2 * 2 / N``)

The official code builds ``g`` with one ``torch.where`` per segment and lets autograd
differentiate it; :class:`GSTEQuantize` returns the same derivatives in closed form (per-segment
sums), which is several times faster on CPU and keeps no intermediate tensor per segment.

Initialisation (paper section 4.1, official ``LTQ``): ``s = 0``, ``a_i = 2 / N``, ``beta_1 =
beta_2 = 1``: at initialisation the quantizer is the uniform quantizer of ``[0, 2]`` rounded to the
nearest level, and the G-STE is the identity inside ``(0, 2]``. The paper trains these parameters
with a tenth of the weights' learning rate (``paramwise_cfg`` in the configs).
"""
import torch
from torch import nn

from tessera_compression.registry import MODELS

from .base import QuantLevels, Quantizer

__all__ = ['N2UQActivationQuantizer', 'GSTEQuantize', 'count_above']


def count_above(x: torch.Tensor, boundaries: torch.Tensor) -> torch.Tensor:
    """``#{i : x > boundaries[i]}`` element-wise, as floats shaped like ``x`` (no gradient).

    One float comparison per boundary (``torch.gt`` into a float buffer is several times faster
    on CPU than a binary search or boolean arithmetic for the 3-15 boundaries of 2-4 bits).
    """
    x = x.detach()
    count = torch.zeros_like(x)
    step = torch.empty_like(x)
    for b in boundaries.detach().tolist():
        torch.gt(x, b, out=step)
        count += step
    return count


class GSTEQuantize(torch.autograd.Function):
    """N2UQ's threshold quantizer (forward, eq. 2 / 10) with the G-STE gradients (Theorem 1).

    ``forward(x, start, lengths)`` returns the integer level ``#{i : x > d_i + a_i / 2}`` (float);
    ``backward`` returns the derivatives of the G-STE surrogate ``g`` (module docstring) w.r.t.
    ``x``, ``s`` and every ``a_j`` in closed form. With the indicator ``u_i = 1{x > d_i}`` of the
    segment bounds ``d_1 = s < ... < d_{N+1}``, an element lies in segment ``i`` iff
    ``u_i - u_{i+1} = 1``, so ``dg/dx = sum_i (u_i - u_{i+1}) / a_i``, and the per-segment sums of
    the incoming gradient ``G_i`` and of ``gradient * x`` (``X_i``) are differences of
    ``sum(grad * u_i)``. Then ``dL/ds = -sum_i G_i / a_i`` and
    ``dL/da_j = -sum_{i > j} G_i / a_i - (X_j - d_j G_j) / a_j^2``.
    """

    @staticmethod
    def forward(ctx, x: torch.Tensor, start: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        bounds = start.reshape(1) + torch.cat([lengths.new_zeros(1), torch.cumsum(lengths, 0)])  # d_1..d_{N+1}
        ctx.save_for_backward(x, bounds, lengths)
        return count_above(x, bounds[:-1] + lengths / 2)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        x, bounds, lengths = ctx.saved_tensors
        n = lengths.numel()
        inv = (1 / lengths.double()).tolist()
        # d g / d x = sum_i (u_i - u_{i+1}) / a_i = sum_i u_i * (1/a_i - 1/a_{i-1}), with 1/a_0 = 1/a_{N+1} = 0
        coef = [inv[0]] + [inv[i] - inv[i - 1] for i in range(1, n)] + [-inv[n - 1]]
        slope = torch.zeros_like(x)
        above = torch.empty_like(x)
        grad_flat, grad_x_flat = grad.reshape(-1), (grad * x).reshape(-1)
        tail, tail_x = [], []  # sum(grad * u_i), sum(grad * x * u_i) for i = 1..N+1
        for c, b in zip(coef, bounds.detach().tolist()):
            torch.gt(x, b, out=above)
            slope.add_(above, alpha=c)
            flat = above.reshape(-1)
            tail.append(torch.dot(grad_flat, flat).double())
            tail_x.append(torch.dot(grad_x_flat, flat).double())
        tail, tail_x = torch.stack(tail), torch.stack(tail_x)
        per_grad, per_grad_x = tail[:-1] - tail[1:], tail_x[:-1] - tail_x[1:]  # G_i, X_i per segment
        a, d = lengths.double(), bounds[:-1].double()
        per_segment = per_grad / a  # sum of dL/dx over segment i
        later = per_segment.flip(0).cumsum(0).flip(0) - per_segment  # sums over segments after j
        grad_lengths = -later - (per_grad_x - d * per_grad) / a ** 2
        grad_start = -per_segment.sum().reshape(1)
        return grad * slope, grad_start.to(lengths.dtype), grad_lengths.to(lengths.dtype)


@MODELS.register_module()
class N2UQActivationQuantizer(Quantizer):
    """Nonuniform-to-uniform activation quantizer with G-STE gradients (N2UQ).

    Args:
        bits (int): Bit width n (2-8): ``2^n`` output levels, ``2^n - 1`` learnable segments.
        init_range (float): The segments initially tile ``[0, init_range]`` evenly (official: 2).
        min_length (float): Lower bound on a segment length in the forward and backward pass
            (official: 1e-3); lengths below it get no gradient.

    Attributes:
        start (Parameter): ``s``, shape (1,), initialised to 0.
        lengths (Parameter): ``a_1 .. a_N``, shape (N,), initialised to ``init_range / N``.
        scale_in (Parameter): ``beta_1``, shape (1,), initialised to 1.
        scale_out (Parameter): ``beta_2``, shape (1,), initialised to 1.

    Shapes: any tensor -> same shape; values in ``{k * beta_2 * init_range / N : k = 0..N}``.
    """

    def __init__(self, bits: int = 2, init_range: float = 2.0, min_length: float = 1e-3):
        super().__init__(bits)
        if not init_range > 0 or not min_length > 0:
            raise ValueError(f'init_range and min_length must be > 0, got {init_range} and {min_length}')
        self.num_segments = 2 ** self.bits - 1
        self.init_range = float(init_range)
        self.min_length = float(min_length)
        self.interval = self.init_range / self.num_segments  # unit of the output levels
        self.start = nn.Parameter(torch.zeros(1))
        self.lengths = nn.Parameter(torch.full((self.num_segments,), self.interval))
        self.scale_in = nn.Parameter(torch.ones(1))
        self.scale_out = nn.Parameter(torch.ones(1))

    @property
    def qmin(self) -> int:
        return 0

    def positive_lengths(self) -> torch.Tensor:
        """``max(a_i, min_length)``, shape (N,); the gradient reaches only lengths above the bound."""
        return torch.where(self.lengths > self.min_length, self.lengths,
                           self.lengths.new_tensor(self.min_length))

    def segment_bounds(self) -> torch.Tensor:
        """``[d_1, ..., d_N, d_N + a_N]``, shape (N + 1,): ``d_1 = s``, ``d_{i+1} = d_i + a_i``."""
        lengths = self.positive_lengths()
        return self.start + torch.cat([lengths.new_zeros(1), torch.cumsum(lengths, 0)])

    def thresholds(self) -> torch.Tensor:
        """Forward thresholds ``T_i = d_i + a_i / 2`` on ``beta_1 * x``, shape (N,), strictly increasing."""
        return self.segment_bounds()[:-1] + self.positive_lengths() / 2

    def input_thresholds(self) -> torch.Tensor:
        """The thresholds in the units of the input ``x`` (``T_i / beta_1``), shape (N,); needs ``beta_1 > 0``."""
        if not bool(self.scale_in.detach() > 0):
            raise ValueError(f'input thresholds need scale_in > 0, got {self.scale_in.item()}')
        return (self.thresholds() / self.scale_in).detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        levels = GSTEQuantize.apply(x * self.scale_in, self.start, self.positive_lengths())
        return levels * self.interval * self.scale_out

    def integer_levels(self, x: torch.Tensor) -> QuantLevels:
        """Codes ``0..2^n - 1`` (int64), scale ``beta_2 * init_range / N`` (shape ()), zero point 0."""
        codes = count_above(x * self.scale_in, self.thresholds()).long()
        return QuantLevels(codes, (self.scale_out * self.interval).detach().reshape(()), 0.0)

    def config(self) -> dict:
        return dict(type='N2UQActivationQuantizer', bits=self.bits, init_range=self.init_range,
                    min_length=self.min_length)

    def extra_repr(self) -> str:
        return f'bits={self.bits}, segments={self.num_segments}, init_range={self.init_range}'
