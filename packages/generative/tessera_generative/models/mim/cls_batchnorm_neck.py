"""Linear-probe neck: a BatchNorm without affine parameters in front of the linear classifier.

The MAE linear-probing protocol (He et al., arXiv:2111.06377, Appendix A.2; official ``main_linprobe.py``:
``BatchNorm1d(affine=False, eps=1e-6)`` before the head) normalises the frozen features, whose scale differs
from encoder to encoder. Name after mmpretrain's ``ClsBatchNormNeck``.
"""
from typing import Tuple

import torch
from torch import nn

from tessera_generative.registry import MODELS


@MODELS.register_module()
class ClsBatchNormNeck(nn.Module):
    """(N, C) features of a tuple -> BatchNorm1d(C, affine=False, eps=1e-6)."""

    def __init__(self, input_features: int, eps: float = 1e-6):
        super().__init__()
        self.bn = nn.BatchNorm1d(input_features, affine=False, eps=eps)

    def forward(self, inputs: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, ...]:
        if isinstance(inputs, torch.Tensor):
            inputs = (inputs,)
        if inputs[-1].dim() != 2:
            raise ValueError(f'ClsBatchNormNeck expects (N, C) features (a ViT with out_type cls_token or '
                             f'avg_featmap), got shape {tuple(inputs[-1].shape)}')
        return tuple(inputs[:-1]) + (self.bn(inputs[-1]),)
