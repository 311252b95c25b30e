"""Random erasing.

Random Erasing Data Augmentation, Zhong et al., arXiv:1708.04896, official code
https://github.com/zhunzhong07/Random-Erasing; one of the tricks of the re-ID strong baseline (Luo et al.,
arXiv:1903.07071, ``data/transforms/transforms.py``, probability 0.5).

With probability ``prob`` a rectangle of area ``S_e ~ U(sl, sh) * H * W`` and aspect ratio
``r_e ~ U(r1, 1 / r1)`` (``h = round(sqrt(S_e * r_e))``, ``w = round(sqrt(S_e / r_e))``) is placed uniformly
where it fits and filled with ``value``; up to 100 draws are tried, after which the image is left unchanged.
The official code erases the normalised tensor with the dataset mean; here the transform acts on the uint8
image before packing, so ``value`` is given in pixel units (default: the per-channel mean of the
normalisation, which the data preprocessor maps to ~0).
"""
import math
from typing import Sequence, Union

import numpy as np
from mmcv.transforms import BaseTransform

from tessera_reid.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomErasing(BaseTransform):
    """Erase one random rectangle of ``img`` (H, W) or (H, W, C).

    Args:
        prob (float): Probability of erasing an image.
        sl (float): Minimum erased fraction of the image area.
        sh (float): Maximum erased fraction of the image area.
        r1 (float): Minimum aspect ratio (the maximum is ``1 / r1``).
        value (float | Sequence[float]): Fill value, one per channel or a scalar.
        max_attempts (int): Draws of a rectangle before giving up.

    Required keys: ``img``. Modified keys: ``img`` (a copy; the input array is not written to).
    """

    def __init__(self, prob: float = 0.5, sl: float = 0.02, sh: float = 0.4, r1: float = 0.3,
                 value: Union[float, Sequence[float]] = (123.675, 116.28, 103.53), max_attempts: int = 100):
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        if not 0 < sl <= sh < 1:
            raise ValueError(f'need 0 < sl <= sh < 1, got sl={sl}, sh={sh}')
        if not 0 < r1 <= 1:
            raise ValueError(f'r1 must lie in (0, 1], got {r1}')
        self.prob, self.sl, self.sh, self.r1 = prob, sl, sh, r1
        self.value = value
        self.max_attempts = max_attempts

    def _fill(self, img: np.ndarray) -> np.ndarray:
        value = np.asarray(self.value, dtype=np.float64).reshape(-1)
        if img.ndim == 2:
            return np.asarray(value[0] if value.size == 1 else value.mean())
        if value.size == 1:
            return np.full(img.shape[2], value[0])
        if value.size != img.shape[2]:
            raise ValueError(f'RandomErasing value has {value.size} entries for a {img.shape[2]}-channel image')
        return value

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        img = results['img']
        height, width = img.shape[:2]
        area = height * width
        for _ in range(self.max_attempts):
            target_area = np.random.uniform(self.sl, self.sh) * area
            aspect = np.random.uniform(self.r1, 1 / self.r1)
            h = int(round(math.sqrt(target_area * aspect)))
            w = int(round(math.sqrt(target_area / aspect)))
            if 0 < h < height and 0 < w < width:
                top = np.random.randint(0, height - h + 1)
                left = np.random.randint(0, width - w + 1)
                img = img.copy()
                img[top:top + h, left:left + w] = np.round(self._fill(img)).astype(img.dtype)
                results['img'] = img
                results['erased_box'] = (top, left, h, w)
                return results
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(prob={self.prob}, sl={self.sl}, sh={self.sh}, r1={self.r1}, '
                f'value={self.value})')
