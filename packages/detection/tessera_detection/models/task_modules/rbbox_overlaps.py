"""IoU of rotated boxes for mmdet's assigners: ``iou_calculator=dict(type='RBboxOverlaps2D')``.

mmrotate 1.x's ``RBboxOverlaps2D`` (``mmrotate/models/task_modules/assigners/rotate_iou2d_calculator.py``):
``mmcv.ops.box_iou_rotated`` on ``(cx, cy, w, h, a)`` boxes (angles clockwise on the screen, mmcv's default),
sides clamped to ``>= 1e-3`` as mmrotate's ``rbbox_overlaps`` does.
"""
import torch
from mmcv.ops import box_iou_rotated
from mmdet.structures.bbox import get_box_tensor

from tessera_detection.registry import TASK_UTILS


def rbbox_overlaps(bboxes1: torch.Tensor, bboxes2: torch.Tensor, mode: str = 'iou',
                   is_aligned: bool = False) -> torch.Tensor:
    """IoU (``mode='iou'``) or intersection over the area of ``bboxes1`` (``'iof'``) of rotated boxes."""
    if mode not in ('iou', 'iof'):
        raise ValueError(f"unknown mode {mode!r}; valid: ('iou', 'iof')")
    rows, cols = bboxes1.size(0), bboxes2.size(0)
    if is_aligned and rows != cols:
        raise ValueError(f'is_aligned needs as many boxes in both sets, got {rows} and {cols}')
    if rows * cols == 0:
        return bboxes1.new_zeros((rows,) if is_aligned else (rows, cols))
    b1, b2 = bboxes1.detach().clone(), bboxes2.detach().clone()
    b1[:, 2:4].clamp_(min=1e-3)
    b2[:, 2:4].clamp_(min=1e-3)
    return box_iou_rotated(b1.float(), b2.float(), mode=mode, aligned=is_aligned)


@TASK_UTILS.register_module()
class RBboxOverlaps2D:
    """Rotated IoU calculator: ``(m, 5)`` x ``(n, 5)`` -> ``(m, n)`` (a 6th score column is dropped)."""

    def __call__(self, bboxes1, bboxes2, mode: str = 'iou', is_aligned: bool = False) -> torch.Tensor:
        bboxes1, bboxes2 = get_box_tensor(bboxes1), get_box_tensor(bboxes2)
        for name, b in (('bboxes1', bboxes1), ('bboxes2', bboxes2)):
            if b.size(-1) not in (0, 5, 6):
                raise ValueError(f'RBboxOverlaps2D: {name} must be (n, 5) rotated boxes (cx, cy, w, h, a) or '
                                 f'(n, 6) with a score, got {tuple(b.shape)}')
        return rbbox_overlaps(bboxes1[..., :5], bboxes2[..., :5], mode, is_aligned)

    def __repr__(self) -> str:
        return f'{type(self).__name__}()'
