"""Classifier head of MicroNet: ReLU6, average pooling, h-swish, two Linear-BN-h-swish layers with dropout.

MicroNet: Improving Image Recognition with Extremely Low FLOPs, Li et al., ICCV 2021, arXiv:2108.05894
(earlier version: arXiv:2011.12289). Official code: https://github.com/liyunsheng13/micronet
(``backbone/micronet.py``: ``MicroNet.avgpool`` and ``MicroNet.classifier`` built from ``SwishLinear``).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.registry import MODELS

from .cls_head import ClsHead


class _SwishLinear(nn.Sequential):
    """Linear -> BatchNorm1d -> h-swish (the official ``SwishLinear``): (N, C_in) -> (N, C_out)."""

    def __init__(self, in_features: int, out_features: int):
        super().__init__(nn.Linear(in_features, out_features), nn.BatchNorm1d(out_features), nn.Hardswish())


@MODELS.register_module()
class MicroNetClsHead(ClsHead):
    """MicroNet's official head, which pools the backbone's last map itself.

    (N, C, H, W) -> ReLU6 -> global average pooling -> h-swish -> (N, C)
    -> Linear + BN + h-swish -> (N, mid_channels) -> dropout
    -> Linear + BN + h-swish -> logits (N, num_classes).

    The official classifier ends with BatchNorm1d and h-swish on the logits
    too; this is kept (so training needs batches of at least 2). Use it with
    ``neck=None``: the ReLU6 comes before the pooling.

    Args:
        num_classes (int): K.
        in_channels (int): C, channels of the backbone's last map
            (384 / 576 / 768 / 864 for M0-M3).
        mid_channels (int): The hidden width (official ``OUT_CH``: 640 / 960 / 1024 / 1024).
        dropout (float): Dropout before the last layer (0.05 for M0/M1, 0.1 for M2/M3).
        init_cfg (dict): Default: linears N(0, 0.01) with zero bias, as the official init.
        **kwargs: ``loss``, ``topk`` of :class:`ClsHead`.
    """

    def __init__(self, num_classes: int, in_channels: int, mid_channels: int = 1024, dropout: float = 0.1,
                 init_cfg=dict(type='Normal', layer='Linear', std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        if not 0 <= dropout < 1:
            raise ValueError(f'dropout must lie in [0, 1), got {dropout}')
        self.num_classes, self.in_channels, self.mid_channels = num_classes, in_channels, mid_channels
        self.hidden = _SwishLinear(in_channels, mid_channels)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.classifier = _SwishLinear(mid_channels, num_classes)

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Last map (N, C, H, W) -> hidden features (N, mid_channels), before dropout."""
        x = feats[-1]
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f'MicroNetClsHead expects the backbone map (N, {self.in_channels}, H, W) and pools it '
                             f'itself (use neck=None), got {tuple(x.shape)}')
        x = F.hardswish(F.relu6(x).mean(dim=(2, 3)))
        return self.hidden(x)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.classifier(self.dropout(self.pre_logits(feats)))
