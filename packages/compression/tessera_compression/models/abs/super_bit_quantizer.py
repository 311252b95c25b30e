"""ABS's super-bit quantizer: one low-bit base plus gated re-assignment offsets for higher bit widths.

ABS: Automatic Bit Sharing for Model Compression (journal title: joint pruning and quantization
search with a super-bit model), Liu, Zhuang, Chen, Guo, Shen, Cai and Tan, arXiv:2101.04935.
Official code: the ``compression`` package of the authors (``models/quantization/super_quan_conv.py``,
``super_compress_gate_resnet_group.py``, ``super_compress_gate_trainer.py``), read for the defaults.

Quantizer (the DoReFa-with-learned-clip quantizer of the official code). With ``c = |clip_value|`` and
``n_b = 2^b - 1``, a tensor is first normalised to ``[0, 1]``:

    weights:     u = (clip(w_hat / c, -1, 1) + 1) / 2,   w_hat = (w - mean(w)) / std(w)  (statistics detached)
    activations: u = clip(x / c, 0, 1)

and ``Q_b(u) = round(u * n_b) / n_b`` (straight-through rounding, :func:`round_pass`). The super-bit
decomposition over the candidate widths ``b_1 < b_2 < ... < b_K`` (paper: 2, 4, 8) is

    z_1 = Q_{b_1}(u),   z_{k+1} = z_k + g_1 ... g_k * Q_{b_{k+1}}(u - z_k)     (re-assignment offsets)

where ``Q_{b_{k+1}}(u - z_k)`` quantizes the residual error of the lower width on the finer grid. Each
width doubles the previous one, so ``n_{b_k}`` divides ``n_{b_{k+1}}`` (3 | 15 | 255): ``z_k`` lies on the
finer grid and ``z_k + Q_{b_{k+1}}(u - z_k) = Q_{b_{k+1}}(u)`` exactly. All gates open is therefore the
``b_K``-bit quantizer, all closed the ``b_1``-bit one. The output is ``(2 z - 1) c`` for weights and
``z c`` for activations.

Gates (official code): ``g_k = 1[ ||u - z_k||_1 / N > t_k ]`` with a learnable threshold ``t_k``
(initialised to 0: every gate open at the start of the search, clamped to ``t_k >= 0`` after each
step); the backward pass uses ``sigmoid(||u - z_k||_1 / N - t_k)`` (straight-through: the forward value
is the hard 0/1, the gradient that of the sigmoid). A closed gate closes every higher one (the
cumulative product).
"""
from typing import List, Optional, Sequence, Tuple

import torch
from torch import nn

from tessera_compression.registry import MODELS

from ..quantizers.base import QuantLevels, Quantizer
from ..quantizers.lsq_quantizer import round_pass

__all__ = ['DEFAULT_BITS_LIST', 'KINDS', 'normalize', 'denormalize', 'quantize_unit', 'straight_through_gate',
           'check_bits_list', 'ABSQuantizer', 'SuperBitQuantizer']

DEFAULT_BITS_LIST: Tuple[int, ...] = (2, 4, 8)  # the candidate widths of the paper and the official code
KINDS: Tuple[str, ...] = ('weight', 'activation')


def check_bits_list(bits_list: Sequence[int]) -> Tuple[int, ...]:
    """``bits_list`` as a tuple if it is increasing, each width twice the previous one, within 2-8 bits."""
    bits = tuple(bits_list) if isinstance(bits_list, (list, tuple)) else None
    ok = bool(bits) and all(isinstance(b, int) and not isinstance(b, bool) and 2 <= b <= 8 for b in bits) and all(
        b2 == 2 * b1 for b1, b2 in zip(bits, bits[1:]))
    if not ok:
        raise ValueError(f'bits_list={bits_list!r} is not a super-bit candidate list: give increasing widths in '
                         f'2..8, each twice the previous one (valid: [2], [4], [8], [2, 4], [4, 8], [2, 4, 8])')
    return bits


