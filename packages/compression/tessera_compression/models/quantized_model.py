"""QuantizedModel: quantization-aware training of any registered model from an ordinary config.

::

    model = dict(
        type='QuantizedModel',
        model=dict(type='ImageClassifier', backbone=..., neck=..., head=...),   # any model config
        weight_quantizer=dict(type='N2UQWeightQuantizer'),
        act_quantizer=dict(type='N2UQActivationQuantizer'),
        w_bits=2, a_bits=2,
        keep_full_precision=['backbone.stem.0', 'head.fc'])

builds the ordinary model, then swaps its Conv2d / Linear layers for quantized ones with
:func:`~tessera_compression.models.converter.convert_to_quantized` (weights copied). The wrapper
forwards the mmengine calls (``loss`` / ``predict`` / ``tensor`` modes, data preprocessing) to the
wrapped model, whose parameters live under ``model.``. A full-precision checkpoint of the wrapped
model (keys without the ``model.`` prefix, e.g. written by the same config without the wrapper)
loads directly into the wrapper (``load_from=...``): QAT starts from the pretrained weights, and
the quantizer parameters missing from it keep their initial values.
"""
from typing import List, Optional, Sequence, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from tessera_compression.registry import MODELS

from .converter import convert_to_quantized

__all__ = ['QuantizedModel']


@MODELS.register_module()
class QuantizedModel(BaseModel):
    """A model whose Conv2d / Linear layers are replaced by quantized ones.

    Args:
        model (dict | nn.Module): Config of the model to quantize (any registered model with
            mmengine's ``forward(inputs, data_samples, mode)``), or the model itself.
        weight_quantizer (dict, optional): Weight quantizer config; None: full-precision weights.
        act_quantizer (dict, optional): Input quantizer config; None: full-precision inputs.
        w_bits, a_bits (int, optional): Bit widths (32: full precision; None: the configs' ``bits``).
        keep_full_precision (Sequence[str]): Names (or ``fnmatch`` patterns) of modules of the
            wrapped model to keep full precision, e.g. ``['backbone.stem.0', 'head.fc']``.
        init_cfg (dict, optional): mmengine initialisation config of the wrapper.

    Attributes:
        model (BaseModel): The converted model.
        conversion (dict): ``converted`` / ``kept`` / ``skipped`` layer names.
    """

    def __init__(self, model: Union[dict, nn.Module], weight_quantizer: Optional[dict] = None,
                 act_quantizer: Optional[dict] = None, w_bits: Optional[int] = None, a_bits: Optional[int] = None,
                 keep_full_precision: Sequence[str] = (), init_cfg: Optional[dict] = None):
        inner = MODELS.build(model) if isinstance(model, dict) else model
        if not isinstance(inner, BaseModel):
            raise TypeError(f'QuantizedModel wraps an mmengine BaseModel (forward with data_samples and mode), '
                            f'got {type(inner).__name__}')
        super().__init__(data_preprocessor=inner.data_preprocessor, init_cfg=init_cfg)
        self.conversion = convert_to_quantized(inner, weight_quantizer, act_quantizer, w_bits, a_bits,
                                               keep_full_precision)
        self.model = inner
        self.register_load_state_dict_pre_hook(self._prefix_unwrapped_keys)

    @staticmethod
    def _prefix_unwrapped_keys(module, state_dict, prefix, *args) -> None:
        """Move the keys of an unwrapped (full-precision) checkpoint under ``model.``."""
        wrapped = prefix + 'model.'
        own = [k for k in state_dict if k.startswith(prefix)]
        if own and not any(k.startswith(wrapped) for k in own):
            for key in own:
                state_dict[wrapped + key[len(prefix):]] = state_dict.pop(key)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        """The wrapped model's forward: ``mode`` ``'loss'`` -> dict of losses, ``'predict'`` ->
        data samples, ``'tensor'`` -> raw outputs (logits (N, num_classes) for a classifier)."""
        return self.model(inputs, data_samples, mode)
