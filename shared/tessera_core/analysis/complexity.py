"""Parameter and FLOP counts through ``mmengine.analysis`` (fvcore-style counting).

mmengine counts one fused multiply-add as one "flop", i.e. these are MACs, the
unit most efficient-network papers report as FLOPs.
"""
from typing import Sequence

import torch
from mmengine.analysis import FlopAnalyzer
from torch import nn


def count_parameters(model: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def get_flops(model: nn.Module, input_shape: Sequence[int] = (3, 224, 224), forward_fn=None) -> dict:
    """MACs and parameters of ``model`` on one input of ``input_shape`` (C, H, W).

    ``forward_fn(model, x)`` picks what to run; default ``model(x)`` (for an
    :class:`ImageClassifier` this is ``mode='tensor'``: backbone, neck and head).
    Returns ``dict(flops=int, params=int, by_module=dict)``.
    """
    was_training = model.training
    model.eval()
    x = torch.zeros((1, *input_shape), device=next(model.parameters()).device)
    if forward_fn is not None:
        wrapper = _Call(model, forward_fn)
        analyzer = FlopAnalyzer(wrapper, (x,))
    else:
        analyzer = FlopAnalyzer(model, (x,))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        total = analyzer.total()
        by_module = analyzer.by_module()
    model.train(was_training)
    return dict(flops=int(total), params=count_parameters(model), by_module=dict(by_module))


class _Call(nn.Module):
    def __init__(self, model, fn):
        super().__init__()
        self.model, self.fn = model, fn

    def forward(self, x):
        return self.fn(self.model, x)
