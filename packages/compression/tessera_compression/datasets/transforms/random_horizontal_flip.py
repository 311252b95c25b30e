"""Random horizontal flip (the flip of SimCLR's and MoCo's augmentations)."""
import numpy as np
from mmcv.transforms import BaseTransform

from tessera_compression.registry import TRANSFORMS

__all__ = ['RandomHorizontalFlip']


@TRANSFORMS.register_module()
class RandomHorizontalFlip(BaseTransform):
    """Mirror ``img`` left-right with probability ``prob``.

    Required keys: ``img`` (H, W) or (H, W, C). Modified keys: ``img``.
    """

    def __init__(self, prob: float = 0.5):
        if not 0 <= prob <= 1:
            raise ValueError(f'prob must lie in [0, 1], got {prob}')
        self.prob = prob

    def transform(self, results: dict) -> dict:
        if np.random.rand() < self.prob:
            results['img'] = np.ascontiguousarray(results['img'][:, ::-1])
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(prob={self.prob})'
