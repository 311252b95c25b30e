"""The rotated delta coder of rotated RetinaNet: ``(cx, cy, w, h, a)`` <-> ``(dx, dy, dw, dh, da)``.

mmrotate 1.x's ``DeltaXYWHTRBBoxCoder`` (github.com/open-mmlab/mmrotate,
``mmrotate/models/task_modules/coders/delta_xywht_rbbox_coder.py``), written here for plain ``(N, 5)``
tensors in the ``le90`` convention of :mod:`tessera_detection.structures.rotated_box`. With anchor
``(px, py, pw, ph, pa)`` and target ``(gx, gy, gw, gh, ga)``::

    dx = ( cos pa (gx - px) + sin pa (gy - py)) / pw        (proj_xy=True: offsets in the anchor's frame;
    dy = (-sin pa (gx - px) + cos pa (gy - py)) / ph         proj_xy=False: (gx - px) / pw, (gy - py) / ph)
    da = norm(ga - pa),  dw = log(gw / pw),  dh = log(gh / ph)

``norm`` wraps an angle into ``[-pi/2, pi/2)``. With ``edge_swap=True`` the target is also written as
``(gh, gw, ga + pi/2)`` and the representation with the smaller ``|da|`` is regressed (so ``|da| <= pi/4``);
decoding swaps ``w, h`` back (and adds ``pi/2``) when the decoded ``w < h``. Deltas are normalised by
``target_means`` / ``target_stds``; ``norm_factor`` divides ``da`` by ``norm_factor * pi``.

The target still jumps where a box crosses a representation boundary: without ``edge_swap`` at
``ga - pa = +-pi/2`` (``da`` goes from ``+pi/2`` to ``-pi/2``), with it at ``ga - pa = +-pi/4`` (``da`` jumps by
``pi/2`` and ``dw``, ``dh`` exchange). These are the boundary discontinuities GWD and KLD remove.
"""
import math
from typing import Optional, Sequence

import torch
from mmdet.models.task_modules.coders.base_bbox_coder import BaseBBoxCoder
from mmdet.structures.bbox import get_box_tensor
from torch import Tensor

from tessera_detection.registry import TASK_UTILS
from tessera_detection.structures.rotated_box import check_convention


def norm_angle_le90(angle: Tensor) -> Tensor:
    """Wrap angles into ``[-pi/2, pi/2)``."""
    return torch.remainder(angle + math.pi / 2, math.pi) - math.pi / 2


