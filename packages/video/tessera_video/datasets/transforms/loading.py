"""Video loading transforms in mmaction2 1.x's names and semantics: ``VideoInit`` (its ``DecordInit`` /
``OpenCVInit``), ``SampleFrames``, ``VideoDecode`` (``DecordDecode`` / ``OpenCVDecode``).

``SampleFrames`` follows ``mmaction/datasets/transforms/loading.py`` (https://github.com/open-mmlab/mmaction2),
with ``ori_clip_len = clip_len * frame_interval`` in training and ``(clip_len - 1) * frame_interval + 1`` in
test mode:

- train: ``avg = (total - ori_clip_len + 1) // num_clips``; if ``avg > 0`` clip ``i`` starts at
  ``i * avg + U{0, avg - 1}`` (one random start per segment); else if ``total > max(num_clips, ori_clip_len)``
  the starts are sorted uniform draws in ``[0, total - ori_clip_len]``; else if ``avg == 0`` they are
  ``round(i * (total - ori_clip_len + 1) / num_clips)``; else all 0;
- test, ``clip_len > 1`` (3D): ``max_offset = max(total - ori_clip_len, 0)``; ``num_clips > 1``: starts
  ``round(i * max_offset / (num_clips - 1))`` (evenly spread, first at 0, last at the end); one clip: the centre,
  ``max_offset // 2``;
- test, ``clip_len == 1`` (2D, TSN segments): ``int(i * total / num_clips + total / (2 num_clips))``;
- frame ``j`` of a clip is ``start + j * frame_interval``; indices past the end wrap (``'loop'``) or repeat the
  clip's last valid frame (``'repeat_last'``).
"""
from typing import Optional

import numpy as np
from mmcv.transforms import BaseTransform

from tessera_video.datasets.video_reader import ArrayVideoReader, VideoReader
from tessera_video.registry import TRANSFORMS

OUT_OF_BOUND = ('loop', 'repeat_last')


@TRANSFORMS.register_module()
class VideoInit(BaseTransform):
    """Open the video of ``results['filename']`` (joined to ``data_prefix`` by the dataset) with
    :class:`VideoReader`, or wrap an in-memory clip ``results['img']`` (T, H, W[, C]) as one.

    Added keys: ``video_reader``, ``total_frames``, ``avg_fps``, ``start_index`` (0).

    Args:
        num_frames (str): ``'header'`` (the container's count, mmaction2's choice, instant) or ``'decode'``
            (decode the whole file once and count: exact for files whose header lies).
        channel_order (str): ``'rgb'`` or ``'bgr'``.
    """

    def __init__(self, num_frames: str = 'header', channel_order: str = 'rgb'):
        if num_frames not in ('header', 'decode'):
            raise ValueError(f"invalid num_frames {num_frames!r}; valid: 'header', 'decode'")
        self.num_frames, self.channel_order = num_frames, channel_order

    def transform(self, results: dict) -> dict:
        if results.get('filename') is not None:
            reader = VideoReader(results['filename'], channel_order=self.channel_order)
        elif results.get('img') is not None:
            reader = ArrayVideoReader(results['img'], name=f"clip {results.get('sample_idx', '?')}")
        else:
            raise KeyError("VideoInit needs 'filename' (a video file) or 'img' (an in-memory clip)")
        results['video_reader'] = reader
        results['total_frames'] = reader.count_frames() if self.num_frames == 'decode' else reader.num_frames
        results['avg_fps'] = reader.fps
        results.setdefault('start_index', 0)
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(num_frames={self.num_frames!r}, channel_order={self.channel_order!r})'


