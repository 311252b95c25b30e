"""Random Gaussian blur, SimCLR-style (A Simple Framework for Contrastive Learning of Visual
Representations, Chen et al., arXiv:2002.05709, appendix A: probability 0.5, sigma ~ U(0.1, 2.0),
kernel 10 % of the image side; MoCo v2 uses the same sigma range)."""
from typing import Optional, Sequence

import cv2
import numpy as np
from mmcv.transforms import BaseTransform

from tessera_compression.registry import TRANSFORMS

__all__ = ['RandomGaussianBlur']


@TRANSFORMS.register_module()
class RandomGaussianBlur(BaseTransform):
    """Args:
        sigma (tuple): Range of the standard deviation (pixels).
        prob (float): Probability of blurring.
        kernel_size (int, optional): Odd kernel side; None: the odd number nearest 10 % of the
            shorter image side, at least 3 (3 for 28-32 px).

    Required keys: ``img`` (H, W) or (H, W, C) uint8. Modified keys: ``img``.
    """

    def __init__(self, sigma: Sequence[float] = (0.1, 2.0), prob: float = 0.5, kernel_size: Optional[int] = None):
        if not 0 < sigma[0] <= sigma[1] or not 0 <= prob <= 1:
            raise ValueError(f'need 0 < sigma[0] <= sigma[1] and prob in [0, 1], got {sigma}, {prob}')
        if kernel_size is not None and (kernel_size < 1 or kernel_size % 2 == 0):
            raise ValueError(f'kernel_size must be a positive odd number, got {kernel_size}')
        self.sigma, self.prob, self.kernel_size = tuple(sigma), prob, kernel_size

    def kernel_for(self, img: np.ndarray) -> int:
        if self.kernel_size is not None:
            return self.kernel_size
        k = int(round(0.1 * min(img.shape[:2])))
        return max(3, k + 1 - k % 2)

    def transform(self, results: dict) -> dict:
        if np.random.rand() >= self.prob:
            return results
        img = results['img']
        k = self.kernel_for(img)
        sigma = float(np.random.uniform(*self.sigma))
        out = cv2.GaussianBlur(np.ascontiguousarray(img), (k, k), sigmaX=sigma, sigmaY=sigma,
                               borderType=cv2.BORDER_REFLECT_101)
        if img.ndim == 3 and out.ndim == 2:
            out = out[..., None]
        results['img'] = out
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(sigma={self.sigma}, prob={self.prob}, kernel_size={self.kernel_size})'
