"""2D recognizer: a per-frame 2D backbone, spatial pooling, a segment head with temporal consensus.

Temporal Segment Networks (Wang et al., arXiv:1608.00859, https://github.com/yjxiong/temporal-segment-networks)
and TSM (Lin et al., arXiv:1811.08383, https://github.com/mit-han-lab/temporal-shift-module): clips (N, T, C,
H, W) are folded to frames (N*T, C, H, W), encoded by a 2D backbone (with temporal shifts for TSM), pooled per
frame and unfolded to (N, T, C') for the head's consensus over T. Without temporal shifts every frame is
encoded alone and the average consensus makes the clip score invariant to the order of the frames.
"""
from typing import List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from tessera_core.structures import ClsDataSample
from tessera_video.registry import MODELS


@MODELS.register_module()
class Recognizer2D(BaseModel):
    """Video classifier with mmengine's ``loss`` / ``predict`` / ``tensor`` modes.

    Args:
        backbone (dict): 2D backbone, e.g. tessera-core's ``ResNet`` (TSN) or ``ResNetTSM``.
        cls_head (dict): e.g. ``dict(type='TSNHead', num_classes=4, in_channels=512)``.
        neck (dict, optional): Per-frame pooling to (N*T, C'); default ``GlobalAveragePooling``.
        data_preprocessor (dict, optional): Default ``VideoDataPreprocessor``.

    Shapes: inputs (N, T, C, H, W) -> scores (N, num_classes) in ``tensor`` mode.
    """

    def __init__(self, backbone: dict, cls_head: dict, neck: Optional[dict] = dict(type='GlobalAveragePooling'),
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='VideoDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.cls_head = MODELS.build(cls_head)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """inputs (N, T, C, H, W) -> tuple of per-frame features (N, T, C') (or (N, T, C', h, w) unpooled)."""
        if inputs.dim() != 5:
            raise ValueError(f'Recognizer2D expects (N, T, C, H, W) clips, got shape {tuple(inputs.shape)}')
        n, t = inputs.shape[:2]
        segments = getattr(self.backbone, 'num_segments', None)
        if segments is not None and segments != t:
            raise ValueError(f'clips have T={t} frames but the backbone shifts over num_segments={segments}')
        x = self.backbone(inputs.flatten(0, 1))
        if isinstance(x, torch.Tensor):
            x = (x,)
        if self.neck is not None:
            x = self.neck(x)
        return tuple(f.reshape(n, t, *f.shape[1:]) for f in x)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.cls_head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.cls_head.predict(self.extract_feat(inputs), data_samples)
        if mode == 'tensor':
            return self.cls_head(self.extract_feat(inputs))
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")
