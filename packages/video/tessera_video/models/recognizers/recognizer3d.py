"""3D recognizer: a spatiotemporal backbone on every clip, a clip head, clip scores averaged per video.

As mmaction2 1.x's ``Recognizer3D`` (``mmaction/models/recognizers/recognizer3d.py``,
https://github.com/open-mmlab/mmaction2): inputs (N, num_clips, C, T, H, W), one row per video, are folded to
(N * num_clips, C, T, H, W) clips; the backbone (e.g. ``ResNet3d``) and an optional neck encode each clip, the
head (e.g. ``I3DHead``) scores it. ``num_clips`` counts every view of a video: temporal clips of
``SampleFrames(num_clips=...)`` times spatial crops. Training treats each clip as a sample with its video's
label; ``predict`` (the test mode) averages the clips of a video (multi-view test).
"""
from typing import List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from tessera_core.structures import ClsDataSample
from tessera_video.registry import MODELS


@MODELS.register_module()
class Recognizer3D(BaseModel):
    """Video classifier with mmengine's ``loss`` / ``predict`` / ``tensor`` modes.

    Args:
        backbone (dict): 3D backbone on (N', C, T, H, W), e.g. ``dict(type='ResNet3d', variant='c3d')``.
        cls_head (dict): e.g. ``dict(type='I3DHead', num_classes=8, in_channels=512)``.
        neck (dict, optional): Applied to the backbone's feature tuple.
        data_preprocessor (dict, optional): Default ``ActionDataPreprocessor`` (format ``'NCTHW'``).

    Shapes: inputs (N, num_clips, C, T, H, W) (or (N, C, T, H, W): one clip each) -> ``tensor`` mode (N,
    num_clips, num_classes) logits per clip; ``predict`` one :class:`ClsDataSample` per video.
    """

    def __init__(self, backbone: dict, cls_head: dict, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ActionDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.cls_head = MODELS.build(cls_head)

    @staticmethod
    def fold_clips(inputs: torch.Tensor) -> Tuple[torch.Tensor, int]:
        """(N, num_clips, C, T, H, W) -> ((N * num_clips, C, T, H, W), num_clips); 5-D inputs are one clip each."""
        if inputs.dim() == 5:
            return inputs, 1
        if inputs.dim() != 6:
            raise ValueError(f'Recognizer3D expects (N, num_clips, C, T, H, W) or (N, C, T, H, W) inputs, got '
                             f'shape {tuple(inputs.shape)}')
        return inputs.flatten(0, 1), inputs.size(1)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """inputs (N, num_clips, C, T, H, W) -> backbone (+ neck) features of the N * num_clips clips."""
        clips, _ = self.fold_clips(inputs)
        x = self.backbone(clips)
        if isinstance(x, torch.Tensor):
            x = (x,)
        if self.neck is not None:
            x = self.neck(x)
        return x

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.cls_head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            _, num_clips = self.fold_clips(inputs)
            return self.cls_head.predict(self.extract_feat(inputs), data_samples, num_clips=num_clips)
        if mode == 'tensor':
            _, num_clips = self.fold_clips(inputs)
            scores = self.cls_head(self.extract_feat(inputs))
            return scores.view(-1, num_clips, scores.size(-1))
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")
