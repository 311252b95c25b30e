"""Generic quantized fully connected layer: any registered quantizer on the weights and on the input.

The linear counterpart of :class:`~tessera_compression.models.layers.QuantConv2d`:
``y = Q_a(x) Q_w(W)^T + b`` with ``weight_bits`` / ``act_bits`` attributes (32 = full precision),
registered in mmengine's root ``MODELS`` and in tessera-compression's ``MODELS``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn

from tessera_compression.registry import MODELS

from ..quantizers import FULL_PRECISION_BITS, Quantizer, build_quantizer

__all__ = ['QuantLinear']


@MODELS.register_module()
@MMENGINE_MODELS.register_module()
class QuantLinear(nn.Linear):
    """``nn.Linear`` on fake-quantized weights and inputs.

    Args:
        in_features, out_features, bias: As ``nn.Linear``. The bias stays full precision.
        weight_quantizer (dict, optional): Config of the weight quantizer; None keeps
            full-precision weights.
        act_quantizer (dict, optional): Config of the input quantizer; None keeps full-precision inputs.

    Shapes: (N, *, in_features) -> (N, *, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True,
                 weight_quantizer: Optional[dict] = None, act_quantizer: Optional[dict] = None):
        super().__init__(in_features, out_features, bias=bias)
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
        """The fake-quantized weight, shape (out_features, in_features)."""
        return self.weight_quantizer(self.weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.act_quantizer(x), self.quantized_weight(), self.bias)

    @classmethod
    def from_float(cls, linear: nn.Linear, weight_quantizer: Optional[dict] = None,
                   act_quantizer: Optional[dict] = None) -> 'QuantLinear':
        """A ``QuantLinear`` with the shape, weights, bias, device, dtype and mode of ``linear``."""
        if not isinstance(linear, nn.Linear):
            raise TypeError(f'from_float expects an nn.Linear, got {type(linear).__name__}')
        new = cls(linear.in_features, linear.out_features, bias=linear.bias is not None,
                  weight_quantizer=weight_quantizer, act_quantizer=act_quantizer)
        new.to(device=linear.weight.device, dtype=linear.weight.dtype)
        with torch.no_grad():
            new.weight.copy_(linear.weight)
            new.weight.requires_grad_(linear.weight.requires_grad)
            if linear.bias is not None:
                new.bias.copy_(linear.bias)
                new.bias.requires_grad_(linear.bias.requires_grad)
        return new.train(linear.training)
