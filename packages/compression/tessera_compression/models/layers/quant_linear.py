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

from .quantized_layer import QuantizedLayerMixin

__all__ = ['QuantLinear']


@MODELS.register_module()
@MMENGINE_MODELS.register_module()
class QuantLinear(QuantizedLayerMixin, nn.Linear):
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
        self._build_quantizers(weight_quantizer, act_quantizer)

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
        return new._copy_float_layer(linear)
