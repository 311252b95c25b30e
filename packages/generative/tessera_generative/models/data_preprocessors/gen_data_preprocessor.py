"""Batching of images for GANs, in mmagic's ``DataPreprocessor`` convention."""
from typing import Optional, Sequence, Union

import torch
from mmengine.model import ImgDataPreprocessor

from tessera_generative.registry import MODELS


@MODELS.register_module()
class GenDataPreprocessor(ImgDataPreprocessor):
    """Stack images (C, H, W) in [0, 255] into ``inputs=dict(img=(N, C, H, W))`` in [-1, 1].

    The output follows mmagic 1.x: ``inputs`` is a dict, so that a GAN's forward can
    also receive ``noise``, ``num_batches`` or ``sample_model`` instead of (or besides)
    images. A batch whose ``inputs`` already is such a dict passes through, its
    ``img`` (if any) normalised and ``noise`` moved to the model's device.

    :meth:`destruct` is the inverse of the normalisation: generator outputs in
    [-1, 1] -> [0, 255] (clamped), the range every metric and hook here reads.

    Args:
        mean, std (sequence of float): Per-channel ``(x - mean) / std``; the defaults map
            [0, 255] to [-1, 1], the range of a tanh generator.
    """

    def __init__(self, mean: Sequence[float] = (127.5,), std: Sequence[float] = (127.5,),
                 non_blocking: bool = False):
        super().__init__(mean=mean, std=std, non_blocking=non_blocking)

    def _normalise(self, img: Union[torch.Tensor, Sequence[torch.Tensor]]) -> torch.Tensor:
        if isinstance(img, (list, tuple)):
            img = torch.stack(list(img))
        img = img.to(self.device).float()
        if img.dim() != 4:
            raise ValueError(f'GenDataPreprocessor expects images (N, C, H, W), got {tuple(img.shape)}')
        return (img - self.mean) / self.std

    def forward(self, data: dict, training: bool = False) -> dict:
        inputs = data['inputs']
        data_samples = data.get('data_samples', None)
        if isinstance(inputs, dict):
            out = dict(inputs)
            if 'img' in out:
                out['img'] = self._normalise(out['img'])
            if isinstance(out.get('noise'), torch.Tensor):
                out['noise'] = out['noise'].to(self.device)
        else:
            out = dict(img=self._normalise(inputs))
        return dict(inputs=out, data_samples=data_samples)

    def destruct(self, outputs: torch.Tensor, data_samples: Optional[list] = None) -> torch.Tensor:
        """(N, C, H, W) in the normalised range -> [0, 255] float, clamped."""
        return (outputs * self.std + self.mean).clamp(0, 255)
