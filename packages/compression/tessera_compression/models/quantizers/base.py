"""The quantizer interface shared by every quantized layer of tessera-compression.

A quantizer is an ``nn.Module`` that fake-quantizes a tensor: its ``forward`` returns float values
that lie on a uniform grid of at most ``2^bits`` levels and carries the method's gradient
estimator (LSQ's straight-through estimator with a learned step, N2UQ's G-STE, ...). For export
and integer inference, :meth:`Quantizer.integer_levels` returns the same values as integer codes
plus an affine map::

    forward(x) == scale * (codes - zero_point)        (up to float rounding)

``codes`` are integers in ``[qmin, qmax]`` (``qmax - qmin + 1 == 2^bits``), ``scale`` broadcasts
against ``codes`` (one value per tensor, or one per output channel for weights) and
``zero_point`` is a number that is an integer or a half-integer (the symmetric weight levels of
N2UQ, ``{-1, ..., 1}`` without 0, have the zero point ``(2^b - 1) / 2``).
"""
from abc import ABCMeta, abstractmethod
from typing import NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['SUPPORTED_BITS', 'FULL_PRECISION_BITS', 'check_bits', 'QuantLevels', 'Quantizer', 'build_quantizer',
           'quantizer_class', 'registered_quantizers']

# Bit widths of the multi-bit quantizers of this package.
SUPPORTED_BITS: Tuple[int, ...] = (2, 3, 4, 5, 6, 7, 8)
# What a quantized layer reports as ``weight_bits`` / ``act_bits`` for an unquantized side.
FULL_PRECISION_BITS = 32


def check_bits(bits, name: str = 'bits', allow_none: bool = False,
               valid: Sequence[int] = SUPPORTED_BITS) -> Optional[int]:
    """Return ``bits`` if it is one of ``valid``, else raise a ValueError naming it and listing ``valid``."""
    if bits is None and allow_none:
        return None
    if isinstance(bits, bool) or not isinstance(bits, int) or bits not in valid:
        choices = list(valid) + (['None (full precision)'] if allow_none else [])
        raise ValueError(f'unsupported {name}={bits!r}; valid: {choices}')
    return bits


class QuantLevels(NamedTuple):
    """Integer codes of a quantized tensor and the affine map back to its values.

    Attributes:
        codes (Tensor): int64, shaped like the quantized tensor, values in ``[qmin, qmax]``.
        scale (Tensor): float, broadcastable against ``codes`` (shape () or (C, 1, ..., 1)).
        zero_point (float): An integer or half-integer.
    """
    codes: torch.Tensor
    scale: torch.Tensor
    zero_point: float

    def dequantize(self) -> torch.Tensor:
        """``scale * (codes - zero_point)``, float."""
        return self.scale * (self.codes.to(self.scale.dtype) - self.zero_point)


class Quantizer(nn.Module, metaclass=ABCMeta):
    """Base class of the fake quantizers.

    Subclasses set :attr:`SUPPORTED_BITS` if they differ from 2-8, implement :meth:`forward`
    (fake quantization with the method's gradient), :meth:`integer_levels` (the same values as
    integer codes) and :meth:`config` (the keyword arguments that rebuild the quantizer from the
    registry, used by the export).

    Args:
        bits (int): Bit width, one of :attr:`SUPPORTED_BITS`.

    Attributes:
        bits (int): The bit width; the output takes at most ``2^bits`` values.
        qmin (int), qmax (int): Range of the integer codes, ``qmax - qmin + 1 == 2^bits``.
    """
    SUPPORTED_BITS: Tuple[int, ...] = SUPPORTED_BITS

    def __init__(self, bits: int):
        super().__init__()
        self.bits = check_bits(bits, 'bits', valid=self.SUPPORTED_BITS)

    @property
    def num_levels(self) -> int:
        """``2^bits``."""
        return 2 ** self.bits

    @property
    @abstractmethod
    def qmin(self) -> int:
        """Smallest integer code."""

    @property
    def qmax(self) -> int:
        """Largest integer code, ``qmin + 2^bits - 1``."""
        return self.qmin + self.num_levels - 1

    @abstractmethod
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Fake-quantize ``x`` (any shape) -> same shape, at most ``2^bits`` distinct values."""

    @abstractmethod
    def integer_levels(self, x: torch.Tensor) -> QuantLevels:
        """Integer codes of ``x`` with the scale and zero point that map them to ``forward(x)``."""

    @abstractmethod
    def config(self) -> dict:
        """``dict(type=<registered name>, bits=..., ...)`` rebuilding an equivalent quantizer."""

    def is_calibrated(self) -> bool:
        """Whether the parameters are set (quantizers initialised from data override this)."""
        return True


def registered_quantizers() -> list:
    """Names of the :class:`Quantizer` subclasses in tessera-compression's ``MODELS`` registry."""
    return sorted(name for name, cls in MODELS.module_dict.items()
                  if isinstance(cls, type) and issubclass(cls, Quantizer))


def quantizer_class(quantizer_type, name: str = 'quantizer') -> type:
    """The :class:`Quantizer` subclass registered as ``quantizer_type`` (or given as a class).

    Raises:
        ValueError: naming ``quantizer_type`` and listing the registered quantizers.
    """
    cls = MODELS.get(quantizer_type) if isinstance(quantizer_type, str) else quantizer_type
    if not (isinstance(cls, type) and issubclass(cls, Quantizer)):
        raise ValueError(f'unknown {name} type {quantizer_type!r}; valid: {registered_quantizers()}')
    return cls


def build_quantizer(cfg: Optional[dict], name: str = 'quantizer') -> Optional[Quantizer]:
    """Build a :class:`Quantizer` from ``cfg`` (None -> None), with errors that list the valid types.

    Args:
        cfg (dict, optional): ``dict(type='LSQQuantizer', bits=4, ...)`` or an already built
            :class:`Quantizer`.
        name (str): What the config is called, for the error messages.
    """
    if cfg is None or isinstance(cfg, Quantizer):
        return cfg
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'{name} must be None or a dict with a "type" key naming one of '
                        f'{registered_quantizers()}, got {cfg!r}')
    return MODELS.build(dict(cfg, type=quantizer_class(cfg['type'], name)))
