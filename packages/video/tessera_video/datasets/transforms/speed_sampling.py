"""Relative-speed clip sampling of RSPNet: one video -> an anchor, a same-speed positive and a different-speed negative.

RSPNet: Relative Speed Perception for Unsupervised Video Representation Learning, Chen et al., AAAI 2021,
arXiv:2011.07949. Official code: https://github.com/PeihaoChen/RSPNet (``datasets/classification/__init__.py``
builds two ``RandomStrideCrop(size=speed * 16)`` windows per video; ``moco/builder_diffspeed_diffloss.py``
``_diff_speed`` resamples them at two playback speeds).

For a video of ``total`` frames, ``L = clip_len`` and the speed set ``S`` (official ``diff_speed=[2]`` with speed 1
always present, i.e. ``S = (1, 2)``):

    W = L * max(S)                                   frames of one window
    t_1, t_2 ~ U{0, ..., total - W}                  two independent window starts
    (s_a, s_b) ~ uniform over ordered pairs of distinct speeds of S
    anchor    = t_1 + s_a * j,  j = 0 .. L-1         window 1 at speed s_a   (the query c_i)
    positive  = t_2 + s_a * j                        window 2 at speed s_a   (same speed: c_j)
    negative  = t_2 + s_b * j                        window 2 at speed s_b   (different speed: c_k)

Speed s means "every s-th frame": the clip plays s times faster. The relative-speed label is the pair structure
(anchor and positive share a speed, the negative does not); the absolute speeds are recorded in ``speeds`` for
tests and logging only, never used as targets. All three clips come from the same video, so they are positives
of each other in the appearance task (A-VID).
"""
from typing import Sequence

import numpy as np
from mmcv.transforms import BaseTransform

from tessera_video.registry import TRANSFORMS

# clip index -> (window, speed slot): the layout of frame_inds (3 clips of clip_len frames).
TRIPLET = (('anchor', 0, 'a'), ('positive', 1, 'a'), ('negative', 1, 'b'))


def speed_clip(start: int, speed: int, clip_len: int) -> np.ndarray:
    """Frame indices (clip_len,) of a clip played at ``speed`` from frame ``start``: ``start + speed * j``."""
    return start + speed * np.arange(clip_len, dtype=np.int64)


@TRANSFORMS.register_module()
class RSPSampleFrames(BaseTransform):
    """Sample RSPNet's (anchor, positive, negative) clips of one video (rule in the module docstring).

    Args:
        clip_len (int): Frames per clip (official 16).
        speeds (Sequence[int]): Playback speeds (frame strides), at least two distinct (official (1, 2)).

    Required keys: ``total_frames``, ``start_index``. Added keys: ``frame_inds`` (3 * clip_len,) int64 (anchor,
    positive, negative), ``clip_len``, ``num_clips`` (3), ``frame_interval`` (None: it varies per clip),
    ``speeds`` (3,) int64 (s_a, s_a, s_b), ``window_starts`` (2,) int64. Draws from numpy's global generator
    (seeded by mmengine's runner), as ``SampleFrames``.
    """

    def __init__(self, clip_len: int = 16, speeds: Sequence[int] = (1, 2)):
        speeds = tuple(int(s) for s in speeds)
        if clip_len < 1:
            raise ValueError(f'clip_len must be >= 1, got {clip_len}')
        if len(set(speeds)) < 2 or min(speeds) < 1:
            raise ValueError(f'speeds must hold at least two distinct positive frame strides, got {speeds}')
        self.clip_len, self.speeds = clip_len, tuple(sorted(set(speeds)))
        self.window = clip_len * max(self.speeds)

    def transform(self, results: dict) -> dict:
        total = int(results['total_frames'])
        if total < self.window:
            raise ValueError(f'RSPSampleFrames: a video of {total} frames (sample {results.get("sample_idx", "?")}, '
                             f'{results.get("filename", "in-memory clip")}) is shorter than the {self.window}-frame '
                             f'window of clip_len={self.clip_len} at speed {max(self.speeds)}')
        starts = np.random.randint(0, total - self.window + 1, size=2).astype(np.int64)
        a, b = np.random.choice(len(self.speeds), size=2, replace=False)
        pair = dict(a=self.speeds[a], b=self.speeds[b])
        clips = [speed_clip(int(starts[w]), pair[slot], self.clip_len) for _, w, slot in TRIPLET]
        results['frame_inds'] = np.concatenate(clips) + int(results.get('start_index', 0))
        results['speeds'] = np.array([pair[slot] for _, _, slot in TRIPLET], dtype=np.int64)
        results['window_starts'] = starts
        results['clip_len'], results['num_clips'], results['frame_interval'] = self.clip_len, len(TRIPLET), None
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_len={self.clip_len}, speeds={self.speeds})'
