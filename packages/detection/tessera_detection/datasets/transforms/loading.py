"""Load the rotated boxes of a data info into ``gt_bboxes`` ``(N, 5)``."""
import numpy as np
from mmcv.transforms import BaseTransform

from tessera_detection.registry import TRANSFORMS
from tessera_detection.structures import check_rboxes


@TRANSFORMS.register_module()
class LoadRotatedAnnotations(BaseTransform):
    """The rotated counterpart of mmdet's ``LoadAnnotations(with_bbox=True)``.

    Reads ``results['instances']`` (``bbox`` = ``[cx, cy, w, h, angle]``,
    ``bbox_label``, ``ignore_flag``, as :class:`~tessera_detection.datasets.DOTADataset`
    writes them) and adds:

    - ``gt_bboxes``: float32 ``(N, 5)`` in the ``le90`` convention (a plain
      array, not an mmdet ``BaseBoxes``: mmdet 3.3 has no rotated box type,
      so mmdet's geometric transforms, which assume ``HorizontalBoxes``, do not
      apply to it);
    - ``gt_bboxes_labels``: int64 ``(N,)``;
    - ``gt_ignore_flags``: bool ``(N,)`` (DOTA's ``difficult``).

    Args:
        with_label (bool): Also load the labels.
        angle_convention (str): The convention the boxes are checked against.
    """

    def __init__(self, with_label: bool = True, angle_convention: str = 'le90'):
        self.with_label = with_label
        self.angle_convention = angle_convention

    def transform(self, results: dict) -> dict:
        instances = results.get('instances', [])
        boxes = np.array([inst['bbox'] for inst in instances], dtype=np.float32).reshape(-1, 5)
        check_rboxes(boxes, self.angle_convention, what=f'rotated boxes of {results.get("img_path", "?")}')
        results['gt_bboxes'] = boxes
        results['gt_ignore_flags'] = np.array([bool(inst.get('ignore_flag', 0)) for inst in instances], dtype=bool)
        if self.with_label:
            results['gt_bboxes_labels'] = np.array([inst['bbox_label'] for inst in instances], dtype=np.int64)
        return results

    def __repr__(self) -> str:
        return f'{type(self).__name__}(with_label={self.with_label}, angle_convention={self.angle_convention!r})'
