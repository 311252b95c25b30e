"""Rotated boxes ``(cx, cy, w, h, angle)`` in mmrotate 1.x's ``le90`` convention, and polygons.

Coordinates are image pixels, ``x`` to the right, ``y`` down (pixel-edge
coordinates: the pixel in column ``i``, row ``j`` is the square
``[i, i + 1] x [j, j + 1]``). A rotated box is ``(cx, cy, w, h, angle)``:

* ``(cx, cy)`` its centre;
* ``w`` the length of the side along the unit vector ``u = (cos angle, sin angle)``,
  ``h`` the length of the side along ``v = (-sin angle, cos angle)``;
* ``angle`` in radians. ``angle = 0`` is an upright box (``w`` horizontal);
  positive angles turn ``u`` from ``+x`` towards ``+y``, i.e. clockwise on the
  screen. This is the direction of ``mmcv.ops.box_iou_rotated`` /
  ``nms_rotated`` with their default ``clockwise=True`` and of mmrotate 1.x.

``le90`` ("long edge, 90 degrees") makes the representation unique up to
squares::

    w >= h > 0        and        -pi/2 <= angle < pi/2

A box with ``w < h`` is the same box as ``(cx, cy, h, w, angle + pi/2)``, and
``angle`` and ``angle + pi`` give the same box; :func:`regularize_rboxes` maps
any ``(cx, cy, w, h, angle)`` to its ``le90`` form. At the boundary a vertical
long box has ``angle = -pi/2`` (never ``+pi/2``). One deliberate difference from
mmrotate's ``RotatedBoxes.regularize_boxes``: it also swaps the sides of a
square (``w == h``) and adds ``pi/2``, which is not idempotent; here squares keep
their angle modulo ``pi`` (both describe the same box).

A polygon is ``(x1, y1, x2, y2, x3, y3, x4, y4)`` as in the DOTA text format.
:func:`rbox2poly` writes the corners ``c - a - b, c + a - b, c + a + b, c - a + b``
with ``a = w/2 u`` and ``b = h/2 v``: top-left, top-right, bottom-right,
bottom-left of an upright box, clockwise on the screen, as DOTA orders them.
:func:`poly2rbox` takes the minimum-area rectangle that encloses the four
points (for an exact rectangle: the rectangle itself, whatever the order of
its corners), the box mmrotate 1.x computes with ``cv2.minAreaRect``, here in
float64: that rectangle has a side on an edge of the points' convex hull, so it
is the smallest of the enclosing rectangles aligned with the six directions
through two of the points.

Rotated boxes travel through mmdet 3.x data samples as plain ``(N, 5)`` float
tensors in ``gt_instances.bboxes`` / ``pred_instances.bboxes`` (mmdet 3.3 has no
``RotatedBoxes``; only mmrotate registers one), in this convention.
"""
import math
from typing import Union

import numpy as np
import torch

ANGLE_CONVENTIONS = ('le90',)
Array = Union[np.ndarray, torch.Tensor]


def check_convention(convention: str) -> None:
    """Raise ``ValueError`` listing the valid conventions unless ``convention`` is one."""
    if convention not in ANGLE_CONVENTIONS:
        raise ValueError(f'unknown angle convention {convention!r}; valid: {ANGLE_CONVENTIONS}')


def _as_numpy(x, last: int, what: str) -> np.ndarray:
    arr = x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else np.asarray(x)
    arr = arr.astype(np.float64)
    if arr.ndim == 0 or arr.shape[-1] != last:
        raise ValueError(f'{what} must have shape (..., {last}), got {tuple(arr.shape)}')
    return arr


def _like(out: np.ndarray, ref) -> Array:
    if isinstance(ref, torch.Tensor):
        dtype = ref.dtype if ref.is_floating_point() else torch.float32
        return torch.as_tensor(out, dtype=dtype, device=ref.device)
    return out


def regularize_rboxes(rboxes: Array, convention: str = 'le90') -> Array:
    """Map any ``(cx, cy, w, h, angle)`` to the same box in ``convention``.

    Args:
        rboxes: ``(..., 5)`` boxes, numpy or torch.
        convention: Only ``'le90'``.

    Returns:
        Same type and shape: ``w >= h`` (sides swapped and ``angle + pi/2`` when
        ``w < h``) and ``angle`` wrapped into ``[-pi/2, pi/2)``.
    """
    check_convention(convention)
    b = _as_numpy(rboxes, 5, 'rotated boxes')
    cx, cy, w, h, t = np.moveaxis(b, -1, 0)
    swap = w < h
    w, h = np.where(swap, h, w), np.where(swap, w, h)
    t = np.where(swap, t + np.pi / 2, t)
    t = np.mod(t + np.pi / 2, np.pi) - np.pi / 2
    t = np.where(t >= np.pi / 2, t - np.pi, t)  # np.mod can round up to pi
    return _like(np.stack([cx, cy, w, h, t], axis=-1), rboxes)


