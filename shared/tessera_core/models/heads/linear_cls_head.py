"""Linear classification head."""
from typing import Tuple

import torch
from torch import nn

from tessera_core.registry import MODELS

from .cls_head import ClsHead


@MODELS.register_module()
class LinearClsHead(ClsHead):
    """(N, in_channels) -> optional dropout -> Linear -> (N, num_classes)."""

    def __init__(self, num_classes: int, in_channels: int, dropout: float = 0.0,
                 init_cfg=dict(type='Normal', layer='Linear', std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0:
            raise ValueError(f'num_classes must be positive, got {num_classes}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.fc(self.dropout(self.pre_logits(feats)))
