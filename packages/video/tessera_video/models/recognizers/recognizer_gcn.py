"""Skeleton recognizer: a skeleton backbone on every clip of a video, a clip head, clip scores averaged per video.

As mmaction2 1.x's ``RecognizerGCN`` (``mmaction/models/recognizers/recognizer_gcn.py``,
https://github.com/open-mmlab/mmaction2), whatever the backbone (here ``HCN``): inputs (N, num_clips, M, T, V, C),
one row per video (M persons, T frames, V joints, C coordinates), are folded to (N * num_clips, M, T, V, C); the
backbone encodes each clip, the head scores it; ``predict`` averages the clips of a video. The batching, modes and
clip averaging are :class:`Recognizer3D`'s; only the input layout differs.
"""
from typing import Optional, Tuple

import torch

from tessera_video.models.recognizers.recognizer3d import Recognizer3D
from tessera_video.registry import MODELS


@MODELS.register_module()
class RecognizerGCN(Recognizer3D):
    """Skeleton action classifier with mmengine's ``loss`` / ``predict`` / ``tensor`` modes.

    Args:
        backbone (dict): Skeleton backbone on (N', M, T, V, C), e.g. ``dict(type='HCN')``.
        cls_head (dict): e.g. ``dict(type='I3DHead', num_classes=60, in_channels=256, dropout=0)``.
        neck (dict, optional): Applied to the backbone's feature tuple.
        data_preprocessor (dict, optional): Default ``SkeletonDataPreprocessor``.

    Shapes: inputs (N, num_clips, M, T, V, C) (or (N, M, T, V, C): one clip each) -> ``tensor`` mode (N, num_clips,
    num_classes) logits per clip; ``predict`` one :class:`ClsDataSample` per video.
    """

    def __init__(self, backbone: dict, cls_head: dict, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='SkeletonDataPreprocessor')
        super().__init__(backbone=backbone, cls_head=cls_head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)

    @staticmethod
    def fold_clips(inputs: torch.Tensor) -> Tuple[torch.Tensor, int]:
        """(N, num_clips, M, T, V, C) -> ((N * num_clips, M, T, V, C), num_clips); 5-D inputs are one clip each."""
        if inputs.dim() == 5:
            return inputs, 1
        if inputs.dim() != 6:
            raise ValueError(f'RecognizerGCN expects skeletons (N, num_clips, M, T, V, C) or (N, M, T, V, C), got '
                             f'shape {tuple(inputs.shape)}')
        return inputs.flatten(0, 1), inputs.size(1)
