"""Batching of skeleton clips in mmaction2's pose layout (M persons, T frames, V joints, C coordinates)."""
import torch
from mmengine.model import BaseDataPreprocessor

from tessera_video.registry import MODELS


@MODELS.register_module()
class SkeletonDataPreprocessor(BaseDataPreprocessor):
    """Stack per-video skeletons (M, T, V, C) (as ``PackActionInputs`` packs ``keypoint``) or (num_clips, M, T, V,
    C) into a float batch (N, M, T, V, C) / (N, num_clips, M, T, V, C). Coordinates are not rescaled (normalise in
    the pipeline, e.g. ``PoseCentralize``), as mmaction2's skeleton configs."""

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(f'skeletons of one batch must share their (M, T, V, C) shape, got {sorted(shapes)} '
                                 f'(resize them to one clip_len with PoseResize, pad persons to one M)')
            inputs = torch.stack(list(inputs))
        if inputs.dim() not in (5, 6):
            raise ValueError(f'expected skeletons (N, M, T, V, C) or (N, num_clips, M, T, V, C), got shape '
                             f'{tuple(inputs.shape)}')
        return dict(inputs=inputs.float(), data_samples=data.get('data_samples'))
