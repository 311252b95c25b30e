"""Sparse Shift Layer (SSL).

All You Need is a Few Shifts: Designing Efficient Convolutional Neural Networks for Image
Classification (Sparse Shift Layer and FE-Net), Chen, Xie, Zhang, Pu, CVPR 2019, arXiv:1903.05285.
No official code is public; read for reference: the third-party PyTorch SSL of
https://github.com/DeadAt0m/ActiveSparseShifts-PyTorch (defaults noted below where taken from it).

Each channel ``c`` has a learnable real displacement ``d_c = (a_c, b_c)`` (rows, columns). The layer
moves channel ``c`` by ``d_c`` with zero padding:

    y[n, c, i, j] = x[n, c, i - a_c, j - b_c]                   (0 outside the map)

For real ``d`` the right side is bilinear interpolation (Active Shift): with ``f = floor(d)``,
``t = d - f`` and ``S_k`` the integer shift by ``k``,

    B(x; d) = (1-t_a)(1-t_b) S_(f_a, f_b) x + (1-t_a) t_b S_(f_a, f_b+1) x
              + t_a (1-t_b) S_(f_a+1, f_b) x + t_a t_b S_(f_a+1, f_b+1) x,

so ``dB/dt`` is a difference of neighbouring shifted maps.

Sparsity (the paper's shift penalty): the task loss gets ``lambda * sum_c (|a_c| + |b_c|)`` (L1), whose
(sub)gradient ``lambda * sign(d)`` pulls every displacement towards 0; a channel whose displacement
rounds to (0, 0) does not move at all at inference (no memory movement).

Quantisation-aware shift learning (``train_mode='quant_aware'``, default): the forward pass uses the
rounded displacement ``r = round(d)`` (exact integer shift, what inference computes), the backward pass
gives ``d`` the bilinear gradient ``dB(x; d)/dd`` at the real value (straight-through on the rounding).
``train_mode='bilinear'`` trains with the bilinear forward ``B(x; d)`` (Active Shift) instead.

Life cycle (``self.state``): ``'untrained'`` (built, no training forward yet) -> ``'trained'`` (at least
one forward in training mode) -> :meth:`SparseShift2d.quantize` -> ``'quantized'``: ``round(d)`` stored as
integers, forward is the integer shift only, the displacements are frozen.
"""
from typing import Dict, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.registry import MODELS

STATES = ('untrained', 'trained', 'quantized')
TRAIN_MODES = ('quant_aware', 'bilinear')


