"""Pack an image-caption item for captioners.

``img`` (H, W) or (H, W, C) uint8 -> ``inputs`` (C, H, W) uint8 tensor; ``caption`` (training target),
``gt_captions`` (references), ``length_level`` and the other ``meta_keys`` -> the metainfo of a
``ClsDataSample`` (tessera-core's sample, so core's ``ClsDataPreprocessor`` batches it).
"""
import numpy as np
import torch
from mmcv.transforms import BaseTransform
from tessera_core.structures import ClsDataSample

from tessera_multimodal.registry import TRANSFORMS

CAPTION_META_KEYS = ('sample_idx', 'img_shape', 'caption', 'gt_captions', 'length_level', 'image_id',
                     'image_idx')


@TRANSFORMS.register_module()
class PackCaptionInputs(BaseTransform):
    """Args:
        meta_keys (Sequence[str]): Keys copied into the metainfo when present (default :data:`CAPTION_META_KEYS`).
    """

    def __init__(self, meta_keys=CAPTION_META_KEYS):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'img' not in results:
            raise KeyError(f"PackCaptionInputs needs 'img'; the item has {sorted(results)}")
        img = np.ascontiguousarray(results['img'])
        if img.ndim == 2:
            img = img[..., None]
        inputs = torch.from_numpy(img).permute(2, 0, 1).contiguous()
        sample = ClsDataSample()
        meta = {k: results[k] for k in self.meta_keys if k in results}
        if 'gt_captions' not in meta and isinstance(results.get('caption'), str):
            meta['gt_captions'] = [results['caption']]
        sample.set_metainfo(meta)
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
