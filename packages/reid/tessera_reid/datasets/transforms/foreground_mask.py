"""Foreground-mask transforms: keep an image's ``gt_mask`` aligned with its augmentations.

The CamStyle-ReID items carry their exact foreground mask (``gt_mask`` (H, W) uint8 in {0, 1}: the pixels
that show the item, occluded pixels removed). The image augmentations of the re-ID configs move or hide
pixels of ``img`` only; a method supervised by the mask (FANet's soft-mask supervision) needs the mask to
follow them:

- :class:`RandomShiftCropWithMask` is tessera-core's ``RandomShiftCrop`` (zero-pad and crop back at a random
  offset) applied with one offset to ``img`` and to every key of ``mask_keys`` (the masks pad with 0:
  the padding shows no foreground);
- :class:`EraseMask` removes the rectangle :class:`RandomErasing` filled (it records it as
  ``results['erased_box']``) from the mask, as the benchmark removes occluded pixels. Put it right after
  ``RandomErasing``.
"""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from tessera_core.datasets.transforms import RandomShiftCrop
from tessera_reid.registry import TRANSFORMS


@TRANSFORMS.register_module()
class RandomShiftCropWithMask(RandomShiftCrop):
    """``RandomShiftCrop`` of ``img`` and of the masks ``mask_keys`` with the same random offset.

    Args:
        padding (int): Pixels of padding on each side (the shift is at most ``padding``).
        pad_value (int): Fill of the image's padding (the masks' is 0).
        mask_keys (Sequence[str]): Keys of (H, W) masks to shift with the image; absent keys are skipped.

    Required keys: ``img`` (H, W) or (H, W, C). Modified keys: ``img`` and the present ``mask_keys``.
    """

    def __init__(self, padding: int = 2, pad_value: int = 0, mask_keys: Sequence[str] = ('gt_mask',)):
        super().__init__(padding=padding, pad_value=pad_value)
        self.mask_keys = tuple(mask_keys)

    def transform(self, results: dict) -> dict:
        p = self.padding
        if p == 0:
            return results
        img = results['img']
        h, w = img.shape[:2]
        top, left = np.random.randint(0, 2 * p + 1, size=2)
        pad = ((p, p), (p, p)) + ((0, 0),) * (img.ndim - 2)
        results['img'] = np.pad(img, pad, constant_values=self.pad_value)[top:top + h, left:left + w]
        for key in self.mask_keys:
            if key not in results:
                continue
            mask = np.asarray(results[key])
            if mask.shape[:2] != (h, w):
                raise ValueError(f'{key} has shape {mask.shape}, the image {img.shape[:2]}: a mask must match the '
                                 'image it belongs to')
            results[key] = np.pad(mask, ((p, p), (p, p)), constant_values=0)[top:top + h, left:left + w]
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(padding={self.padding}, mask_keys={self.mask_keys})'


@TRANSFORMS.register_module()
class EraseMask(BaseTransform):
    """Zero the masks ``mask_keys`` inside ``results['erased_box']`` (top, left, h, w), if present.

    Required keys: none (a sample that was not erased passes unchanged). Modified keys: the present
    ``mask_keys`` (copies). Removed keys: ``erased_box``.
    """

    def __init__(self, mask_keys: Sequence[str] = ('gt_mask',)):
        self.mask_keys = tuple(mask_keys)

    def transform(self, results: dict) -> dict:
        box = results.pop('erased_box', None)
        if box is None:
            return results
        top, left, h, w = (int(v) for v in box)
        for key in self.mask_keys:
            if key in results:
                mask = np.array(results[key], copy=True)
                mask[top:top + h, left:left + w] = 0
                results[key] = mask
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(mask_keys={self.mask_keys})'
