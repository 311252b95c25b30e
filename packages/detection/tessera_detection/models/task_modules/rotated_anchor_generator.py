"""Rotated anchors of rotated RetinaNet ('obb' / 'rbox' in mmrotate): mmdet's anchors as ``le90`` boxes.

mmrotate 1.x's ``FakeRotatedAnchorGenerator`` (github.com/open-mmlab/mmrotate,
``mmrotate/models/task_modules/prior_generators/anchor_generator.py``): the horizontal anchors of mmdet's
``AnchorGenerator`` written as ``(cx, cy, w, h, 0)``; an anchor taller than wide becomes
``(cx, cy, h, w, -pi/2)`` so that every anchor satisfies ``le90`` (``w >= h``).
"""
import math

import torch
from mmdet.models.task_modules.prior_generators import AnchorGenerator

from tessera_detection.registry import TASK_UTILS
from tessera_detection.structures.rotated_box import check_convention


def hbox2rbox_le90(boxes: torch.Tensor) -> torch.Tensor:
    """``(N, 4)`` ``(x1, y1, x2, y2)`` -> ``(N, 5)`` ``(cx, cy, w, h, a)`` in ``le90``."""
    x1, y1, x2, y2 = boxes.unbind(-1)
    w, h = x2 - x1, y2 - y1
    tall = w < h
    angle = torch.where(tall, torch.full_like(w, -math.pi / 2), torch.zeros_like(w))
    return torch.stack([(x1 + x2) / 2, (y1 + y2) / 2, torch.where(tall, h, w), torch.where(tall, w, h), angle], -1)


@TASK_UTILS.register_module()
class RotatedAnchorGenerator(AnchorGenerator):
    """mmdet's ``AnchorGenerator`` whose priors are ``le90`` rotated boxes ``(cx, cy, w, h, a)``.

    Args:
        angle_version (str): Only ``'le90'``.
        **kwargs: mmdet ``AnchorGenerator`` arguments (``strides``, ``ratios``, ``octave_base_scale``, ...).
    """

    def __init__(self, angle_version: str = 'le90', **kwargs):
        check_convention(angle_version)
        super().__init__(**kwargs)
        self.angle_version = angle_version

    def single_level_grid_priors(self, featmap_size, level_idx: int, dtype=torch.float32, device='cuda'):
        """``(H * W * num_base_anchors, 5)`` anchors of one level."""
        anchors = super().single_level_grid_priors(featmap_size, level_idx, dtype=dtype, device=device)
        return hbox2rbox_le90(anchors)