@TASK_UTILS.register_module()
class DeltaXYWHTRBBoxCoder(BaseBBoxCoder):
    """Encode rotated boxes as deltas from rotated anchors and back (module docstring).

    Args:
        target_means (Sequence[float]): 5 means of the deltas.
        target_stds (Sequence[float]): 5 standard deviations of the deltas.
        angle_version (str): Only ``'le90'``.
        norm_factor (float, optional): ``da`` is divided by ``norm_factor * pi``.
        edge_swap (bool): Regress the representation of the target with the smaller angle change.
        proj_xy (bool): Centre offsets in the anchor's frame.
        use_box_type (bool): Must be ``False``: mmdet 3.3 has no rotated box type, boxes stay tensors.
    """
    encode_size = 5

    def __init__(self, target_means: Sequence[float] = (0., 0., 0., 0., 0.),
                 target_stds: Sequence[float] = (1., 1., 1., 1., 1.), angle_version: str = 'le90',
                 norm_factor: Optional[float] = None, edge_swap: bool = False, proj_xy: bool = False,
                 use_box_type: bool = False):
        if use_box_type:
            raise ValueError('use_box_type=True is not supported: rotated boxes are plain (N, 5) tensors here')
        super().__init__(use_box_type=False)
        check_convention(angle_version)
        if len(target_means) != 5 or len(target_stds) != 5:
            raise ValueError(f'target_means and target_stds need 5 values (dx, dy, dw, dh, da); got '
                             f'{list(target_means)}, {list(target_stds)}')
        self.means, self.stds = tuple(float(m) for m in target_means), tuple(float(s) for s in target_stds)
        self.angle_version, self.norm_factor = angle_version, norm_factor
        self.edge_swap, self.proj_xy = bool(edge_swap), bool(proj_xy)

    def encode(self, bboxes: Tensor, gt_bboxes: Tensor) -> Tensor:
        """Deltas ``(N, 5)`` that move anchors ``bboxes`` ``(N, 5)`` onto ``gt_bboxes`` ``(N, 5)``."""
        bboxes, gt_bboxes = get_box_tensor(bboxes), get_box_tensor(gt_bboxes)
        if bboxes.shape != gt_bboxes.shape or bboxes.shape[-1] != 5:
            raise ValueError(f'encode needs two (N, 5) tensors of rotated boxes, got {tuple(bboxes.shape)} and '
                             f'{tuple(gt_bboxes.shape)}')
        px, py, pw, ph, pa = bboxes.float().unbind(-1)
        gx, gy, gw, gh, ga = gt_bboxes.float().unbind(-1)
        ga = norm_angle_le90(ga)
        if self.proj_xy:
            dx = (torch.cos(pa) * (gx - px) + torch.sin(pa) * (gy - py)) / pw
            dy = (-torch.sin(pa) * (gx - px) + torch.cos(pa) * (gy - py)) / ph
        else:
            dx, dy = (gx - px) / pw, (gy - py) / ph
        da = norm_angle_le90(ga - pa)
        if self.edge_swap:
            da2 = norm_angle_le90(ga - pa + math.pi / 2)
            keep = da.abs() < da2.abs()
            gw, gh = torch.where(keep, gw, gh), torch.where(keep, gh, gw)
            da = torch.where(keep, da, da2)
        dw, dh = torch.log(gw / pw), torch.log(gh / ph)
        if self.norm_factor:
            da = da / (self.norm_factor * math.pi)
        deltas = torch.stack([dx, dy, dw, dh, da], dim=-1)
        return (deltas - deltas.new_tensor(self.means)) / deltas.new_tensor(self.stds)

    def decode(self, bboxes: Tensor, pred_bboxes: Tensor, max_shape: Optional[Sequence[int]] = None,
               wh_ratio_clip: float = 16 / 1000) -> Tensor:
        """Boxes ``(N, 5)`` (``le90``) from anchors ``(N, 5)`` and deltas ``(N, 5)``.

        ``max_shape`` ``(H, W)`` clamps the centres into the image; ``dw``, ``dh`` are clamped to
        ``|log(wh_ratio_clip)|``.
        """
        bboxes = get_box_tensor(bboxes)
        if pred_bboxes.shape[0] != bboxes.shape[0] or pred_bboxes.shape[-1] != 5 or bboxes.shape[-1] != 5:
            raise ValueError(f'decode needs (N, 5) anchors and (N, 5) deltas, got {tuple(bboxes.shape)} and '
                             f'{tuple(pred_bboxes.shape)}')
        if pred_bboxes.numel() == 0:
            return pred_bboxes
        d = pred_bboxes * pred_bboxes.new_tensor(self.stds) + pred_bboxes.new_tensor(self.means)
        dx, dy, dw, dh, da = d.unbind(-1)
        if self.norm_factor:
            da = da * (self.norm_factor * math.pi)
        px, py, pw, ph, pa = bboxes.unbind(-1)
        max_ratio = abs(math.log(wh_ratio_clip))
        dw, dh = dw.clamp(-max_ratio, max_ratio), dh.clamp(-max_ratio, max_ratio)
        gw, gh = pw * dw.exp(), ph * dh.exp()
        if self.proj_xy:
            gx = dx * pw * torch.cos(pa) - dy * ph * torch.sin(pa) + px
            gy = dx * pw * torch.sin(pa) + dy * ph * torch.cos(pa) + py
        else:
            gx, gy = px + pw * dx, py + ph * dy
        ga = norm_angle_le90(pa + da)
        if max_shape is not None:
            gx, gy = gx.clamp(0, max_shape[1] - 1), gy.clamp(0, max_shape[0] - 1)
        if self.edge_swap:
            wide = gw > gh
            gw, gh, ga = torch.where(wide, gw, gh), torch.where(wide, gh, gw), \
                norm_angle_le90(torch.where(wide, ga, ga + math.pi / 2))
        return torch.stack([gx, gy, gw, gh, ga], dim=-1)
