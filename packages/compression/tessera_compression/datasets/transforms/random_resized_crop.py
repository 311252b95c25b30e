"""Random resized crop (Inception-style scale augmentation), for uint8 arrays.

Going Deeper with Convolutions, Szegedy et al., arXiv:1409.4842 (the crop of 8-100 % of the area and
3/4-4/3 aspect ratio); the sampling below is torchvision's ``RandomResizedCrop.get_params``, which
MoCo v2 and SimCLR use (``scale=(0.2, 1.0)`` in MoCo v2, ``(0.08, 1.0)`` in SimCLR).
"""
import math
from typing import Sequence, Tuple, Union

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from tessera_compression.registry import TRANSFORMS

__all__ = ['RandomResizedCrop', 'sample_crop']

INTERPOLATIONS = {'nearest': cv2.INTER_NEAREST, 'bilinear': cv2.INTER_LINEAR, 'bicubic': cv2.INTER_CUBIC,
                  'area': cv2.INTER_AREA}


def sample_crop(height: int, width: int, scale: Sequence[float], ratio: Sequence[float],
                rng=np.random) -> Tuple[int, int, int, int]:
    """``(top, left, h, w)``: up to 10 draws of area ``U(scale) * H * W`` and log-uniform aspect
    ``w / h`` in ``ratio``; if none fits, the largest centred crop with the aspect clamped to ``ratio``."""
    area = height * width
    log_ratio = (math.log(ratio[0]), math.log(ratio[1]))
    for _ in range(10):
        target = area * rng.uniform(scale[0], scale[1])
        aspect = math.exp(rng.uniform(*log_ratio))
        w = int(round(math.sqrt(target * aspect)))
        h = int(round(math.sqrt(target / aspect)))
        if 0 < w <= width and 0 < h <= height:
            return int(rng.randint(0, height - h + 1)), int(rng.randint(0, width - w + 1)), h, w
    in_ratio = width / height
    if in_ratio < min(ratio):
        w, h = width, int(round(width / min(ratio)))
    elif in_ratio > max(ratio):
        h, w = height, int(round(height * max(ratio)))
    else:
        w, h = width, height
    return (height - h) // 2, (width - w) // 2, h, w


@TRANSFORMS.register_module()
class RandomResizedCrop(BaseTransform):
    """Crop a random area / aspect of ``img`` and resize it to ``size``.

    Args:
        size (int | (int, int)): Output (h, w).
        scale (tuple): Range of the crop's fraction of the image area.
        ratio (tuple): Range of the crop's aspect ratio w / h.
        interpolation (str): One of ``nearest``, ``bilinear`` (default), ``bicubic``, ``area``.

    Required keys: ``img`` (H, W) or (H, W, C) uint8. Modified keys: ``img``, ``img_shape``.
    """

    def __init__(self, size: Union[int, Sequence[int]], scale: Sequence[float] = (0.08, 1.0),
                 ratio: Sequence[float] = (3 / 4, 4 / 3), interpolation: str = 'bilinear'):
        self.size = (size, size) if isinstance(size, int) else tuple(size)
        if not (0 < scale[0] <= scale[1] <= 1) or not (0 < ratio[0] <= ratio[1]):
            raise ValueError(f'need 0 < scale[0] <= scale[1] <= 1 and 0 < ratio[0] <= ratio[1], '
                             f'got scale={scale}, ratio={ratio}')
        if interpolation not in INTERPOLATIONS:
            raise ValueError(f'unknown interpolation {interpolation!r}; valid: {sorted(INTERPOLATIONS)}')
        self.scale, self.ratio, self.interpolation = tuple(scale), tuple(ratio), interpolation

    def transform(self, results: dict) -> dict:
        img = results['img']
        top, left, h, w = sample_crop(img.shape[0], img.shape[1], self.scale, self.ratio)
        crop = np.ascontiguousarray(img[top:top + h, left:left + w])
        out = cv2.resize(crop, (self.size[1], self.size[0]), interpolation=INTERPOLATIONS[self.interpolation])
        if img.ndim == 3 and out.ndim == 2:
            out = out[..., None]
        results['img'] = out
        results['img_shape'] = out.shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(size={self.size}, scale={self.scale}, ratio={self.ratio})'
