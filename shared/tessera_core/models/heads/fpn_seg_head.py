"""Top-down (FPN-style) decoder head for semantic segmentation, with optional mmcv plugins."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmcv.cnn import ConvModule, build_plugin_layer
from mmengine.model import BaseModule
from torch import nn

from tessera_core.registry import MODELS


@MODELS.register_module()
class FPNSegHead(BaseModule):
    """Lateral 1x1 conv-BN-ReLU of every backbone level to ``channels``; from the coarsest level
    down: bilinear upsampling to the next finer level, add its lateral, fuse with a 3x3
    conv-BN-ReLU. Optional mmcv plugins (e.g. PSA) run on the finest fused map, then a 1x1 conv
    predicts per-pixel class logits. Loss: per-pixel softmax cross-entropy.

    Args:
        in_channels (Sequence[int]): Channels of the backbone levels, finest first.
        channels (int): Decoder width.
        num_classes (int): Classes per pixel, background included.
        plugins (list[dict], optional): mmcv plugin configs, each built with
            ``build_plugin_layer(cfg, in_channels=channels)`` and applied in order to the finest
            fused map, e.g. ``[dict(type='PSA', layout='sequential')]``.
        norm_cfg (dict): Norm of the decoder convs.
        ignore_index (int): Target value excluded from the loss.
        loss_weight (float): Weight of the cross-entropy.

    Shapes: levels (N, C_i, H_i, W_i), finest first -> logits (N, num_classes, H_0, W_0); the loss
    and the predictions resize them bilinearly to the label map's size if it differs.
    """

    def __init__(self, in_channels: Sequence[int], channels: int, num_classes: int,
                 plugins: Optional[List[dict]] = None, norm_cfg: dict = dict(type='BN'),
                 ignore_index: int = 255, loss_weight: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if not in_channels or channels < 1 or num_classes < 2:
            raise ValueError(f'need in_channels (one per level), channels >= 1 and num_classes >= 2 (background '
                             f'included), got {in_channels!r}, {channels!r}, {num_classes!r}')
        self.in_channels, self.channels, self.num_classes = tuple(in_channels), channels, num_classes
        self.ignore_index, self.loss_weight = ignore_index, loss_weight
        self.laterals = nn.ModuleList(ConvModule(c, channels, 1, norm_cfg=norm_cfg) for c in self.in_channels)
        self.fuse = nn.ModuleList(ConvModule(channels, channels, 3, padding=1, norm_cfg=norm_cfg)
                                  for _ in self.in_channels[:-1])
        self.plugin_names = []
        for i, cfg in enumerate(plugins or []):
            name, layer = build_plugin_layer(cfg, postfix=i, in_channels=channels)
            self.add_module(name, layer)
            self.plugin_names.append(name)
        self.conv_seg = nn.Conv2d(channels, num_classes, 1)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        if len(feats) != len(self.in_channels):
            raise ValueError(f'FPNSegHead expects {len(self.in_channels)} feature levels, got {len(feats)}')
        y = self.laterals[-1](feats[-1])
        for i in range(len(feats) - 2, -1, -1):
            y = F.interpolate(y, size=feats[i].shape[-2:], mode='bilinear', align_corners=False)
            y = self.fuse[i](y + self.laterals[i](feats[i]))
        for name in self.plugin_names:
            y = getattr(self, name)(y)
        return self.conv_seg(y)

    @staticmethod
    def _resize(logits: torch.Tensor, size) -> torch.Tensor:
        if tuple(logits.shape[-2:]) == tuple(size):
            return logits
        return F.interpolate(logits, size=size, mode='bilinear', align_corners=False)

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples) -> dict:
        target = torch.stack([s.gt_sem_seg for s in data_samples]).to(feats[0].device)
        logits = self._resize(self(feats), target.shape[-2:])
        loss = F.cross_entropy(logits, target, ignore_index=self.ignore_index)
        return dict(loss_ce=self.loss_weight * loss)

    def predict(self, feats: Tuple[torch.Tensor, ...], data_samples) -> list:
        """Adds ``pred_sem_seg`` (H, W), the per-pixel argmax class, to every data sample."""
        logits = self(feats)
        for i, sample in enumerate(data_samples):
            size = sample.gt_sem_seg.shape[-2:] if 'gt_sem_seg' in sample else logits.shape[-2:]
            pred = self._resize(logits[i:i + 1], size)[0].argmax(dim=0)
            sample.set_field(pred, 'pred_sem_seg', dtype=torch.Tensor)
        return data_samples
