"""Export of quantized models as integer levels plus scales, and integer-level inference.

Uniform output levels are what makes a quantizer hardware friendly (N2UQ, arXiv:2111.14826,
section 3.1: ``a^q . w^q`` becomes integer arithmetic): every quantized tensor is
``scale * (codes - zero_point)`` with integer codes. :func:`export_quantized` writes, for each
quantized layer (:class:`QuantConv2d` / :class:`QuantLinear`), the integer weight codes, the
per-output-channel weight scales and zero point, the bias, and the input quantizer (its config
and parameters: it turns the real-valued input into integer codes at inference), plus the
full-precision rest of the model (BatchNorm, unquantized layers). :func:`save_quantized` /
:func:`load_quantized` store that in an ``.npz`` file (no pickle).

:func:`build_integer_model` rebuilds a model from such an export in which each quantized layer
is an :class:`IntegerConv2d` / :class:`IntegerLinear`: the input is encoded to integer codes, the
products of centred integer codes ``(q_a - z_a) (q_w - z_w)`` are accumulated in int64 (exact),
and the accumulator is scaled once by ``s_a * s_w[c]``. Its outputs equal the fake-quantized
model's within float rounding. Half-integer zero points (N2UQ's symmetric weight levels) are
handled by doubling the centred codes (``2 q - 2 z`` is an integer) and halving the scale.
"""
import copy
import json
from typing import Dict, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.models.layers import QuantConv2d, QuantLinear
from tessera_compression.models.quantizers import Quantizer, build_quantizer

__all__ = ['EXPORT_FORMAT', 'quantized_layers', 'export_quantized', 'save_quantized', 'load_quantized',
           'IntegerConv2d', 'IntegerLinear', 'build_integer_model', 'integer_conv2d']

EXPORT_FORMAT = 'tessera-quantized-v1'


def quantized_layers(model: nn.Module) -> Dict[str, nn.Module]:
    """``{name: layer}`` of the QuantConv2d / QuantLinear layers of ``model`` with at least one quantizer."""
    return {name: m for name, m in model.named_modules()
            if isinstance(m, (QuantConv2d, QuantLinear))
            and (isinstance(m.weight_quantizer, Quantizer) or isinstance(m.act_quantizer, Quantizer))}


