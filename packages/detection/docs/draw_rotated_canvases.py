"""Draw a few rotated digit canvases with their rotated boxes: ``docs/rotated_digit_canvas.png``.

Reads the boxes back from the DOTA label files (so the picture shows what the
dataset reads), draws each polygon and its class, ``scale`` times enlarged::

    python packages/detection/docs/draw_rotated_canvases.py [--out PATH] [--num 8]
"""
import argparse
import os.path as osp
import tempfile

import cv2
import numpy as np

from tessera_detection.datasets import RotatedDigitCanvas
from tessera_detection.datasets.digit_canvas_dataset import DIGIT_PALETTE


def draw(root: str, split: str, num: int, scale: int = 3, cols: int = 4) -> np.ndarray:
    """A grid of the first ``num`` canvases of ``split`` with their polygons (RGB)."""
    tiles = []
    for objs, i in zip(RotatedDigitCanvas.read_split(root, split), range(num)):
        img = cv2.imread(osp.join(root, split, 'images', f'{i + 1:06d}.png'))  # BGR
        img = cv2.resize(img, None, fx=scale, fy=scale, interpolation=cv2.INTER_NEAREST)
        for obj in objs:
            color = DIGIT_PALETTE[int(obj['name'])][::-1]
            pts = np.array(obj['poly']).reshape(4, 2) * scale
            cv2.polylines(img, [np.round(pts * 16).astype(np.int32)], True, color, 1, cv2.LINE_AA, shift=4)
            cv2.circle(img, tuple(np.round(pts[0]).astype(int)), 3, color, -1, cv2.LINE_AA)  # first corner
            x, y = pts[:, 0].min(), pts[:, 1].min()
            cv2.putText(img, obj['name'], (int(x) + 2, max(12, int(y) - 3)), cv2.FONT_HERSHEY_SIMPLEX, 0.45, color,
                        1, cv2.LINE_AA)
        tiles.append(cv2.copyMakeBorder(img, 2, 2, 2, 2, cv2.BORDER_CONSTANT, value=(90, 90, 90)))
    while len(tiles) % cols:
        tiles.append(np.full_like(tiles[0], 90))
    rows = [np.concatenate(tiles[r:r + cols], axis=1) for r in range(0, len(tiles), cols)]
    return np.concatenate(rows, axis=0)[..., ::-1]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument('--out', default=osp.join(osp.dirname(osp.abspath(__file__)), 'rotated_digit_canvas.png'))
    parser.add_argument('--num', type=int, default=8)
    args = parser.parse_args()
    gen = RotatedDigitCanvas(num_train=0, num_val=args.num)  # the default parameters' first val canvases
    with tempfile.TemporaryDirectory() as root:
        gen.generate(root, show_progress=False)
        grid = draw(root, 'val', args.num)
    cv2.imwrite(args.out, grid[..., ::-1])
    print(f'wrote {args.out} ({grid.shape[1]}x{grid.shape[0]})')


if __name__ == '__main__':
    main()
