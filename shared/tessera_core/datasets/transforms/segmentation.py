"""Semantic-segmentation targets for digit images and their packing.

The pixel-wise task of the PSA configs (issue 4): every pixel of a digit image is labelled
background (0) or, where the digit's ink is (grey level >= threshold), ``1 + digit class``. A
pixel's label needs the local shape (is it ink?) and the digit's global class (which one?), i.e.
long-range context at full resolution.
"""
import numpy as np
import torch
from mmcv.transforms import BaseTransform

from tessera_core.registry import TRANSFORMS

from .formatting import PackClsInputs


@TRANSFORMS.register_module()
class DigitSegMap(BaseTransform):
    """Add ``gt_sem_seg`` (H, W) int64: 0 for background, ``1 + gt_label`` where ``img >= threshold``.
    Apply it after geometric augmentations so the map follows them.

    Required keys: ``img`` (H, W) uint8 grey, ``gt_label`` (int). Added key: ``gt_sem_seg``.

    Args:
        num_classes (int): Number of digit classes (10); labels must lie in [0, num_classes).
        threshold (int): Grey level (1-255) from which a pixel counts as ink.
    """

    def __init__(self, num_classes: int = 10, threshold: int = 128):
        if not isinstance(num_classes, int) or num_classes < 1:
            raise ValueError(f'num_classes must be a positive int, got {num_classes!r}')
        if not 0 < threshold <= 255:
            raise ValueError(f'threshold must lie in (0, 255], got {threshold!r}')
        self.num_classes, self.threshold = num_classes, threshold

    def transform(self, results: dict) -> dict:
        img, label = results['img'], int(results['gt_label'])
        if img.ndim != 2:
            raise ValueError(f'DigitSegMap expects a grey (H, W) image, got shape {img.shape}')
        if not 0 <= label < self.num_classes:
            raise ValueError(f'gt_label {label} outside [0, {self.num_classes})')
        results['gt_sem_seg'] = np.where(img >= self.threshold, label + 1, 0).astype(np.int64)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_classes={self.num_classes}, threshold={self.threshold})'


@TRANSFORMS.register_module()
class PackSegInputs(PackClsInputs):
    """:class:`PackClsInputs` plus the pixel labels: ``gt_sem_seg`` (H, W) becomes the data
    sample's ``gt_sem_seg`` LongTensor."""

    def transform(self, results: dict) -> dict:
        packed = super().transform(results)
        if 'gt_sem_seg' in results:
            seg = torch.from_numpy(np.ascontiguousarray(results['gt_sem_seg'], dtype=np.int64))
            packed['data_samples'].set_field(seg, 'gt_sem_seg', dtype=torch.Tensor)
        return packed
