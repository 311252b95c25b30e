"""Pack images and rotated boxes into ``DetDataSample`` s."""
import numpy as np
import torch
from mmdet.datasets.transforms import PackDetInputs
from mmdet.structures.bbox import BaseBoxes

from tessera_detection.registry import TRANSFORMS


@TRANSFORMS.register_module()
class PackRotatedDetInputs(PackDetInputs):
    """mmdet's ``PackDetInputs`` for rotated boxes.

    ``gt_bboxes`` must be a plain ``(N, 5)`` array ``(cx, cy, w, h, angle)``
    (as :class:`LoadRotatedAnnotations` writes it); it becomes a float32 tensor
    in ``data_sample.gt_instances.bboxes`` (``ignore_flag`` objects in
    ``data_sample.ignored_instances.bboxes``). Axis-aligned boxes (an mmdet
    ``BaseBoxes`` or ``(N, 4)``, e.g. from mmdet's ``LoadAnnotations``) are
    refused with the transform to use instead.

    Args: as :class:`mmdet.datasets.transforms.PackDetInputs` (``meta_keys``).
    """

    def transform(self, results: dict) -> dict:
        boxes = results.get('gt_bboxes')
        if boxes is not None:
            if isinstance(boxes, BaseBoxes) or not isinstance(boxes, (np.ndarray, torch.Tensor)) \
                    or boxes.ndim != 2 or boxes.shape[1] != 5:
                shape = tuple(boxes.shape) if hasattr(boxes, 'shape') else type(boxes).__name__
                raise TypeError(f'PackRotatedDetInputs packs rotated boxes, a plain (N, 5) array '
                                f'(cx, cy, w, h, angle); got {type(boxes).__name__} {shape}: load them with '
                                "dict(type='LoadRotatedAnnotations'), not mmdet's LoadAnnotations")
            results['gt_bboxes'] = np.asarray(boxes, dtype=np.float32)
        return super().transform(results)
