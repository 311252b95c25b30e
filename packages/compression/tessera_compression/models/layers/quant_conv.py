"""Generic quantized convolution: any registered quantizer on the weights and on the input.

The one convolution every quantization method of tessera-compression builds on (LSQ, N2UQ, and
the methods that plug in later): ``QuantConv2d(..., weight_quantizer=dict(type='N2UQWeightQuantizer',
bits=2), act_quantizer=dict(type='N2UQActivationQuantizer', bits=2))`` computes

    y = conv(Q_a(x), Q_w(W)) + b

with ``Q_w``, ``Q_a`` fake quantizers (:class:`~tessera_compression.models.quantizers.Quantizer`);
a side without a quantizer stays full precision and the bias always does. The layer exposes the
integer attributes ``weight_bits`` and ``act_bits`` (32 = full precision), which the model-size
and operation counters read. It is registered in mmengine's root ``MODELS`` (where mmcv 2.x's
``build_conv_layer`` looks) and in tessera-compression's ``MODELS``; the model converter
(:mod:`tessera_compression.models.converter`) builds it from an ``nn.Conv2d`` with
:meth:`QuantConv2d.from_float`.
"""
from typing import Optional

import torch
from mmengine.registry import MODELS as MMCV_CONV_LAYERS  # mmcv 2.x builds conv layers from here
from torch import nn

from tessera_compression.registry import MODELS

from .quantized_layer import QuantizedLayerMixin

__all__ = ['QuantConv2d']


@MODELS.register_module()
@MMCV_CONV_LAYERS.register_module()
class QuantConv2d(QuantizedLayerMixin, nn.Conv2d):
    """``nn.Conv2d`` on fake-quantized weights and inputs.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode: As ``nn.Conv2d``.
        weight_quantizer (dict, optional): Config of the weight quantizer (a registered
            :class:`Quantizer`, e.g. ``dict(type='LSQQuantizer', bits=4, kind='weight')``);
            None keeps full-precision weights.
        act_quantizer (dict, optional): Config of the input quantizer, e.g.
            ``dict(type='LSQQuantizer', bits=4, kind='activation')``; None keeps full-precision inputs.

    Attributes:
        weight_quantizer, act_quantizer (Quantizer or nn.Identity): The quantizers (Identity for
            a full-precision side).

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W') as ``nn.Conv2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = 'zeros',
                 weight_quantizer: Optional[dict] = None, act_quantizer: Optional[dict] = None):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode)
        self._build_quantizers(weight_quantizer, act_quantizer)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(self.act_quantizer(x), self.quantized_weight(), self.bias)

    @classmethod
    def from_float(cls, conv: nn.Conv2d, weight_quantizer: Optional[dict] = None,
                   act_quantizer: Optional[dict] = None) -> 'QuantConv2d':
        """A ``QuantConv2d`` with the geometry, weights, bias, device, dtype and mode of ``conv``."""
        if not isinstance(conv, nn.Conv2d):
            raise TypeError(f'from_float expects an nn.Conv2d, got {type(conv).__name__}')
        new = cls(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride, padding=conv.padding,
                  dilation=conv.dilation, groups=conv.groups, bias=conv.bias is not None,
                  padding_mode=conv.padding_mode, weight_quantizer=weight_quantizer, act_quantizer=act_quantizer)
        return new._copy_float_layer(conv)
