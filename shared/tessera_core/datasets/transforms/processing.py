"""Image augmentations not provided by mmcv."""
import numpy as np
from mmcv.transforms import BaseTransform

from tessera_core.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomShiftCrop(BaseTransform):
    """Zero-pad ``img`` by ``padding`` pixels on each side and crop back to the
    original size at a random offset (the CIFAR/MNIST "pad and crop").

    Required keys: ``img`` (H, W) or (H, W, C). Modified keys: ``img``.
    """

    def __init__(self, padding: int = 2, pad_value: int = 0):
        if padding < 0:
            raise ValueError(f'padding must be >= 0, got {padding}')
        self.padding = padding
        self.pad_value = pad_value

    def transform(self, results: dict) -> dict:
        img = results['img']
        p = self.padding
        if p == 0:
            return results
        h, w = img.shape[:2]
        pad = ((p, p), (p, p)) + ((0, 0),) * (img.ndim - 2)
        padded = np.pad(img, pad, constant_values=self.pad_value)
        top, left = np.random.randint(0, 2 * p + 1, size=2)
        results['img'] = padded[top:top + h, left:left + w]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(padding={self.padding})'