def _weight_stats(w: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    w = w.detach()
    std = w.std() if w.numel() > 1 else w.new_tensor(1.0)
    return w.mean(), std.clamp_min(1e-8)


def normalize(x: torch.Tensor, clip: torch.Tensor, kind: str) -> torch.Tensor:
    """``u`` in [0, 1]: standardised, clipped weights mapped from [-1, 1], or clipped activations."""
    if kind == 'weight':
        mean, std = _weight_stats(x)
        return (torch.clamp((x - mean) / std / clip, -1, 1) + 1) / 2
    return torch.clamp(x / clip, 0, 1)


def denormalize(z: torch.Tensor, clip: torch.Tensor, kind: str) -> torch.Tensor:
    """Back from [0, 1]: ``(2 z - 1) c`` for weights, ``z c`` for activations."""
    return (2 * z - 1) * clip if kind == 'weight' else z * clip


def quantize_unit(u: torch.Tensor, bits: int) -> torch.Tensor:
    """``Q_b(u) = round(u (2^b - 1)) / (2^b - 1)`` with the straight-through gradient."""
    n = 2 ** bits - 1
    return round_pass(u * n) / n


def straight_through_gate(score: torch.Tensor) -> torch.Tensor:
    """``1[score > 0]`` in the forward pass, ``d sigmoid(score)`` in the backward pass."""
    soft = torch.sigmoid(score)
    return (score > 0).to(score.dtype) - soft.detach() + soft


class _ClipMixin:
    kind: str

    def _init_kind(self, kind: str) -> None:
        if kind not in KINDS:
            raise ValueError(f'unknown quantizer kind {kind!r}; valid: {list(KINDS)}')
        self.kind = kind

    def clip(self) -> torch.Tensor:
        return self.clip_value.abs().clamp_min(1e-8)


@MODELS.register_module()
class ABSQuantizer(_ClipMixin, Quantizer):
    """The fixed-width quantizer of a derived ABS network (the official code's ``dorefa_clip``):
    ``Q_b`` of the normalised tensor, mapped back with the learned clip value.

    Args:
        bits (int): Bit width (2-8).
        kind (str): ``'weight'`` (standardised, symmetric) or ``'activation'`` (unsigned, after a ReLU).
        clip_value (float): Initial clip value ``c`` (official: 1.0).

    Integer form: weights ``codes in {0..n}``, ``scale = 2 c / n``, ``zero_point = n / 2`` (a half-integer,
    as N2UQ's symmetric weight levels); activations ``codes in {0..n}``, ``scale = c / n``, zero point 0.
    """

    def __init__(self, bits: int = 4, kind: str = 'weight', clip_value: float = 1.0):
        super().__init__(bits)
        self._init_kind(kind)
        self.clip_value = nn.Parameter(torch.tensor(float(clip_value)))

    @property
    def qmin(self) -> int:
        return 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.clip()
        return denormalize(quantize_unit(normalize(x, c, self.kind), self.bits), c, self.kind)

    def integer_levels(self, x: torch.Tensor) -> QuantLevels:
        c = self.clip().detach()
        n = 2 ** self.bits - 1
        codes = torch.round(normalize(x.detach(), c, self.kind) * n).long()
        if self.kind == 'weight':
            return QuantLevels(codes, (2 * c / n).reshape(()), n / 2)
        return QuantLevels(codes, (c / n).reshape(()), 0.0)

    def config(self) -> dict:
        return dict(type='ABSQuantizer', bits=self.bits, kind=self.kind, clip_value=float(self.clip_value.abs()))

    def extra_repr(self) -> str:
        return f'bits={self.bits}, kind={self.kind!r}'


@MODELS.register_module()
class SuperBitQuantizer(_ClipMixin, nn.Module):
    """Super-bit quantizer of the ABS search (see the module docstring for the equations).

    Args:
        bits_list (Sequence[int]): Candidate widths, each twice the previous one (default 2, 4, 8).
        kind (str): ``'weight'`` or ``'activation'``.
        clip_value (float): Initial clip value (official: 1.0).

    Attributes:
        thresholds (Parameter): ``t_k``, shape (K - 1,), initialised to 0 (all gates open).
        forced_gates (tuple, optional): Hand-set 0/1 gates replacing the learned ones (tests, ablations).
        gates (list[Tensor]): The straight-through gates ``g_k`` of the last forward call (scalars).
    """

    def __init__(self, bits_list: Sequence[int] = DEFAULT_BITS_LIST, kind: str = 'weight', clip_value: float = 1.0):
        super().__init__()
        self.bits_list = check_bits_list(bits_list)
        self._init_kind(kind)
        self.clip_value = nn.Parameter(torch.tensor(float(clip_value)))
        self.thresholds = nn.Parameter(torch.zeros(len(self.bits_list) - 1))
        # hard gates of the last training forward (activation gates depend on the batch): what is derived
        self.register_buffer('gate_state', torch.ones(len(self.bits_list) - 1))
        self.forced_gates: Optional[Tuple[int, ...]] = None
        self.gates: List[torch.Tensor] = []

    def set_gates(self, gates: Optional[Sequence[int]]) -> None:
        """Force the gates to hand-set 0/1 values (None: learned gates again)."""
        if gates is not None:
            gates = tuple(int(g) for g in gates)
            if len(gates) != len(self.bits_list) - 1 or any(g not in (0, 1) for g in gates):
                raise ValueError(f'forced gates {gates!r}: give {len(self.bits_list) - 1} values in {{0, 1}}')
        self.forced_gates = gates

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.clip()
        u = normalize(x, c, self.kind)
        z = quantize_unit(u, self.bits_list[0])
        cum = None
        gates = []
        for k, bits in enumerate(self.bits_list[1:]):
            residual = u - z
            if self.forced_gates is not None:
                gate = x.new_tensor(float(self.forced_gates[k]))
            else:
                gate = straight_through_gate(residual.abs().mean() - self.thresholds[k])
            gates.append(gate)
            cum = gate if cum is None else cum * gate
            z = z + cum * quantize_unit(residual, bits)
        self.gates = gates
        if self.training and gates:
            with torch.no_grad():
                self.gate_state.copy_(torch.stack([g.detach() for g in gates]).round())
        return denormalize(z, c, self.kind)

    def selected_bits(self) -> int:
        """The width the gates select (``b_1`` + every open gate in a row): the forced gates, else those of
        the last training forward (:attr:`gate_state`, saved in checkpoints)."""
        state = self.forced_gates if self.forced_gates is not None else self.gate_state.tolist()
        bits = self.bits_list[0]
        for gate, width in zip(state, self.bits_list[1:]):
            if float(gate) < 0.5:
                break
            bits = width
        return bits

    def expected_bits(self) -> torch.Tensor:
        """``b_1 + sum_k g_1 ... g_k (b_{k+1} - b_k)``, differentiable through the gates (the BOPs term)."""
        if not self.gates and len(self.bits_list) > 1:
            raise RuntimeError('expected_bits() needs a forward call first')
        total = self.thresholds.new_tensor(float(self.bits_list[0]))
        cum = None
        for gate, lo, hi in zip(self.gates, self.bits_list, self.bits_list[1:]):
            cum = gate if cum is None else cum * gate
            total = total + cum * (hi - lo)
        return total

    @torch.no_grad()
    def clamp_thresholds(self) -> None:
        """``t_k >= 0`` after each optimizer step (official ``clip_quantization_thresholds``)."""
        self.thresholds.clamp_(min=0)

    def extra_repr(self) -> str:
        return f'bits_list={list(self.bits_list)}, kind={self.kind!r}'
