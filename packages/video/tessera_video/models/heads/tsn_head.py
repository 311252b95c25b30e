"""Segment classification head with average consensus.

Temporal Segment Networks: Towards Good Practices for Deep Action Recognition, Wang et al., arXiv:1608.00859
(official code https://github.com/yjxiong/temporal-segment-networks); as used by TSM (arXiv:1811.08383,
https://github.com/mit-han-lab/temporal-shift-module, ``ops/models.py``: dropout, ``new_fc`` initialised
N(0, 0.001), ``ConsensusModule('avg')`` over the segment scores).
"""
from typing import Tuple

import torch
from torch import nn

from tessera_core.models.heads import ClsHead
from tessera_video.registry import MODELS

CONSENSUS = ('avg',)


@MODELS.register_module()
class TSNHead(ClsHead):
    """Per-frame linear classifier, then the average of the frame scores over time.

    Args:
        num_classes (int): Classes.
        in_channels (int): Channels of the pooled per-frame feature.
        dropout (float): Dropout before the classifier (TSM: 0.5 on Kinetics, 0.8 by default).
        consensus (str): ``'avg'``, the segmental consensus.
        init_std (float): Std of the classifier's normal initialisation (0.001 in TSN/TSM).
        **kwargs: ``loss`` and ``topk`` of :class:`ClsHead`.

    Shapes: ``feats[-1]`` (N, T, C) per-frame features -> (N, num_classes) clip scores; an (N, C) feature is
    one frame per clip.
    """

    def __init__(self, num_classes: int, in_channels: int, dropout: float = 0.5, consensus: str = 'avg',
                 init_std: float = 0.001, init_cfg=None, **kwargs):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Linear', std=init_std)
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'num_classes and in_channels must be positive, got {num_classes}, {in_channels}')
        if consensus not in CONSENSUS:
            raise ValueError(f'invalid consensus {consensus!r}; valid: {CONSENSUS}')
        self.num_classes, self.in_channels, self.consensus = num_classes, in_channels, consensus
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc.weight, std=init_std)
        nn.init.zeros_(self.fc.bias)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        x = self.pre_logits(feats)
        if x.dim() == 2:
            x = x[:, None]
        if x.dim() != 3 or x.size(2) != self.in_channels:
            raise ValueError(f'TSNHead expects (N, T, {self.in_channels}) features, got {tuple(x.shape)}')
        scores = self.fc(self.dropout(x))  # (N, T, K)
        return scores.mean(dim=1)
