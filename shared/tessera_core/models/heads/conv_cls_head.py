"""Conv classification head of the MobileNetV3/GhostNet family."""
from typing import Tuple

import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from tessera_core.registry import MODELS

from .cls_head import ClsHead


@MODELS.register_module()
class ConvClsHead(ClsHead):
    """Pooled (N, in_channels) -> 1x1 conv to ``mid_channels`` (with bias) -> act
    -> dropout -> Linear -> (N, num_classes), as GhostNet's ``conv_head``."""

    def __init__(self, num_classes: int, in_channels: int, mid_channels: int = 1280,
                 act_cfg=dict(type='ReLU'), dropout: float = 0.2,
                 init_cfg=dict(type='Normal', layer=['Linear', 'Conv2d'], std=0.01), **kwargs):
        super().__init__(init_cfg=init_cfg, **kwargs)
        self.num_classes, self.in_channels, self.mid_channels = num_classes, in_channels, mid_channels
        self.conv = nn.Conv2d(in_channels, mid_channels, 1, bias=True)
        self.act = build_activation_layer(act_cfg)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(mid_channels, num_classes)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        x = self.pre_logits(feats)
        if x.dim() == 2:
            x = x[:, :, None, None]
        x = self.act(self.conv(x)).flatten(1)
        return self.fc(self.dropout(x))
