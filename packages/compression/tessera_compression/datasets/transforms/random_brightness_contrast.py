"""Brightness / contrast jitter for grey images (the colour jitter of SimCLR and MoCo v2 without hue
and saturation, which a grey image lacks).

Semantics of torchvision's ``ColorJitter`` (which MoCo v2 applies with probability 0.8 and strength
0.4): a brightness factor ``b ~ U(1 - brightness, 1 + brightness)`` scales the image, ``x <- b x``; a
contrast factor ``c ~ U(1 - contrast, 1 + contrast)`` blends with the image's mean grey level,
``x <- c x + (1 - c) mean(x)``; the two are applied in random order and clipped to [0, 255].
"""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from tessera_compression.registry import TRANSFORMS

__all__ = ['RandomBrightnessContrast']


@TRANSFORMS.register_module()
class RandomBrightnessContrast(BaseTransform):
    """Args:
        brightness (float): Strength, factor drawn from ``[max(0, 1 - b), 1 + b]``.
        contrast (float): Strength, factor drawn from ``[max(0, 1 - c), 1 + c]``.
        prob (float): Probability of jittering at all (MoCo v2: 0.8).

    Required keys: ``img`` uint8. Modified keys: ``img`` (uint8).
    """

    def __init__(self, brightness: float = 0.4, contrast: float = 0.4, prob: float = 0.8):
        if brightness < 0 or contrast < 0 or not 0 <= prob <= 1:
            raise ValueError(f'need brightness, contrast >= 0 and prob in [0, 1], got {brightness}, {contrast}, {prob}')
        self.brightness, self.contrast, self.prob = brightness, contrast, prob

    @staticmethod
    def _factor(strength: float) -> float:
        return float(np.random.uniform(max(0.0, 1 - strength), 1 + strength))

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        x = results['img'].astype(np.float32)
        ops = [('brightness', self._factor(self.brightness)), ('contrast', self._factor(self.contrast))]
        if np.random.rand() < 0.5:
            ops.reverse()
        for name, f in ops:
            x = np.clip(x * f if name == 'brightness' else f * x + (1 - f) * x.mean(), 0, 255)
        results['img'] = np.round(x).astype(np.uint8)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(brightness={self.brightness}, contrast={self.contrast}, prob={self.prob})'
