"""LSQ: uniform fake quantization with a learned step size.

Learned Step Size Quantization, Esser, McKinstry, Bablani, Appuswamy and Modha, ICLR 2020,
arXiv:1902.08153. No official code was released; the N2UQ paper (arXiv:2111.14826) compares
against it as its uniform-quantization baseline.

For a tensor ``v`` with step size ``s`` and integer range ``[-Q_N, Q_P]``:

    v_bar = round(clip(v / s, -Q_N, Q_P)),   v_hat = v_bar * s            (LSQ eq. 1-2)

``round`` passes its gradient straight through, so ``d v_hat / d v = 1`` inside the range and 0
outside, and the step-size gradient is (eq. 3)

    d v_hat / d s = -v / s + round(v / s)   if -Q_N < v / s < Q_P
                    -Q_N                    if v / s <= -Q_N
                    Q_P                     if v / s >= Q_P

multiplied by the gradient scale ``g = 1 / sqrt(N * Q_P)`` (section 2.2), with ``N`` the number of
weights of the layer, or the number of features of the layer (per example) for activations.
``s`` is initialised to ``2 * mean(|v|) / sqrt(Q_P)`` on the first tensor seen (the initial
weights, or the first batch of activations). Signed data (weights) use ``Q_N = 2^(b-1)``,
``Q_P = 2^(b-1) - 1``; unsigned data (post-ReLU activations) use ``Q_N = 0``, ``Q_P = 2^b - 1``.
"""
import math
from typing import Optional, Tuple

import torch
from mmengine.dist import all_reduce
from torch import nn

from tessera_compression.registry import MODELS

from .base import SUPPORTED_BITS, QuantLevels, Quantizer, check_bits

__all__ = ['SUPPORTED_BITS', 'check_bits', 'quant_range', 'grad_scale', 'round_pass', 'LSQQuantizer']

KINDS: Tuple[str, ...] = ('weight', 'activation')


def quant_range(bits: int, signed: bool) -> Tuple[int, int]:
    """``(Q_N, Q_P)``: the integer codes are ``-Q_N .. Q_P``."""
    check_bits(bits)
    if signed:
        return 2 ** (bits - 1), 2 ** (bits - 1) - 1
    return 0, 2 ** bits - 1


def grad_scale(x: torch.Tensor, scale: float) -> torch.Tensor:
    """Identity in the forward pass; multiplies the gradient by ``scale`` in the backward pass."""
    y = x * scale
    return x.detach() + (y - y.detach())


def round_pass(x: torch.Tensor) -> torch.Tensor:
    """``round(x)`` in the forward pass (exactly: the added term is ``x - x = 0``); straight-through
    (identity) gradient."""
    return x.detach().round() + (x - x.detach())


@MODELS.register_module()
class LSQQuantizer(Quantizer):
    """Fake-quantizes a tensor to ``bits`` bits with one learned step size (LSQ).

    Args:
        bits (int): Bit width, one of :data:`SUPPORTED_BITS` (2-8).
        kind (str): ``'weight'`` (``N`` = all elements of the tensor, signed by default) or
            ``'activation'`` (first dimension is the batch; ``N`` = elements of one example,
            unsigned by default, as activations after a ReLU).
        signed (bool, optional): Override the signedness implied by ``kind``.

    Attributes:
        step_size (Parameter): The step ``s``, shape (). Initialised on the first forward call.
        initialized (Tensor): Buffer set once ``s`` has been initialised (saved in checkpoints, so
            a loaded model keeps its learned step).

    Shapes: any tensor -> same shape, values in ``{k * s : k = -Q_N .. Q_P}``.
    """

    def __init__(self, bits: int = 4, kind: str = 'weight', signed: Optional[bool] = None):
        super().__init__(bits)
        if kind not in KINDS:
            raise ValueError(f'unknown quantizer kind {kind!r}; valid: {list(KINDS)}')
        self.kind = kind
        self.signed = (kind == 'weight') if signed is None else bool(signed)
        self.q_n, self.q_p = quant_range(self.bits, self.signed)
        self.step_size = nn.Parameter(torch.tensor(1.0))
        self.register_buffer('initialized', torch.tensor(False))

    def num_elements(self, x: torch.Tensor) -> int:
        """``N`` of the gradient scale: the weight count, or the features of one example."""
        if self.kind == 'weight':
            return x.numel()
        if x.dim() < 2:
            raise ValueError(f'activation quantizer expects (N, ...) inputs with a batch dimension, '
                             f'got shape {tuple(x.shape)}')
        return x[0].numel()

    def grad_scale_factor(self, x: torch.Tensor) -> float:
        """``g = 1 / sqrt(N * Q_P)``."""
        return 1.0 / math.sqrt(self.num_elements(x) * self.q_p)

    @torch.no_grad()
    def init_step_size(self, x: torch.Tensor) -> None:
        """``s = 2 * mean(|x|) / sqrt(Q_P)``, averaged over processes when distributed."""
        step = 2 * x.detach().abs().mean() / math.sqrt(self.q_p)
        step = step.to(self.step_size.dtype).reshape(())
        all_reduce(step, op='mean')
        self.step_size.copy_(step.clamp_min(torch.finfo(step.dtype).tiny))
        self.initialized.fill_(True)

    def quantize_int(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Quantize to integer codes (initialising the step on the first call).

        Returns:
            tuple: ``(v_bar, s)``: the codes in ``[-Q_N, Q_P]`` as floats, shaped like ``x``, with
            the straight-through gradient, and the step size (shape ()) carrying the gradient
            scale ``g``; ``v_bar * s`` is the fake-quantized tensor.
        """
        if not bool(self.initialized):
            self.init_step_size(x)
        s = grad_scale(self.step_size, self.grad_scale_factor(x))
        return round_pass(torch.clamp(x / s, -self.q_n, self.q_p)), s

    @property
    def qmin(self) -> int:
        return -self.q_n

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        codes, s = self.quantize_int(x)
        return codes * s

    def integer_levels(self, x: torch.Tensor) -> QuantLevels:
        """Codes ``round(clip(x / s, -Q_N, Q_P))`` (int64), scale ``s`` (shape ()), zero point 0."""
        codes, s = self.quantize_int(x)
        return QuantLevels(codes.detach().round().long(), s.detach().reshape(()), 0.0)

    def is_calibrated(self) -> bool:
        """True once the step size has been initialised from data (or loaded)."""
        return bool(self.initialized)

    def config(self) -> dict:
        return dict(type='LSQQuantizer', bits=self.bits, kind=self.kind, signed=self.signed)

    def extra_repr(self) -> str:
        return f'bits={self.bits}, kind={self.kind!r}, signed={self.signed}, range=[-{self.q_n}, {self.q_p}]'
