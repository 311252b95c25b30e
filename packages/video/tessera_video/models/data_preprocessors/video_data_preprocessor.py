"""Batching and normalisation of video clips."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from tessera_video.registry import MODELS


@MODELS.register_module()
class VideoDataPreprocessor(BaseDataPreprocessor):
    """Stack clips (T, C, H, W) into (N, T, C, H, W), cast to float and compute ``(x - mean) / std`` per channel.

    Args:
        mean (Sequence[float]): Per-channel mean (default 127.5 for grey clips in [0, 255]).
        std (Sequence[float]): Per-channel std.
        num_channels (int, optional): Repeat grey clips to this many channels (for an RGB backbone).
    """

    def __init__(self, mean: Sequence[float] = (127.5,), std: Sequence[float] = (127.5,),
                 num_channels: Optional[int] = None):
        super().__init__()
        if len(mean) != len(std):
            raise ValueError(f'mean {tuple(mean)} and std {tuple(std)} differ in length')
        if any(s <= 0 for s in std):
            raise ValueError(f'std must be positive, got {tuple(std)}')
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 1, -1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 1, -1, 1, 1), False)
        self.num_channels = num_channels

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(f'clips of one batch must share their (T, C, H, W) shape, got {sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 5:
            raise ValueError(f'expected clips (N, T, C, H, W), got shape {tuple(inputs.shape)}')
        channels = self.mean.size(2)
        if inputs.size(2) != channels:
            raise ValueError(f'clips have {inputs.size(2)} channels but mean/std have {channels}')
        inputs = (inputs.float() - self.mean) / self.std
        if self.num_channels is not None and inputs.size(2) != self.num_channels:
            if inputs.size(2) != 1:
                raise ValueError(f'cannot expand {inputs.size(2)}-channel clips to {self.num_channels}')
            inputs = inputs.expand(-1, -1, self.num_channels, -1, -1).contiguous()
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
