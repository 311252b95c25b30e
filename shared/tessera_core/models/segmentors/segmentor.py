"""Encoder-decoder segmentor: backbone (multi-level features) -> decode head -> class per pixel."""
from typing import List, Optional, Union

import torch
from mmengine.model import BaseModel

from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample


@MODELS.register_module()
class Segmentor(BaseModel):
    """Backbone + decode head (e.g. :class:`FPNSegHead`) with mmengine's three forward modes:
    ``loss`` (dict of losses against each sample's ``gt_sem_seg``), ``predict`` (data samples with
    ``pred_sem_seg``), ``tensor`` (logits (N, num_classes, H', W')).

    Args:
        backbone (dict): Returns a tuple of feature levels, finest first (e.g. core's ``ResNet``
            with ``out_indices=(0, 1, 2, 3)``).
        head (dict): Decode head config with ``loss`` and ``predict``.
        data_preprocessor (dict, optional): Defaults to ``ClsDataPreprocessor``.
    """
    registry = MODELS

    def __init__(self, backbone: dict, head: dict, data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = self.registry.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = self.registry.build(backbone)
        self.head = self.registry.build(head)

    def extract_feat(self, inputs: torch.Tensor):
        """inputs (N, C, H, W) -> tuple of feature levels."""
        x = self.backbone(inputs)
        return (x,) if isinstance(x, torch.Tensor) else tuple(x)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            if data_samples is None:
                data_samples = [ClsDataSample() for _ in range(inputs.shape[0])]
            return self.head.predict(self.extract_feat(inputs), data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")
