"""Deriving the mixed-precision, pruned network an ABS search selected, and fine-tuning it.

:func:`derive_network` reads the gates of an :class:`ABSSuperNet` (:meth:`ABSSuperNet.selection`) and
returns an ordinary copy of the wrapped model in which

- each super-bit convolution is a :class:`~tessera_compression.models.layers.QuantConv2d` with
  :class:`ABSQuantizer` weights / inputs at the selected widths, the learned clip values carried over
  (the official code fine-tunes the derived network with the same ``dorefa_clip`` quantizer);
- each gated block is physically smaller: the pruned filters of its first convolution, the matching
  BatchNorm channels and input channels of its second convolution are removed.

The result is what the package's operation counter (:func:`tessera_compression.analysis.count_operations`,
BOPs = MACs x weight bits x activation bits) and export (:func:`tessera_compression.export.export_quantized`)
read, with no ABS-specific code. :class:`ABSDerivedModel` builds it from a search config and checkpoint,
so fine-tuning is an ordinary ``mim train`` config.
"""
import copy
import json
from typing import List, Optional, Union

import torch
from mmengine.logging import MMLogger
from mmengine.model import BaseModel
from mmengine.runner.checkpoint import load_checkpoint
from torch import nn

from tessera_compression.registry import MODELS

from ..layers import QuantConv2d
from .super_bit_conv import FilterGate, SuperBitConv2d
from .supernet import ABSSuperNet

__all__ = ['derive_network', 'ABSDerivedModel']


def _slice_conv(conv: nn.Conv2d, out_index=None, in_index=None) -> None:
    with torch.no_grad():
        w = conv.weight
        if out_index is not None:
            w = w[out_index]
            conv.out_channels = len(out_index)
            if conv.bias is not None:
                conv.bias = nn.Parameter(conv.bias[out_index].clone())
        if in_index is not None:
            w = w[:, in_index]
            conv.in_channels = len(in_index)
        conv.weight = nn.Parameter(w.clone())


def _slice_bn(bn: nn.BatchNorm2d, index) -> nn.BatchNorm2d:
    new = nn.BatchNorm2d(len(index), eps=bn.eps, momentum=bn.momentum, affine=bn.affine,
                         track_running_stats=bn.track_running_stats).to(bn.running_mean if bn.running_mean
                                                                         is not None else bn.weight)
    with torch.no_grad():
        if bn.affine:
            new.weight.copy_(bn.weight[index])
            new.bias.copy_(bn.bias[index])
        if bn.track_running_stats:
            new.running_mean.copy_(bn.running_mean[index])
            new.running_var.copy_(bn.running_var[index])
            new.num_batches_tracked.copy_(bn.num_batches_tracked)
    return new.train(bn.training)


@torch.no_grad()
def derive_network(supernet: ABSSuperNet, weight_quantizer: Optional[dict] = None,
                   act_quantizer: Optional[dict] = None) -> tuple:
    """The fixed network the gates of ``supernet`` select.

    Args:
        supernet (ABSSuperNet): The searched network.
        weight_quantizer, act_quantizer (dict, optional): Quantizer configs of the derived convs, the
            selected ``bits`` filled in (e.g. ``dict(type='LSQQuantizer', kind='weight')``); None: the
            search's own clip quantizer (``ABSQuantizer``) with its learned clip value.

    Returns:
        tuple: ``(model, selection)``: a deep copy of ``supernet.model`` with QuantConv2d / ABSQuantizer
        layers at the selected widths and the pruned filters removed, and :meth:`ABSSuperNet.selection`.
    """
    selection = supernet.selection()
    model = copy.deepcopy(supernet.model)
    for name in supernet.super_convs:
        conv: SuperBitConv2d = model.get_submodule(name)
        w_bits, a_bits = selection['bits'][name]
        w_cfg = (dict(weight_quantizer, bits=w_bits) if weight_quantizer is not None else
                 dict(type='ABSQuantizer', bits=w_bits, kind='weight', clip_value=float(conv.weight_quantizer.clip())))
        a_cfg = (dict(act_quantizer, bits=a_bits) if act_quantizer is not None else
                 dict(type='ABSQuantizer', bits=a_bits, kind='activation', clip_value=float(conv.act_quantizer.clip())))
        new = QuantConv2d.from_float(conv, w_cfg, a_cfg)
        parent_name, _, child = name.rpartition('.')
        setattr(model.get_submodule(parent_name) if parent_name else model, child, new)
    for block_name in supernet.gated_blocks:
        block = model.get_submodule(block_name)
        gate: FilterGate = block.bn1
        index = torch.as_tensor(selection['kept'][block_name], dtype=torch.long, device=block.conv1.weight.device)
        _slice_conv(block.conv1, out_index=index)
        _slice_conv(block.conv2, in_index=index)
        block.bn1 = _slice_bn(gate.norm, index)
    return model, selection


@MODELS.register_module()
class ABSDerivedModel(BaseModel):
    """The network an ABS search selected, ready to fine-tune, test and export.

    Args:
        supernet (dict): The search's ``ABSSuperNet`` config (``type='ABSSuperNet'``).
        supernet_ckpt (str, optional): Checkpoint of the search (its last epoch); None derives from the
            supernet as built (every gate open: the highest widths, nothing pruned).
        selection_file (str, optional): Where to write the selection as JSON (widths, kept filters,
            histogram, pruning ratio, BOPs).
        weight_quantizer, act_quantizer (dict, optional): Quantizers of the derived convs at the selected
            widths (e.g. LSQ, to compare the searched allocation with uniform LSQ on equal quantizers);
            None: the search's ``ABSQuantizer`` (official).

    Attributes:
        model (BaseModel): The derived network (parameters under ``model.``).
        selection (dict): What the gates selected.
    """

    def __init__(self, supernet: dict, supernet_ckpt: Optional[str] = None, selection_file: Optional[str] = None,
                 weight_quantizer: Optional[dict] = None, act_quantizer: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if not (isinstance(supernet, dict) and supernet.get('type') in ('ABSSuperNet', ABSSuperNet)):
            raise TypeError(f"ABSDerivedModel needs supernet=dict(type='ABSSuperNet', ...), got {supernet!r}")
        net: ABSSuperNet = MODELS.build(supernet)
        if supernet_ckpt is not None:
            load_checkpoint(net, supernet_ckpt, map_location='cpu', strict=True)
        model, selection = derive_network(net, weight_quantizer, act_quantizer)
        super().__init__(data_preprocessor=model.data_preprocessor, init_cfg=init_cfg)
        self.model = model
        self.selection = selection
        self._from_search = supernet_ckpt is not None
        logger = MMLogger.get_current_instance()
        logger.info(f'ABS derived network from {supernet_ckpt or "the initial supernet"}: widths (w/a) histogram '
                    f'{selection["histogram"]}, pruning ratio {selection["pruning_ratio"]:.4f}, BOPs/sample '
                    f'{selection["bops"]} ({selection["bops"] / selection["max_bops"]:.4f} of all-open '
                    f'{selection["max_bops"]}), kept filters {selection["channels"]}')
        if selection_file:
            with open(selection_file, 'w') as f:
                json.dump(selection, f, indent=1)

    def init_weights(self) -> None:
        """Keep the searched weights: the runner initialises a model before training, which would
        re-draw the derived network's weights (only a network derived without a checkpoint is initialised)."""
        if not self._from_search:
            super().init_weights()

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        return self.model(inputs, data_samples, mode)
