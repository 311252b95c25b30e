"""Packing of a transformed sample into model inputs and a data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from tessera_core.registry import TRANSFORMS
from tessera_core.structures import ClsDataSample


@TRANSFORMS.register_module()
class PackClsInputs(BaseTransform):
    """Pack ``img`` (H, W) or (H, W, C) uint8 into ``inputs`` (C, H, W) and
    ``gt_label`` plus ``meta_keys`` into a :class:`ClsDataSample`."""

    def __init__(self, meta_keys=('sample_idx', 'img_shape')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        img = np.ascontiguousarray(results['img'])
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        sample = ClsDataSample()
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
