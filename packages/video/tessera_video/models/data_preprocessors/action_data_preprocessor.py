"""Batching and normalisation of clips in mmaction2's ``'NCTHW'`` layout."""
from typing import Optional, Sequence

import torch
from mmengine.model import BaseDataPreprocessor

from tessera_video.registry import MODELS

FORMAT_SHAPES = ('NCTHW',)


@MODELS.register_module()
class ActionDataPreprocessor(BaseDataPreprocessor):
    """Stack per-video inputs (num_clips, C, T, H, W) (from ``FormatShape('NCTHW')``) into (N, num_clips, C, T, H,
    W), cast to float and compute ``(x - mean) / std`` per channel (mmaction2's ``ActionDataPreprocessor``).

    Args:
        mean (Sequence[float]): Per-channel mean (default 127.5 for grey clips in [0, 255]).
        std (Sequence[float]): Per-channel std.
        format_shape (str): ``'NCTHW'``.
        num_channels (int, optional): Repeat grey clips to this many channels.
    """

    def __init__(self, mean: Sequence[float] = (127.5,), std: Sequence[float] = (127.5,),
                 format_shape: str = 'NCTHW', num_channels: Optional[int] = None):
        super().__init__()
        if format_shape not in FORMAT_SHAPES:
            raise ValueError(f'invalid format_shape {format_shape!r}; valid: {FORMAT_SHAPES}')
        if len(mean) != len(std):
            raise ValueError(f'mean {tuple(mean)} and std {tuple(std)} differ in length')
        if any(s <= 0 for s in std):
            raise ValueError(f'std must be positive, got {tuple(std)}')
        self.format_shape, self.num_channels = format_shape, num_channels
        self.register_buffer('mean', torch.tensor(mean, dtype=torch.float32).view(1, 1, -1, 1, 1, 1), False)
        self.register_buffer('std', torch.tensor(std, dtype=torch.float32).view(1, 1, -1, 1, 1, 1), False)

    def forward(self, data: dict, training: bool = False) -> dict:
        data = self.cast_data(data)
        inputs = data['inputs']
        if isinstance(inputs, (list, tuple)):
            shapes = {tuple(x.shape) for x in inputs}
            if len(shapes) != 1:
                raise ValueError(f'inputs of one batch must share their (num_clips, C, T, H, W) shape, got '
                                 f'{sorted(shapes)}')
            inputs = torch.stack(list(inputs))
        if inputs.dim() != 6:
            raise ValueError(f'expected inputs (N, num_clips, C, T, H, W), got shape {tuple(inputs.shape)}')
        channels = self.mean.size(2)
        if inputs.size(2) != channels:
            raise ValueError(f'clips have {inputs.size(2)} channels but mean/std have {channels}')
        inputs = (inputs.float() - self.mean) / self.std
        if self.num_channels is not None and inputs.size(2) != self.num_channels:
            if inputs.size(2) != 1:
                raise ValueError(f'cannot expand {inputs.size(2)}-channel clips to {self.num_channels}')
            inputs = inputs.expand(-1, -1, self.num_channels, -1, -1, -1).contiguous()
        return dict(inputs=inputs, data_samples=data.get('data_samples'))