def integer_shift(x: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Move every channel by its own integer displacement, zero padded.

    ``y[n, c, i, j] = x[n, c, i - shift[c, 0], j - shift[c, 1]]``, 0 where the source is outside.

    Args:
        x (Tensor): (N, C, H, W).
        shift (Tensor): (C, 2) integer (rows, columns) displacements.

    Returns:
        Tensor: (N, C, H, W).
    """
    n, c, h, w = x.shape
    if shift.shape != (c, 2):
        raise ValueError(f'shift must have shape ({c}, 2) for {c} channels, got {tuple(shift.shape)}')
    shift = shift.to(device=x.device, dtype=torch.long)
    rows = torch.arange(h, device=x.device)[None, :] - shift[:, :1]  # (C, H) source rows
    cols = torch.arange(w, device=x.device)[None, :] - shift[:, 1:]  # (C, W) source columns
    valid = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]  # (C, H, W)
    ch = torch.arange(c, device=x.device)[:, None, None]
    y = x[:, ch, rows.clamp(0, h - 1)[:, :, None], cols.clamp(0, w - 1)[:, None, :]]
    return y * valid.to(x.dtype)


def _shift_kernel(weights: torch.Tensor, shifts: torch.Tensor) -> Tuple[torch.Tensor, int]:
    """Depthwise kernel that moves channel c by ``shifts[c, k]`` with weight ``weights[c, k]`` (summed over k).

    Args:
        weights (Tensor): (C, K) weights (differentiable).
        shifts (Tensor): (C, K, 2) long (rows, columns) displacements.

    Returns:
        (Tensor, int): kernel (C, 1, 2R+1, 2R+1) for ``conv2d(x, kernel, padding=R, groups=C)`` and R.
    """
    r = int(shifts.abs().max()) if shifts.numel() else 0
    size = 2 * r + 1
    # conv2d is a cross-correlation: y[i] = sum_u w[u] x[i + u - R]; moving by s puts the tap at u = R - s
    flat = (r - shifts[..., 0]) * size + (r - shifts[..., 1])
    kernel = weights.new_zeros(weights.shape[0], size * size).scatter_add(1, flat, weights)
    return kernel.view(-1, 1, size, size), r


def bilinear_shift(x: torch.Tensor, displacement: torch.Tensor) -> torch.Tensor:
    """Move every channel by a real displacement: bilinear interpolation, zero padded.

    Computed as one depthwise conv whose kernel holds the four bilinear weights of each channel at its
    four neighbouring integer shifts. Equals :func:`integer_shift` when ``displacement`` holds integers;
    differentiable in both inputs.

    Args:
        x (Tensor): (N, C, H, W).
        displacement (Tensor): (C, 2) real (rows, columns) displacements.

    Returns:
        Tensor: (N, C, H, W).
    """
    c = x.shape[1]
    if displacement.shape != (c, 2):
        raise ValueError(f'displacement must have shape ({c}, 2) for {c} channels, got {tuple(displacement.shape)}')
    floor = torch.floor(displacement.detach())
    frac = displacement - floor  # (C, 2) in [0, 1); carries the gradient w.r.t. the displacement
    floor = floor.long()
    weights, shifts = [], []
    for da in (0, 1):
        wa = frac[:, 0] if da else 1 - frac[:, 0]
        for db in (0, 1):
            wb = frac[:, 1] if db else 1 - frac[:, 1]
            weights.append(wa * wb)
            shifts.append(floor + torch.tensor([da, db], device=floor.device))
    kernel, r = _shift_kernel(torch.stack(weights, 1), torch.stack(shifts, 1))
    return F.conv2d(x, kernel.to(x.dtype), padding=r, groups=c)


class _AddPenaltyGrad(torch.autograd.Function):
    """Identity on the displacement whose backward adds ``lambda * sign(d)``: the gradient of the L1 penalty."""

    @staticmethod
    def forward(ctx, displacement, weight):
        ctx.save_for_backward(displacement)
        ctx.weight = weight
        return displacement.view_as(displacement)

    @staticmethod
    def backward(ctx, grad):
        displacement, = ctx.saved_tensors
        return grad + ctx.weight * torch.sign(displacement), None


@MODELS.register_module()
class SparseShift2d(nn.Module):
    """Sparse Shift Layer: learnable per-channel shifts, L1-sparsified, quantised for inference.

    Args:
        channels (int): C.
        stride (int): Spatial stride applied after the shift (keep every s-th row and column), so a
            strided SSL replaces a strided 3x3 depthwise conv of padding 1: H -> ceil(H / s).
        penalty_weight (float): lambda of the L1 shift penalty. Applied as its gradient
            ``lambda * sign(d)``, added to the displacement's gradient in the backward of every training
            forward, so it acts inside any classifier without changing its loss; :meth:`penalty` returns
            the value for logging (do not also add it to the loss). Default 5e-4 (the third-party code's default;
            the paper's value was not available here).
        init_range (float): Displacements start uniform in [-init_range, init_range] (1, as Active
            Shift and the third-party code).
        train_mode (str): 'quant_aware' (default) or 'bilinear', see the module docstring.

    Shapes: (N, C, H, W) -> (N, C, ceil(H / s), ceil(W / s)).
    """

    def __init__(self, channels: int, stride: int = 1, penalty_weight: float = 5e-4, init_range: float = 1.0,
                 train_mode: str = 'quant_aware'):
        super().__init__()
        if train_mode not in TRAIN_MODES:
            raise ValueError(f'invalid train_mode {train_mode!r} for SparseShift2d; valid: {", ".join(TRAIN_MODES)}')
        if stride not in (1, 2):
            raise ValueError(f'invalid stride {stride!r} for SparseShift2d; valid: 1, 2')
        if penalty_weight < 0:
            raise ValueError(f'penalty_weight must be >= 0, got {penalty_weight!r}')
        if channels < 1:
            raise ValueError(f'channels must be a positive integer, got {channels!r}')
        self.channels = channels
        self.stride = stride
        self.penalty_weight = float(penalty_weight)
        self.train_mode = train_mode
        self.displacement = nn.Parameter(torch.empty(channels, 2).uniform_(-init_range, init_range))
        self.register_buffer('state_index', torch.tensor(0, dtype=torch.long))
        self.register_buffer('quantized_shift', torch.zeros(channels, 2, dtype=torch.long))

    # ------------------------------------------------------------------ state
    @property
    def state(self) -> str:
        """'untrained', 'trained' or 'quantized'."""
        return STATES[int(self.state_index)]

    def penalty(self) -> torch.Tensor:
        """lambda * sum |d| (the paper's shift penalty; its gradient is already applied in backward)."""
        return self.penalty_weight * self.displacement.abs().sum()

    def rounded_shift(self) -> torch.Tensor:
        """(C, 2) long: the integer shifts inference uses (``round(d)``, or the stored ones once quantised)."""
        if self.state == 'quantized':
            return self.quantized_shift.clone()
        return torch.round(self.displacement.detach()).long()

    def zero_shift_ratio(self) -> float:
        """Share of channels whose integer shift is (0, 0), i.e. that do not move at inference."""
        return float((self.rounded_shift() == 0).all(dim=1).float().mean())

    def quantize(self) -> 'SparseShift2d':
        """Store ``round(d)`` as integer shifts and switch to the integer-shift inference path.

        Raises:
            RuntimeError: if the layer is not in state 'trained' (naming the state it is in).
        """
        if self.state != 'trained':
            why = {'untrained': 'no forward pass in training mode has run, its displacements are the random '
                                'initialisation; train it first',
                   'quantized': 'it has been quantised already'}[self.state]
            raise RuntimeError(f'SparseShift2d.quantize() needs a layer in state \'trained\'; this one is in '
                               f'state {self.state!r}: {why}')
        self.quantized_shift.copy_(torch.round(self.displacement.detach()).long())
        self.displacement.requires_grad_(False)
        self.state_index.fill_(STATES.index('quantized'))
        return self

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() != 4 or x.shape[1] != self.channels:
            raise ValueError(f'SparseShift2d({self.channels}) expects (N, {self.channels}, H, W), '
                             f'got {tuple(x.shape)}')
        if self.state == 'quantized':
            if self.training and torch.is_grad_enabled():
                raise RuntimeError("SparseShift2d is in state 'quantized' (integer shifts, frozen); "
                                   'it cannot be trained further')
            y = integer_shift(x, self.quantized_shift)
        else:
            displacement = self.displacement
            if self.training:
                self.state_index.fill_(STATES.index('trained'))
                if self.penalty_weight > 0 and torch.is_grad_enabled() and displacement.requires_grad:
                    displacement = _AddPenaltyGrad.apply(displacement, self.penalty_weight)
            if self.train_mode == 'bilinear':
                y = bilinear_shift(x, displacement)
            else:
                # the rounded shift as a one-hot depthwise conv (= integer_shift(x, round(d)), faster here)
                y = bilinear_shift(x, torch.round(self.displacement.detach()))
                if torch.is_grad_enabled() and self.displacement.requires_grad:
                    # value 0, gradient w.r.t. d = the bilinear gradient at the real displacement
                    b = bilinear_shift(x.detach(), displacement)
                    y = y + (b - b.detach())
        if self.stride > 1:
            y = y[:, :, ::self.stride, ::self.stride]
        return y

    def extra_repr(self) -> str:
        return (f'{self.channels}, stride={self.stride}, penalty_weight={self.penalty_weight}, '
                f'train_mode={self.train_mode!r}, state={self.state!r}')


def sparse_shift_statistics(model: nn.Module) -> Dict[str, float]:
    """Integer-shift statistics over every :class:`SparseShift2d` of ``model``.

    Returns:
        dict: ``layers``, ``channels``, ``zero_shift_channels``, ``zero_shift_ratio`` (share of channels
        that do not move), ``mean_abs_displacement`` (of the real displacements).
    """
    layers = [m for m in model.modules() if isinstance(m, SparseShift2d)]
    if not layers:
        raise ValueError(f'{type(model).__name__} has no SparseShift2d layer')
    zero = sum(int((m.rounded_shift() == 0).all(dim=1).sum()) for m in layers)
    total = sum(m.channels for m in layers)
    mad = torch.cat([m.displacement.detach().abs().flatten() for m in layers]).mean()
    return dict(layers=len(layers), channels=total, zero_shift_channels=zero, zero_shift_ratio=zero / total,
                mean_abs_displacement=float(mad))


def quantize_sparse_shifts(model: nn.Module) -> Tuple[nn.Module, Dict[str, float]]:
    """Quantise every :class:`SparseShift2d` of a trained ``model`` in place; returns it and its statistics."""
    for m in model.modules():
        if isinstance(m, SparseShift2d):
            m.quantize()
    return model, sparse_shift_statistics(model)
