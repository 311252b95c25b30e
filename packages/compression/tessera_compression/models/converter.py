"""Model converter: swap the Conv2d / Linear layers of any model for quantized ones.

Quantization-aware training in tessera-compression starts from an ordinary model (any registered
classifier, detector, ...): :func:`convert_to_quantized` replaces each ``nn.Conv2d`` by a
:class:`~tessera_compression.models.layers.QuantConv2d` and each ``nn.Linear`` by a
:class:`~tessera_compression.models.layers.QuantLinear` with the same geometry, weights, bias,
device, dtype and mode, and with the configured weight and input quantizers. Layers named in
``keep_full_precision`` (exact module names or ``fnmatch`` patterns; a container keeps every layer
inside it) are left untouched, as N2UQ (section 4.1) and ReActNet keep the first convolution and the
last fully connected layer in full precision (LSQ instead quantizes those two to 8 bits).

Only plain layers are converted: ``nn.Conv2d``, ``nn.Linear`` and mmcv's empty-tensor wrappers of
them; subclasses with their own forward (already quantized layers, dynamic convolutions, ...) are
left as they are and reported in the returned summary.
"""
import difflib
import fnmatch
from typing import Dict, List, Optional, Sequence

from mmcv.cnn.bricks import wrappers as mmcv_wrappers
from torch import nn

from .layers import QuantConv2d, QuantLinear
from .quantizers import FULL_PRECISION_BITS, quantizer_class

__all__ = ['CONVERTIBLE_LAYERS', 'convert_to_quantized', 'convertible_layer_names', 'quantizer_cfg_with_bits']

# layer class -> quantized class that replaces it
CONVERTIBLE_LAYERS: Dict[type, type] = {
    nn.Conv2d: QuantConv2d,
    mmcv_wrappers.Conv2d: QuantConv2d,
    nn.Linear: QuantLinear,
    mmcv_wrappers.Linear: QuantLinear,
}


def convertible_layer_names(model: nn.Module) -> List[str]:
    """Names of the layers of ``model`` that :func:`convert_to_quantized` would replace."""
    return [name for name, m in model.named_modules() if type(m) in CONVERTIBLE_LAYERS]


def quantizer_cfg_with_bits(cfg: Optional[dict], bits: Optional[int], name: str) -> Optional[dict]:
    """``cfg`` with ``bits`` filled in, checked against the quantizer's supported bit widths.

    Args:
        cfg (dict, optional): Quantizer config; None means full precision.
        bits (int, optional): Bit width; None takes ``cfg['bits']``; 32 means full precision.
        name (str): ``'w_bits'`` or ``'a_bits'``, for the error messages.

    Returns:
        dict or None: The config to build (None: keep full precision).
    """
    if bits == FULL_PRECISION_BITS and not isinstance(bits, bool):
        return None
    if cfg is None:
        if bits is not None:
            raise ValueError(f'{name}={bits!r} needs a quantizer config; give one, or {name}=32 / None for '
                             'full precision')
        return None
    if not isinstance(cfg, dict) or 'type' not in cfg:
        raise TypeError(f'the quantizer config of {name} must be a dict with a "type" key, got {cfg!r}')
    if bits is not None and 'bits' in cfg and cfg['bits'] != bits:
        raise ValueError(f'{name}={bits!r} contradicts bits={cfg["bits"]!r} in the quantizer config {cfg!r}')
    cfg = dict(cfg) if bits is None else dict(cfg, bits=bits)
    cls = quantizer_class(cfg['type'], 'weight_quantizer' if name == 'w_bits' else 'act_quantizer')
    if 'bits' in cfg and (isinstance(cfg['bits'], bool) or cfg['bits'] not in cls.SUPPORTED_BITS):
        raise ValueError(f'unsupported {name}={cfg["bits"]!r} for {cls.__name__}; valid: '
                         f'{list(cls.SUPPORTED_BITS) + [FULL_PRECISION_BITS]} ({FULL_PRECISION_BITS} = full precision)')
    return cfg


def _kept_names(model: nn.Module, keep_full_precision: Sequence[str]) -> set:
    """Module names (and everything under them) matched by ``keep_full_precision``; unknown names raise."""
    if isinstance(keep_full_precision, str):
        keep_full_precision = [keep_full_precision]
    all_names = [name for name, _ in model.named_modules() if name]
    layers = convertible_layer_names(model)
    kept = set()
    for entry in keep_full_precision:
        matches = [n for n in all_names if n == entry or fnmatch.fnmatchcase(n, entry)]
        if not matches:
            close = difflib.get_close_matches(entry, all_names, n=5, cutoff=0.6)
            raise ValueError(f'keep_full_precision names {entry!r}, which the model does not have; '
                             f'close names: {close}; convertible layers: {layers}')
        for match in matches:
            kept.update(n for n in layers if n == match or n.startswith(match + '.'))
    return kept


def convert_to_quantized(model: nn.Module, weight_quantizer: Optional[dict] = None,
                         act_quantizer: Optional[dict] = None, w_bits: Optional[int] = None,
                         a_bits: Optional[int] = None, keep_full_precision: Sequence[str] = ()) -> dict:
    """Replace the Conv2d / Linear layers of ``model`` (in place) by quantized ones.

    Args:
        model (nn.Module): Any model.
        weight_quantizer (dict, optional): Weight quantizer config, e.g.
            ``dict(type='N2UQWeightQuantizer')``; None keeps the weights full precision.
        act_quantizer (dict, optional): Input quantizer config, e.g.
            ``dict(type='N2UQActivationQuantizer')``; None keeps the inputs full precision.
        w_bits, a_bits (int, optional): Bit widths written into the configs (32: full precision;
            None: the configs' own ``bits``). Unsupported widths raise, listing the valid ones.
        keep_full_precision (Sequence[str]): Module names or ``fnmatch`` patterns to leave
            untouched (e.g. ``['backbone.stem.0', 'head.fc']``); each must match a module.

    Returns:
        dict: ``converted`` (names of the replaced layers), ``kept`` (convertible layers left
        full precision), ``skipped`` (Conv2d/Linear subclasses that are not converted).
    """
    w_cfg = quantizer_cfg_with_bits(weight_quantizer, w_bits, 'w_bits')
    a_cfg = quantizer_cfg_with_bits(act_quantizer, a_bits, 'a_bits')
    kept = _kept_names(model, keep_full_precision)
    converted, skipped = [], []
    for name, module in list(model.named_modules()):
        if not name:
            continue
        if type(module) not in CONVERTIBLE_LAYERS:
            if isinstance(module, (nn.Conv2d, nn.Linear)):
                skipped.append(name)
            continue
        if name in kept:
            continue
        parent_name, _, child_name = name.rpartition('.')
        parent = model.get_submodule(parent_name) if parent_name else model
        quantized = CONVERTIBLE_LAYERS[type(module)].from_float(module, w_cfg, a_cfg)
        setattr(parent, child_name, quantized)
        converted.append(name)
    return dict(converted=converted, kept=sorted(kept), skipped=skipped)
