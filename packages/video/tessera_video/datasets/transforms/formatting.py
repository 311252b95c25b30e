"""Packing of a clip into model inputs and a data sample."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from tessera_core.structures import ClsDataSample
from tessera_video.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackVideoInputs(BaseTransform):
    """Pack ``img`` (T, H, W) or (T, H, W, C) into ``inputs`` (T, C, H, W) and ``gt_label`` plus
    ``meta_keys`` into a :class:`ClsDataSample`.

    Required keys: ``img``; optional ``gt_label``. Added keys: ``inputs``, ``data_samples``.
    """

    def __init__(self, meta_keys=('sample_idx', 'img_shape', 'num_frames')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        clip = np.ascontiguousarray(results['img'])
        if clip.ndim == 3:
            clip = clip[..., None]
        if clip.ndim != 4:
            raise ValueError(f'PackVideoInputs expects a (T, H, W) or (T, H, W, C) clip, got shape {clip.shape}')
        inputs = torch.from_numpy(clip).permute(0, 3, 1, 2).contiguous()
        sample = ClsDataSample()
        if 'gt_label' in results:
            sample.set_gt_label(results['gt_label'])
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
