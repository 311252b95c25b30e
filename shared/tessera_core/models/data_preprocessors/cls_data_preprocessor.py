"""Batching and normalisation of classification inputs."""
from mmengine.model import ImgDataPreprocessor

from tessera_core.registry import MODELS


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """mmengine's ``ImgDataPreprocessor`` (stack, cast to float, ``(x - mean) / std``,
    optional BGR->RGB) with defaults for grey images in [0, 255]: ``mean=[127.5]``,
    ``std=[127.5]``. ``num_channels`` repeats a grey input to that many channels
    so an RGB backbone can run on grey data.
    """

    def __init__(self, mean=(127.5,), std=(127.5,), num_channels=None, **kwargs):
        super().__init__(mean=mean, std=std, **kwargs)
        self.num_channels = num_channels

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs = data['inputs']
        if self.num_channels is not None and inputs.size(1) != self.num_channels:
            if inputs.size(1) != 1:
                raise ValueError(f'cannot expand {inputs.size(1)}-channel inputs to {self.num_channels}')
            data['inputs'] = inputs.expand(-1, self.num_channels, -1, -1).contiguous()
        return data
