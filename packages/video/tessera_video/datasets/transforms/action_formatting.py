"""mmaction2-style formatting: ``FormatShape`` lays frames out for the model, ``PackActionInputs`` packs
``inputs`` and a data sample (mmaction2 1.x ``mmaction/datasets/transforms/formatting.py``)."""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from tessera_core.structures import ClsDataSample
from tessera_video.registry import TRANSFORMS

INPUT_FORMATS = ('NCTHW', 'NCHW')


@TRANSFORMS.register_module()
class FormatShape(BaseTransform):
    """``imgs`` (num_clips * clip_len frames of (H, W[, C])) -> one array per sample.

    ``'NCTHW'`` (3D models): (num_clips, C, clip_len, H, W); ``'NCHW'`` (2D models): (num_clips * clip_len, C,
    H, W). Grey (H, W) frames get C = 1. Required keys: ``imgs``, ``num_clips``, ``clip_len``; added:
    ``input_shape``.
    """

    def __init__(self, input_format: str = 'NCTHW'):
        if input_format not in INPUT_FORMATS:
            raise ValueError(f'invalid input_format {input_format!r}; valid: {INPUT_FORMATS}')
        self.input_format = input_format

    def transform(self, results: dict) -> dict:
        imgs = np.stack(results['imgs']) if isinstance(results['imgs'], (list, tuple)) else results['imgs']
        if imgs.ndim == 3:
            imgs = imgs[..., None]
        m, t = results['num_clips'], results['clip_len']
        if len(imgs) != m * t:
            raise ValueError(f'FormatShape: {len(imgs)} frames are not num_clips x clip_len = {m} x {t}')
        if self.input_format == 'NCTHW':
            imgs = imgs.reshape(m, t, *imgs.shape[1:]).transpose(0, 4, 1, 2, 3)
        else:
            imgs = imgs.transpose(0, 3, 1, 2)
        results['imgs'] = np.ascontiguousarray(imgs)
        results['input_shape'] = results['imgs'].shape
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(input_format={self.input_format!r})'


@TRANSFORMS.register_module()
class PackActionInputs(BaseTransform):
    """Pack ``imgs`` (kept in their dtype) or else ``keypoint`` (float32) into ``inputs``, and ``label`` (mmaction2's
    key) or ``gt_label`` plus ``meta_keys`` into a :class:`ClsDataSample`.

    Added keys: ``inputs``, ``data_samples``.
    """

    def __init__(self, meta_keys=('sample_idx', 'filename', 'frame_dir', 'img_shape', 'total_frames', 'num_clips',
                                  'clip_len', 'frame_inds')):
        self.meta_keys = tuple(meta_keys)

    def transform(self, results: dict) -> dict:
        if 'imgs' in results:
            inputs = torch.from_numpy(np.ascontiguousarray(results['imgs']))
        elif 'keypoint' in results:
            inputs = torch.from_numpy(np.ascontiguousarray(results['keypoint'], dtype=np.float32))
        else:
            raise KeyError("PackActionInputs needs 'imgs' or 'keypoint'")
        sample = ClsDataSample()
        label = results.get('label', results.get('gt_label'))
        if label is not None:
            sample.set_gt_label(label)
        sample.set_metainfo({k: results[k] for k in self.meta_keys if k in results})
        return dict(inputs=inputs, data_samples=sample)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(meta_keys={self.meta_keys})'
