"""Batching of uint8 images into [0, 1] targets for a Bernoulli-decoder VAE."""
from typing import Union

import torch
from mmengine.model import ImgDataPreprocessor

from tessera_generative.registry import MODELS


@MODELS.register_module()
class VAEDataPreprocessor(ImgDataPreprocessor):
    """Stack uint8 images (C, H, W) into a float batch (N, C, H, W) in [0, 1].

    The scaled intensities are both the encoder input and the Bernoulli
    decoder's targets (grey levels are read as pixel-on probabilities, as in
    the paper's MNIST experiments). Inputs that are not uint8 are refused:
    dividing already-scaled floats by 255 would silently destroy the data.
    """

    def __init__(self, non_blocking: bool = False):
        super().__init__(mean=(0.0,), std=(255.0,), non_blocking=non_blocking)

    def forward(self, data: dict, training: bool = False) -> Union[dict, list]:
        inputs = data['inputs']
        tensors = inputs if isinstance(inputs, (list, tuple)) else [inputs]
        for t in tensors:
            if not isinstance(t, torch.Tensor) or t.dtype != torch.uint8:
                kind = t.dtype if isinstance(t, torch.Tensor) else type(t).__name__
                raise TypeError(f'VAEDataPreprocessor expects uint8 image tensors in [0, 255], got {kind}')
        return super().forward(data, training)