def _centred(codes: torch.Tensor, scale: torch.Tensor, zero_point: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """Integer ``m`` and scale ``t`` with ``t * m == scale * (codes - zero_point)``."""
    twice = round(2 * float(zero_point))
    if abs(twice - 2 * float(zero_point)) > 1e-9:
        raise ValueError(f'zero point {zero_point} is not an integer or half-integer')
    if twice % 2 == 0:
        return codes.long() - twice // 2, scale
    return 2 * codes.long() - twice, scale / 2


def _code_dtype(codes: torch.Tensor) -> torch.dtype:
    lo, hi = int(codes.min()), int(codes.max())
    for dtype in (torch.uint8, torch.int8, torch.int16, torch.int32):
        info = torch.iinfo(dtype)
        if info.min <= lo and hi <= info.max:
            return dtype
    return torch.int64


@torch.no_grad()
def export_quantized(model: nn.Module) -> dict:
    """Integer levels, scales and the full-precision rest of a converted model.

    Args:
        model (nn.Module): A model with quantized layers (e.g. a ``QuantizedModel``).

    Returns:
        dict: ``format``; ``layers``: ``{name: dict(kind, weight_bits, act_bits, geometry,
        weight_codes (uint8/int8, shaped like the weight) or weight (float, full-precision
        weights), weight_scale (C_out,), weight_zero_point, bias, act_quantizer (config or None),
        act_quantizer_state)}``; ``float_state``: the state dict entries outside those layers.

    Raises:
        ValueError: if ``model`` has no quantized layer, or an input quantizer was never calibrated.
    """
    layers = quantized_layers(model)
    if not layers:
        raise ValueError(f'{type(model).__name__} has no quantized layer (QuantConv2d / QuantLinear with a '
                         'quantizer) to export; convert it first: model=dict(type="QuantizedModel", model=..., '
                         'weight_quantizer=..., act_quantizer=...) or convert_to_quantized(model, ...)')
    exported = dict(format=EXPORT_FORMAT, layers={}, float_state={})
    for name, layer in layers.items():
        entry = dict(kind='conv2d' if isinstance(layer, QuantConv2d) else 'linear',
                     weight_bits=layer.weight_bits, act_bits=layer.act_bits,
                     bias=None if layer.bias is None else layer.bias.detach().clone())
        if isinstance(layer, QuantConv2d):
            if layer.padding_mode != 'zeros':
                raise ValueError(f'{name}: integer export supports zero padding only, got '
                                 f'padding_mode={layer.padding_mode!r}')
            entry['geometry'] = dict(in_channels=layer.in_channels, out_channels=layer.out_channels,
                                     kernel_size=list(layer.kernel_size), stride=list(layer.stride),
                                     padding=layer.padding if isinstance(layer.padding, str) else list(layer.padding),
                                     dilation=list(layer.dilation), groups=layer.groups)
        else:
            entry['geometry'] = dict(in_features=layer.in_features, out_features=layer.out_features)
        wq = layer.weight_quantizer
        if isinstance(wq, Quantizer):
            levels = wq.integer_levels(layer.weight)
            out_channels = layer.weight.shape[0]
            entry['weight_codes'] = levels.codes.to(_code_dtype(levels.codes))
            entry['weight_scale'] = levels.scale.detach().float().reshape(-1).expand(out_channels).clone()
            entry['weight_zero_point'] = float(levels.zero_point)
        else:
            entry['weight'] = layer.weight.detach().clone()
        aq = layer.act_quantizer
        if isinstance(aq, Quantizer):
            if not aq.is_calibrated():
                raise ValueError(f'{name}: the input quantizer {type(aq).__name__} was never calibrated; run the '
                                 'model on data (or load a trained checkpoint) before exporting')
            entry['act_quantizer'] = aq.config()
            entry['act_quantizer_state'] = {k: v.detach().clone() for k, v in aq.state_dict().items()}
        else:
            entry['act_quantizer'] = None
            entry['act_quantizer_state'] = {}
        exported['layers'][name] = entry
    prefixes = tuple(name + '.' for name in layers)
    exported['float_state'] = {k: v.detach().clone() for k, v in model.state_dict().items()
                               if not k.startswith(prefixes)}
    return exported


def _array(tensor: torch.Tensor) -> np.ndarray:
    return tensor.detach().cpu().numpy()


def save_quantized(exported: dict, path: str) -> None:
    """Write an export to ``path`` (``.npz``): arrays under ``<layer>/<field>`` and ``float/<key>``,
    the rest (bits, geometry, quantizer configs) as JSON in ``__meta__``."""
    if exported.get('format') != EXPORT_FORMAT:
        raise ValueError(f'not a {EXPORT_FORMAT} export (format={exported.get("format")!r})')
    arrays, meta = {}, dict(format=EXPORT_FORMAT, layers={}, float_state=list(exported['float_state']))
    for name, entry in exported['layers'].items():
        info = {k: v for k, v in entry.items()
                if k not in ('weight_codes', 'weight_scale', 'weight', 'bias', 'act_quantizer_state')}
        info['act_quantizer_state'] = list(entry['act_quantizer_state'])
        info['has_bias'] = entry['bias'] is not None
        for field in ('weight_codes', 'weight_scale', 'weight', 'bias'):
            if entry.get(field) is not None:
                arrays[f'{name}/{field}'] = _array(entry[field])
        for key, value in entry['act_quantizer_state'].items():
            arrays[f'{name}/act_quantizer/{key}'] = _array(value)
        meta['layers'][name] = info
    for key, value in exported['float_state'].items():
        arrays[f'float/{key}'] = _array(value)
    arrays['__meta__'] = np.frombuffer(json.dumps(meta).encode('utf-8'), dtype=np.uint8)
    with open(path, 'wb') as f:
        np.savez(f, **arrays)


def load_quantized(path: str) -> dict:
    """Read an export written by :func:`save_quantized` (no pickle is unpickled)."""
    try:
        data = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as err:
        raise ValueError(f'cannot read quantized export {path}: {err}') from None
    with data:
        if '__meta__' not in data.files:
            raise ValueError(f'{path} is not a {EXPORT_FORMAT} export (no __meta__ entry)')
        meta = json.loads(data['__meta__'].tobytes().decode('utf-8'))
        if meta.get('format') != EXPORT_FORMAT:
            raise ValueError(f'{path}: format {meta.get("format")!r}, expected {EXPORT_FORMAT!r}')
        arrays = {k: torch.from_numpy(data[k].copy()) for k in data.files if k != '__meta__'}
    exported = dict(format=EXPORT_FORMAT, layers={},
                    float_state={k: arrays[f'float/{k}'] for k in meta['float_state']})
    for name, info in meta['layers'].items():
        entry = {k: v for k, v in info.items() if k not in ('act_quantizer_state', 'has_bias')}
        for field in ('weight_codes', 'weight_scale', 'weight'):
            if f'{name}/{field}' in arrays:
                entry[field] = arrays[f'{name}/{field}']
        entry['bias'] = arrays[f'{name}/bias'] if info['has_bias'] else None
        entry['act_quantizer_state'] = {k: arrays[f'{name}/act_quantizer/{k}'] for k in info['act_quantizer_state']}
        exported['layers'][name] = entry
    return exported


def _pair(value) -> Tuple[int, int]:
    return (value, value) if isinstance(value, int) else tuple(value)


def _conv_pads(padding, kernel_size, dilation) -> Tuple[int, int, int, int]:
    """``(left, right, top, bottom)`` zero padding of a conv (``'same'`` pads the extra pixel after)."""
    if padding == 'valid':
        return 0, 0, 0, 0
    if padding == 'same':
        (th, tw) = [d * (k - 1) for k, d in zip(kernel_size, dilation)]
        return tw // 2, tw - tw // 2, th // 2, th - th // 2
    ph, pw = _pair(padding)
    return pw, pw, ph, ph


def integer_conv2d(x: torch.Tensor, weight: torch.Tensor, stride=1, padding=0, dilation=1,
                   groups: int = 1) -> torch.Tensor:
    """Zero-padded 2-D convolution of integer tensors with int64 accumulation (im2col + matmul).

    Args:
        x (Tensor): Integer input (N, C_in, H, W).
        weight (Tensor): Integer kernel (C_out, C_in / groups, k_h, k_w).
        stride, padding, dilation, groups: As ``F.conv2d`` (``padding`` may be ``'same'``/``'valid'``).

    Returns:
        Tensor: int64 (N, C_out, H_out, W_out), exactly ``F.conv2d`` of the integer values.
    """
    if x.is_floating_point() or weight.is_floating_point():
        raise TypeError(f'integer_conv2d takes integer tensors, got {x.dtype} and {weight.dtype}')
    n, c_in, h, w = x.shape
    c_out, c_in_g, k_h, k_w = weight.shape
    if c_in != c_in_g * groups:
        raise ValueError(f'input has {c_in} channels, the kernel expects {c_in_g} x {groups} groups')
    stride, dilation = _pair(stride), _pair(dilation)
    left, right, top, bottom = _conv_pads(padding, (k_h, k_w), dilation)
    # float64 holds these small integers exactly, so padding and unfolding lose nothing
    padded = F.pad(x.to(torch.float64), (left, right, top, bottom))
    cols = F.unfold(padded, (k_h, k_w), dilation=dilation, stride=stride).round().long()  # (N, C_in*k*k, L)
    h_out = (h + top + bottom - dilation[0] * (k_h - 1) - 1) // stride[0] + 1
    w_out = (w + left + right - dilation[1] * (k_w - 1) - 1) // stride[1] + 1
    cols = cols.reshape(n, groups, c_in_g * k_h * k_w, -1)
    kernel = weight.long().reshape(groups, c_out // groups, c_in_g * k_h * k_w)
    acc = torch.matmul(kernel.unsqueeze(0), cols)  # (N, groups, C_out / groups, L), int64
    return acc.reshape(n, c_out, h_out, w_out)


class _IntegerLayer(nn.Module):
    """Shared state of the integer layers: weights as codes + per-channel scale, the input quantizer."""

    def __init__(self, entry: dict, out_channels: int):
        super().__init__()
        self.weight_bits = int(entry['weight_bits'])
        self.act_bits = int(entry['act_bits'])
        if entry.get('weight_codes') is not None:
            self.register_buffer('weight_codes', entry['weight_codes'].clone())
            self.register_buffer('weight_scale', entry['weight_scale'].float().clone().reshape(out_channels))
            self.weight_zero_point = float(entry['weight_zero_point'])
            self.weight = None
        else:
            self.weight_codes = None
            self.register_buffer('weight', entry['weight'].clone())
        self.register_buffer('bias', None if entry['bias'] is None else entry['bias'].clone())
        if entry['act_quantizer'] is not None:
            self.act_quantizer = build_quantizer(dict(entry['act_quantizer']), 'act_quantizer')
            self.act_quantizer.load_state_dict(entry['act_quantizer_state'])
        else:
            self.act_quantizer = None

    def _operands(self, x: torch.Tensor):
        """(input, input scale or None, weight, weight scale (C_out,) or None); integer where quantized."""
        if self.act_quantizer is not None:
            levels = self.act_quantizer.integer_levels(x)
            a, a_scale = _centred(levels.codes, levels.scale.to(x.dtype), levels.zero_point)
        else:
            a, a_scale = x, None
        if self.weight_codes is not None:
            w, w_scale = _centred(self.weight_codes, self.weight_scale.to(x.dtype), self.weight_zero_point)
        else:
            w, w_scale = self.weight.to(x.dtype), None
        if (a_scale is None) != (w_scale is None):  # one side full precision: float accumulation
            a, w = a.to(x.dtype), w.to(x.dtype)
        return a, a_scale, w, w_scale


class IntegerConv2d(_IntegerLayer):
    """A quantized convolution evaluated on integer codes (built from one layer of an export).

    ``y[:, c] = s_a * s_w[c] * sum (q_a - z_a)(q_w - z_w) + b[c]``, accumulated in int64 when both
    sides are quantized (in float otherwise). Shapes: (N, C_in, H, W) -> (N, C_out, H', W').
    """

    def __init__(self, entry: dict):
        geometry = entry['geometry']
        super().__init__(entry, geometry['out_channels'])
        self.stride, self.dilation = tuple(geometry['stride']), tuple(geometry['dilation'])
        padding = geometry['padding']
        self.padding = padding if isinstance(padding, str) else tuple(padding)
        self.groups = geometry['groups']

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, a_scale, w, w_scale = self._operands(x)
        if a_scale is not None and w_scale is not None:
            acc = integer_conv2d(a, w, self.stride, self.padding, self.dilation, self.groups).to(x.dtype)
            y = acc * (a_scale * w_scale).view(1, -1, 1, 1)
        else:
            left, right, top, bottom = _conv_pads(self.padding, w.shape[-2:], self.dilation)
            y = F.conv2d(F.pad(a, (left, right, top, bottom)), w, None, self.stride, 0, self.dilation, self.groups)
            if a_scale is not None:
                y = y * a_scale
            if w_scale is not None:
                y = y * w_scale.view(1, -1, 1, 1)
        return y if self.bias is None else y + self.bias.view(1, -1, 1, 1).to(y.dtype)


class IntegerLinear(_IntegerLayer):
    """A quantized fully connected layer evaluated on integer codes (int64 accumulation).

    Shapes: (N, *, in_features) -> (N, *, out_features).
    """

    def __init__(self, entry: dict):
        super().__init__(entry, entry['geometry']['out_features'])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, a_scale, w, w_scale = self._operands(x)
        y = torch.matmul(a, w.t()).to(x.dtype)
        if a_scale is not None:
            y = y * a_scale
        if w_scale is not None:
            y = y * w_scale
        return y if self.bias is None else y + self.bias.to(y.dtype)


def build_integer_model(model: nn.Module, exported: dict, inplace: bool = False) -> nn.Module:
    """A copy of ``model`` whose quantized layers run on integer codes, with the exported parameters.

    Args:
        model (nn.Module): A model with the exported structure, e.g. the converted model itself or
            a fresh build of its config.
        exported (dict): From :func:`export_quantized` or :func:`load_quantized`.
        inplace (bool): Modify ``model`` instead of a deep copy.

    Returns:
        nn.Module: The integer model, in eval mode.
    """
    if exported.get('format') != EXPORT_FORMAT:
        raise ValueError(f'not a {EXPORT_FORMAT} export (format={exported.get("format")!r})')
    target = model if inplace else copy.deepcopy(model)
    names = dict(target.named_modules())
    for name, entry in exported['layers'].items():
        if name not in names:
            raise ValueError(f'the export has a layer {name!r} that the model lacks; the model has '
                             f'{sorted(n for n, m in names.items() if isinstance(m, (nn.Conv2d, nn.Linear)))}')
        layer = IntegerConv2d(entry) if entry['kind'] == 'conv2d' else IntegerLinear(entry)
        parent_name, _, child = name.rpartition('.')
        parent = target.get_submodule(parent_name) if parent_name else target
        device = next(iter(names[name].parameters()), torch.empty(0)).device
        setattr(parent, child, layer.to(device))
    missing, unexpected = target.load_state_dict(exported['float_state'], strict=False)
    integer_prefixes = tuple(name + '.' for name in exported['layers'])
    missing = [k for k in missing if not k.startswith(integer_prefixes)]
    if missing or unexpected:
        raise ValueError(f'the export does not match the model: missing {missing}, unexpected {unexpected}')
    return target.eval()