def check_rboxes(rboxes: Array, convention: str = 'le90', what: str = 'rotated boxes') -> None:
    """Raise ``ValueError`` naming the first box that breaks ``convention``.

    Checks the shape ``(N, 5)``, finite values, ``w >= h > 0`` and
    ``-pi/2 <= angle < pi/2``, with ``pi/2`` rounded to the boxes' dtype (the
    float32 ``-pi/2`` of a standing box is a little below the float64 one).
    """
    check_convention(convention)
    dtype = rboxes.dtype if isinstance(rboxes, (np.ndarray, torch.Tensor)) else np.float64
    lo, hi = (float(np.float32(-math.pi / 2)), float(np.float32(math.pi / 2))) \
        if dtype in (np.float32, torch.float32, np.dtype(np.float32)) else (-math.pi / 2, math.pi / 2)
    b = _as_numpy(rboxes, 5, what).reshape(-1, 5)
    bad = ~np.isfinite(b).all(axis=1)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise ValueError(f'{what}: box {i} {b[i].tolist()} is not finite')
    for i, (_, _, w, h, t) in enumerate(b):
        if not h > 0:
            raise ValueError(f'{what}: box {i} {b[i].tolist()} has zero area (w={w}, h={h})')
        if w < h:
            raise ValueError(f'{what}: box {i} {b[i].tolist()} has w < h; {convention} needs w >= h '
                             '(regularize_rboxes converts)')
        if not lo <= t < hi:
            raise ValueError(f'{what}: box {i} {b[i].tolist()} has angle {t} outside [-pi/2, pi/2) of '
                             f'{convention} (regularize_rboxes converts)')


def rbox2poly(rboxes: Array) -> Array:
    """Corners of rotated boxes, ``(..., 5) -> (..., 8)`` (order in the module docstring)."""
    b = _as_numpy(rboxes, 5, 'rotated boxes')
    c = b[..., 0:2]
    w, h, t = b[..., 2:3], b[..., 3:4], b[..., 4:5]
    cos, sin = np.cos(t), np.sin(t)
    a = np.concatenate([w / 2 * cos, w / 2 * sin], axis=-1)
    v = np.concatenate([-h / 2 * sin, h / 2 * cos], axis=-1)
    poly = np.concatenate([c - a - v, c + a - v, c + a + v, c - a + v], axis=-1)
    return _like(poly, rboxes)


_PAIRS = np.array([(i, j) for i in range(4) for j in range(i + 1, 4)])


def poly2rbox(polys: Array, convention: str = 'le90', eps: float = 1e-6) -> Array:
    """Minimum-area rotated rectangle of four points, in ``convention``.

    Args:
        polys: ``(..., 8)`` polygons ``x1 y1 ... x4 y4``, numpy or torch.
        convention: Only ``'le90'``.
        eps: Boxes with a side ``<= eps`` pixels are zero-area.

    Returns:
        ``(..., 5)`` rotated boxes, same type.

    Raises:
        ValueError: A polygon of the wrong size, with non-finite values, or
            whose four points are collinear or coincide (zero area).
    """
    check_convention(convention)
    p = _as_numpy(polys, 8, 'polygons (x1 y1 ... x4 y4: four points)')
    shape = p.shape[:-1]
    pts = p.reshape(-1, 4, 2)
    if not np.isfinite(pts).all():
        raise ValueError(f'polygon {pts[~np.isfinite(pts).all(axis=(1, 2))][0].ravel().tolist()} is not finite')
    d = pts[:, _PAIRS[:, 1]] - pts[:, _PAIRS[:, 0]]  # (N, 6, 2) candidate side directions
    length = np.linalg.norm(d, axis=-1)
    u = d / np.maximum(length, 1e-300)[..., None]
    v = np.stack([-u[..., 1], u[..., 0]], axis=-1)
    pu = np.einsum('nkd,npd->nkp', u, pts)  # (N, 6, 4) projections
    pv = np.einsum('nkd,npd->nkp', v, pts)
    w, h = pu.max(-1) - pu.min(-1), pv.max(-1) - pv.min(-1)
    area = np.where(length > 0, w * h, np.inf)
    k = np.argmin(area, axis=1)  # first minimum: deterministic
    n = np.arange(len(pts))
    w, h = w[n, k], h[n, k]
    zero = ~(np.minimum(w, h) > eps)
    if zero.any():
        bad = pts[np.flatnonzero(zero)[0]].ravel().tolist()
        raise ValueError(f'polygon {bad} encloses a zero-area box (its points are collinear or coincide)')
    uc = (pu.max(-1) + pu.min(-1))[n, k] / 2
    vc = (pv.max(-1) + pv.min(-1))[n, k] / 2
    center = uc[:, None] * u[n, k] + vc[:, None] * v[n, k]
    angle = np.arctan2(u[n, k, 1], u[n, k, 0])
    rboxes = np.concatenate([center, w[:, None], h[:, None], angle[:, None]], axis=1)
    out = regularize_rboxes(rboxes, convention).reshape(*shape, 5)
    return _like(out, polys)
