"""What every fake-quantized layer shares: its two quantizers, their bit widths, and copying a float layer.

:class:`QuantConv2d` and :class:`QuantLinear` inherit this mixin next to ``nn.Conv2d`` / ``nn.Linear``.
"""
from typing import Optional

import torch
from torch import nn

from ..quantizers import FULL_PRECISION_BITS, Quantizer, build_quantizer

__all__ = ['QuantizedLayerMixin']


class QuantizedLayerMixin:
    """Weight and input quantizers (``nn.Identity`` for a full-precision side) and their bits."""

    weight: torch.Tensor
    bias: Optional[torch.Tensor]

    def _build_quantizers(self, weight_quantizer: Optional[dict], act_quantizer: Optional[dict]) -> None:
        self.weight_quantizer = build_quantizer(weight_quantizer, 'weight_quantizer') or nn.Identity()
        self.act_quantizer = build_quantizer(act_quantizer, 'act_quantizer') or nn.Identity()

    @property
    def weight_bits(self) -> int:
        """Bits of the weights (32 = full precision)."""
        q = self.weight_quantizer
        return q.bits if isinstance(q, Quantizer) else FULL_PRECISION_BITS

    @property
    def act_bits(self) -> int:
        """Bits of the input activations (32 = full precision)."""
        q = self.act_quantizer
        return q.bits if isinstance(q, Quantizer) else FULL_PRECISION_BITS

    def quantized_weight(self) -> torch.Tensor:
        """The fake-quantized weight, same shape as ``self.weight``."""
        return self.weight_quantizer(self.weight)

    def _copy_float_layer(self, layer: nn.Module) -> nn.Module:
        """Copy weight, bias, their ``requires_grad``, device, dtype and train/eval mode from ``layer``."""
        self.to(device=layer.weight.device, dtype=layer.weight.dtype)
        with torch.no_grad():
            self.weight.copy_(layer.weight)
            self.weight.requires_grad_(layer.weight.requires_grad)
            if layer.bias is not None:
                self.bias.copy_(layer.bias)
                self.bias.requires_grad_(layer.bias.requires_grad)
        return self.train(layer.training)