@TRANSFORMS.register_module()
class SampleFrames(BaseTransform):
    """Choose ``num_clips`` clips of ``clip_len`` frames ``frame_interval`` apart (rules in the module docstring).

    Required keys: ``total_frames``, ``start_index``. Added keys: ``frame_inds`` (num_clips * clip_len,) int,
    ``clip_len``, ``frame_interval``, ``num_clips``. Training draws from numpy's global generator (seeded by
    mmengine's runner and worker init), as mmaction2.
    """

    def __init__(self, clip_len: int, frame_interval: int = 1, num_clips: int = 1, test_mode: bool = False,
                 out_of_bound_opt: str = 'loop'):
        if clip_len < 1 or frame_interval < 1 or num_clips < 1:
            raise ValueError(f'clip_len, frame_interval and num_clips must be >= 1, got {clip_len}, '
                             f'{frame_interval}, {num_clips}')
        if out_of_bound_opt not in OUT_OF_BOUND:
            raise ValueError(f'invalid out_of_bound_opt {out_of_bound_opt!r}; valid: {OUT_OF_BOUND}')
        self.clip_len, self.frame_interval, self.num_clips = clip_len, frame_interval, num_clips
        self.test_mode, self.out_of_bound_opt = test_mode, out_of_bound_opt

    def clip_offsets(self, total: int, rng: Optional[np.random.RandomState] = None) -> np.ndarray:
        """Start frame of each clip (before ``start_index``)."""
        n = self.num_clips
        if self.test_mode:
            if self.clip_len == 1:
                avg = total / n
                return (np.arange(n) * avg + avg / 2).astype(np.int64)
            max_offset = max(total - ((self.clip_len - 1) * self.frame_interval + 1), 0)
            if n == 1:
                return np.array([max_offset // 2])
            return np.round(np.arange(n) * (max_offset / (n - 1))).astype(np.int64)
        rng = rng or np.random
        span = self.clip_len * self.frame_interval
        avg = (total - span + 1) // n
        if avg > 0:
            return np.arange(n) * avg + rng.randint(avg, size=n)
        if total > max(n, span):
            return np.sort(rng.randint(total - span + 1, size=n))
        if avg == 0:
            return np.around(np.arange(n) * ((total - span + 1.0) / n)).astype(np.int64)
        return np.zeros(n, dtype=np.int64)

    def frame_indices(self, total: int, rng: Optional[np.random.RandomState] = None) -> np.ndarray:
        """(num_clips, clip_len) frame indices, out-of-bound ones resolved."""
        if total < 1:
            raise ValueError(f'cannot sample frames from a video with {total} frames')
        inds = self.clip_offsets(total, rng)[:, None] + np.arange(self.clip_len)[None] * self.frame_interval
        if self.out_of_bound_opt == 'loop':
            return np.mod(inds, total)
        valid = inds < total
        last = np.max(np.where(valid, inds, 0), axis=1, keepdims=True)
        return np.where(valid, inds, last)

    def transform(self, results: dict) -> dict:
        inds = self.frame_indices(int(results['total_frames']))
        results['frame_inds'] = (inds.reshape(-1) + results.get('start_index', 0)).astype(np.int64)
        results.update(clip_len=self.clip_len, frame_interval=self.frame_interval, num_clips=self.num_clips)
        return results

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(clip_len={self.clip_len}, frame_interval={self.frame_interval}, '
                f'num_clips={self.num_clips}, test_mode={self.test_mode}, '
                f'out_of_bound_opt={self.out_of_bound_opt!r})')


@TRANSFORMS.register_module()
class VideoDecode(BaseTransform):
    """Decode ``frame_inds`` from ``video_reader`` into ``imgs`` (a list of (H, W[, C]) uint8 frames).

    Added keys: ``imgs``, ``original_shape``, ``img_shape`` ((H, W)). The reader is dropped afterwards (a
    decoded sample holds no open file). A frame that does not decode raises ``VideoDecodeError`` naming the
    file and the frame index.
    """

    def transform(self, results: dict) -> dict:
        reader = results.pop('video_reader')
        imgs = reader.get_frames(results['frame_inds'])
        results['imgs'] = imgs
        results['original_shape'] = results['img_shape'] = tuple(imgs[0].shape[:2])
        return results
