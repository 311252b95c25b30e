"""Several independently augmented views of one image, stacked along the channel axis.

Contrastive methods (SimCLR, MoCo) feed two views of every image; stacking them as channels keeps
tessera-core's ``PackClsInputs`` and ``ClsDataPreprocessor`` unchanged: a grey (H, W) image becomes
(H, W, num_views), packed as (num_views, H, W); a C-channel image gives (H, W, num_views * C), view
``v`` in channels ``v*C .. (v+1)*C - 1``. The model splits them back (``MoCoV2.split_views``).
"""
import copy
from typing import List, Sequence

import numpy as np
from mmcv.transforms import BaseTransform, Compose

from tessera_compression.registry import TRANSFORMS

__all__ = ['MultiView']


@TRANSFORMS.register_module()
class MultiView(BaseTransform):
    """Args:
        transforms (list[dict]): The augmentation pipeline applied to each view (built in this
            package's scope, so this package's and tessera-core's transforms resolve unprefixed).
        num_views (int): Number of views (2 for MoCo / SimCLR).

    Required keys: ``img`` uint8 (H, W) or (H, W, C). Modified keys: ``img`` (H', W', num_views * C),
    ``img_shape``. Every view must come out of the pipeline with the same shape.
    """

    def __init__(self, transforms: Sequence[dict], num_views: int = 2):
        if num_views < 1:
            raise ValueError(f'num_views must be >= 1, got {num_views}')
        cfgs = []
        for t in transforms:
            t = dict(t)
            t.setdefault('_scope_', 'tessera_compression')
            cfgs.append(t)
        self.pipeline = Compose([TRANSFORMS.build(t) for t in cfgs])
        self.num_views = num_views

    def transform(self, results: dict) -> dict:
        views: List[np.ndarray] = []
        for _ in range(self.num_views):
            out = self.pipeline(copy.copy(results))
            img = out['img']
            views.append(img[..., None] if img.ndim == 2 else img)
        shapes = {v.shape for v in views}
        if len(shapes) != 1:
            raise ValueError(f'MultiView: the views differ in shape {sorted(shapes)}; end the pipeline with a '
                             f'fixed-size crop')
        results['img'] = np.ascontiguousarray(np.concatenate(views, axis=2))
        results['img_shape'] = results['img'].shape[:2]
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(num_views={self.num_views}, pipeline={self.pipeline})'
