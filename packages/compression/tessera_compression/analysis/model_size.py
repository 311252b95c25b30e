"""Bits-aware model size of quantized and binary models.

A quantized layer (``QuantConv2d``, ``QuantLinear``, ``BinaryConv2d``, ... : any module with the
integer attributes ``weight_bits`` / ``act_bits``, 32 = full precision) stores its ``weight`` in
``weight_bits`` bits per entry; every other parameter (biases, BatchNorm, quantizer scales and
thresholds, full-precision layers) in 32 bits. Sizes are in decimal megabytes (``bits / 8e6``)
and megabits (``bits / 1e6``), the units of the BNN / quantization papers (e.g. ResNet-18:
11.69 M parameters x 32 bits = 374.1 Mbit). Buffers (BatchNorm running statistics) are not
counted, as they fold into the preceding layer's scale and bias at inference.

FLOPs, BOPs and OPs of the same models (MACs split by the layers' bit widths) are counted by
:func:`tessera_compression.analysis.operation_counts.count_operations`, which reads the same
attributes.
"""
from typing import Dict

from torch import nn

from .operation_counts import FULL_PRECISION_BITS, layer_bits

__all__ = ['model_size']


def model_size(model: nn.Module) -> dict:
    """Storage of the parameters of ``model`` at their quantized bit widths.

    Args:
        model (nn.Module): Any model; quantized layers expose ``weight_bits``.

    Returns:
        dict: ``params`` (int, parameter count), ``bits`` (int, total storage),
        ``size_mb`` / ``size_mbit`` (decimal), ``fp32_size_mb`` (the same parameters in 32 bits),
        ``compression`` (``fp32 bits / bits``), ``params_by_bits`` (``{bits: parameter count}``).
    """
    params_by_bits: Dict[int, int] = {}
    seen = set()
    for name, module in model.named_modules():
        weight_bits = layer_bits(module, name)[0]
        for param_name, param in module.named_parameters(recurse=False):
            if id(param) in seen:
                continue
            seen.add(id(param))
            bits = weight_bits if param_name == 'weight' else FULL_PRECISION_BITS
            params_by_bits[bits] = params_by_bits.get(bits, 0) + param.numel()
    params = sum(params_by_bits.values())
    bits = sum(b * n for b, n in params_by_bits.items())
    fp32_bits = FULL_PRECISION_BITS * params
    return dict(params=params, bits=bits, size_mb=bits / 8e6, size_mbit=bits / 1e6,
                fp32_size_mb=fp32_bits / 8e6, compression=fp32_bits / bits if bits else 1.0,
                params_by_bits=dict(sorted(params_by_bits.items())))
