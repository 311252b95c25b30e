"""Bit-aware operation counts of quantized and binary networks: FLOPs, BOPs and OPs.

The convention of the binary-network papers (XNOR-Net, Bi-Real Net arXiv:1808.00278, ReActNet
arXiv:2003.03488 (ImageNet comparison table), AdamBNN arXiv:2106.11309):

- ``FLOPs``: multiply-accumulates (MACs) of the full-precision convolutions and linear layers
  (the first conv and the classifier of a BNN);
- ``BOPs``: MACs of every other convolution / linear layer times ``weight_bits * act_bits``
  (one binary MAC = one BOP; a W4A4 MAC = 16 BOPs);
- ``OPs = BOPs / 64 + FLOPs``: a 64-bit CPU does 64 binary operations per instruction.

ReActNet-A at 224 x 224: 4.82 x 10^9 BOPs, 0.12 x 10^8 FLOPs, 0.87 x 10^8 OPs.

Counts come from forward hooks on one real forward pass, so shapes, strides and reused modules are
what the model actually computes. Each ``nn.Conv*``/``nn.Linear`` (subclasses included) is one
layer; its bits are its integer attributes ``weight_bits`` and ``act_bits`` (1-32, 32 = full
precision; a plain layer without them is full precision), the interface every quantized layer of
tessera-compression exposes. A counted layer nested in another counted layer is left to its
parent. Other operations (BatchNorm, activations, pooling, additions) are not counted, as in the
papers.
"""
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Sequence

import torch
from torch import nn
from torch.nn.modules.conv import _ConvNd

from tessera_compression.models.quantizers.base import FULL_PRECISION_BITS

__all__ = ['BITS_PER_WORD', 'FULL_PRECISION_BITS', 'LayerCount', 'OperationCounts', 'layer_bits',
           'count_operations']

BITS_PER_WORD = 64  # OPs = BOPs / 64 + FLOPs


@dataclass
class LayerCount:
    """One call of one counted layer.

    Attributes:
        name (str): Module name in the model.
        type (str): Class name.
        macs (int): Multiply-accumulates per input sample.
        weight_bits (int), act_bits (int): Its bit widths.
    """
    name: str
    type: str
    macs: int
    weight_bits: int
    act_bits: int

    @property
    def full_precision(self) -> bool:
        return self.weight_bits == FULL_PRECISION_BITS and self.act_bits == FULL_PRECISION_BITS

    @property
    def bops(self) -> int:
        """``macs * weight_bits * act_bits`` for a quantized layer, 0 for a full-precision one."""
        return 0 if self.full_precision else self.macs * self.weight_bits * self.act_bits


@dataclass
class OperationCounts:
    """Totals per input sample and the per-layer rows they add up.

    Attributes:
        flops (int): MACs of full-precision layers.
        bops (int): Sum of ``macs * weight_bits * act_bits`` over the quantized layers.
        ops (float): ``bops / 64 + flops``.
        layers (list[LayerCount]): One row per layer call, in execution order.
    """
    flops: int
    bops: int
    layers: List[LayerCount] = field(default_factory=list)

    @property
    def ops(self) -> float:
        return self.bops / BITS_PER_WORD + self.flops

    @property
    def macs(self) -> int:
        """All counted MACs, whatever their bits."""
        return sum(layer.macs for layer in self.layers)

    def by_bits(self) -> Dict[tuple, int]:
        """MACs per ``(weight_bits, act_bits)``."""
        result: Dict[tuple, int] = {}
        for layer in self.layers:
            key = (layer.weight_bits, layer.act_bits)
            result[key] = result.get(key, 0) + layer.macs
        return result

    def as_dict(self) -> dict:
        return dict(flops=self.flops, bops=self.bops, ops=self.ops, macs=self.macs)


def layer_bits(module: nn.Module, name: str = '') -> tuple:
    """``(weight_bits, act_bits)`` of a layer: its attributes, 32 for a missing one.

    Raises:
        ValueError: An attribute that is not an int in [1, 32] (the message names the layer).
    """
    bits = []
    for attr in ('weight_bits', 'act_bits'):
        value = getattr(module, attr, FULL_PRECISION_BITS)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= FULL_PRECISION_BITS:
            raise ValueError(f'layer {name or type(module).__name__!r} ({type(module).__name__}) has '
                             f'{attr}={value!r}; expected an int in [1, {FULL_PRECISION_BITS}] '
                             f'({FULL_PRECISION_BITS} = full precision)')
        bits.append(value)
    return tuple(bits)


def _macs(module: nn.Module, output: torch.Tensor) -> int:
    """MACs of one call per sample: output elements times the inputs each output element reads."""
    if isinstance(module, _ConvNd):
        per_output = module.in_channels // module.groups
        for k in module.kernel_size:
            per_output *= k
    else:
        per_output = module.in_features
    return output[0].numel() * per_output


def _counted_layers(model: nn.Module) -> Dict[str, nn.Module]:
    layers = {name: m for name, m in model.named_modules() if isinstance(m, (_ConvNd, nn.Linear))}
    return {name: m for name, m in layers.items()
            if not any(name.startswith(parent + '.') for parent in layers if parent and parent != name)}


def count_operations(model: nn.Module, input_shape: Sequence[int] = (3, 224, 224),
                     forward_fn: Optional[Callable[[nn.Module, torch.Tensor], object]] = None) -> OperationCounts:
    """FLOPs, BOPs and OPs of ``model`` on one zero input of ``input_shape`` (C, H, W).

    Args:
        model (nn.Module): Any model; its convolutions / linear layers carry ``weight_bits`` and
            ``act_bits`` when quantized. Run in eval mode without gradients, then restored.
        input_shape (Sequence[int]): (C, H, W) of one sample.
        forward_fn (callable, optional): ``forward_fn(model, x)`` runs the part to count; default
            ``model(x)`` (an mmengine ``ImageClassifier``: backbone, neck and head).

    Returns:
        OperationCounts: per-sample ``flops``, ``bops``, ``ops`` and the per-layer rows.
    """
    if len(input_shape) != 3 or not all(isinstance(d, int) and d > 0 for d in input_shape):
        raise ValueError(f'input_shape must be (C, H, W) positive ints, got {tuple(input_shape)}')
    layers = _counted_layers(model)
    bits = {name: layer_bits(m, name) for name, m in layers.items()}
    rows: List[LayerCount] = []

    def make_hook(name):
        def hook(module, inputs, output):
            w_bits, a_bits = bits[name]
            rows.append(LayerCount(name, type(module).__name__, _macs(module, output), w_bits, a_bits))
        return hook

    handles = [m.register_forward_hook(make_hook(name)) for name, m in layers.items()]
    was_training = model.training
    model.eval()
    try:
        param = next(model.parameters(), None)
        x = torch.zeros((1, *input_shape), device=None if param is None else param.device)
        with torch.no_grad():
            model(x) if forward_fn is None else forward_fn(model, x)
    finally:
        for handle in handles:
            handle.remove()
        model.train(was_training)
    flops = sum(row.macs for row in rows if row.full_precision)
    bops = sum(row.bops for row in rows)
    return OperationCounts(flops=flops, bops=bops, layers=rows)
