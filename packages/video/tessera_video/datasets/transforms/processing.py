"""Spatial transforms of a list of frames (``results['imgs']``), mmaction2-style: every frame of every clip
gets the same resize / crop. Required keys: ``imgs``, ``img_shape``; updated: ``imgs``, ``img_shape``,
``crop_bbox`` for crops."""
from typing import Sequence, Tuple, Union

import mmcv
import numpy as np
from mmcv.transforms import BaseTransform

from tessera_video.registry import TRANSFORMS


def _pair(size: Union[int, Sequence[int]], name: str) -> Tuple[int, int]:
    """``int`` or ``(w, h)`` -> ``(w, h)``."""
    w, h = (size, size) if isinstance(size, int) else tuple(size)
    if w <= 0 or h <= 0:
        raise ValueError(f'{name} must be positive, got {size!r}')
    return int(w), int(h)


@TRANSFORMS.register_module()
class Resize(BaseTransform):
    """Resize every frame.

    Args:
        scale (int | tuple): ``keep_ratio=True``: ``(long_max, short_max)``, -1 for unbounded (``(-1, 256)``:
            short side 256, mmaction2's usual test resize), an int for the short side; ``keep_ratio=False``:
            the exact ``(w, h)``.
        keep_ratio (bool): Keep the aspect ratio.
        interpolation (str): mmcv interpolation (``'bilinear'``).
    """

    def __init__(self, scale, keep_ratio: bool = True, interpolation: str = 'bilinear'):
        if isinstance(scale, int):
            scale = (-1, scale) if keep_ratio else (scale, scale)
        scale = tuple(scale)
        if len(scale) != 2 or (not keep_ratio and min(scale) <= 0):
            raise ValueError(f'invalid scale {scale!r}: a (w, h) pair (keep_ratio: (long_max, short_max), -1 = any)')
        self.scale = tuple(np.inf if s == -1 else s for s in scale) if keep_ratio else scale
        self.keep_ratio, self.interpolation = keep_ratio, interpolation

    def transform(self, results: dict) -> dict:
        h, w = results['img_shape']
        if self.keep_ratio:
            new_w, new_h = mmcv.rescale_size((w, h), self.scale)
        else:
            new_w, new_h = self.scale
        results['imgs'] = [mmcv.imresize(img, (new_w, new_h), interpolation=self.interpolation)
                           for img in results['imgs']]
        results['img_shape'] = (new_h, new_w)
        results['scale_factor'] = (new_w / w, new_h / h)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(scale={self.scale}, keep_ratio={self.keep_ratio})'


def _crop(results: dict, x: int, y: int, w: int, h: int) -> dict:
    results['imgs'] = [np.ascontiguousarray(img[y:y + h, x:x + w]) for img in results['imgs']]
    results['img_shape'] = (h, w)
    results['crop_bbox'] = np.array([x, y, x + w, y + h])
    return results


@TRANSFORMS.register_module()
class CenterCrop(BaseTransform):
    """Crop the centre ``crop_size`` (int or (w, h)); frames smaller than the crop are refused."""

    def __init__(self, crop_size):
        self.crop_size = _pair(crop_size, 'crop_size')

    def transform(self, results: dict) -> dict:
        h, w = results['img_shape']
        cw, ch = self.crop_size
        if cw > w or ch > h:
            raise ValueError(f'CenterCrop {cw}x{ch} is larger than the {w}x{h} frames; resize first')
        return _crop(results, (w - cw) // 2, (h - ch) // 2, cw, ch)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(crop_size={self.crop_size})'


@TRANSFORMS.register_module()
class RandomCrop(BaseTransform):
    """Crop ``size`` (int or (w, h)) at a uniform position, the same for every frame (numpy's global RNG)."""

    def __init__(self, size):
        self.size = _pair(size, 'size')

    def transform(self, results: dict) -> dict:
        h, w = results['img_shape']
        cw, ch = self.size
        if cw > w or ch > h:
            raise ValueError(f'RandomCrop {cw}x{ch} is larger than the {w}x{h} frames; resize first')
        return _crop(results, np.random.randint(w - cw + 1), np.random.randint(h - ch + 1), cw, ch)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(size={self.size})'
