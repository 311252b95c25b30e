"""Frame-accurate video reading on OpenCV (``cv2.VideoCapture``, present with mmcv) and in-memory clips.

mmaction2 decodes with decord, PyAV or OpenCV (``DecordInit`` / ``PyAVInit`` / ``OpenCVInit``); none but OpenCV
is guaranteed on this stack, so :class:`VideoReader` decodes with OpenCV's FFmpeg backend. Frames are read
sequentially (``grab`` up to the wanted index, ``retrieve`` there): seeking with ``CAP_PROP_POS_FRAMES`` lands on
key frames for many codecs, sequential grabbing is exact. The header's frame count can be wrong (Debian
opencv-doc's ``tree.avi`` announces 444 frames and decodes 68), so a frame that cannot be decoded raises
:class:`VideoDecodeError` naming the file and the frame index, and :meth:`VideoReader.count_frames` gives the
decodable count.

:class:`ArrayVideoReader` serves an in-memory (T, H, W[, C]) clip (the embedded moving digits) through the same
interface, so one pipeline (``VideoInit`` -> ``SampleFrames`` -> ``VideoDecode``) serves files and arrays.
"""
import os
from typing import List, Sequence

import numpy as np


class VideoDecodeError(ValueError):
    """A video file that cannot be opened or decoded; the message names the file (and the frame)."""


class VideoReader:
    """Random access to the frames of one video file.

    Args:
        path (str): Video file (any container / codec OpenCV's FFmpeg reads: avi, mp4, mkv, ...).
        channel_order (str): ``'rgb'`` (default, as mmaction2's decoders return) or ``'bgr'`` (OpenCV's own).

    Attributes: ``num_frames`` (the header's count), ``fps``, ``height``, ``width``.
    Raises :class:`VideoDecodeError` if the file is missing, cannot be opened, or its first frame does not decode.
    """

    def __init__(self, path: str, channel_order: str = 'rgb'):
        import cv2
        if channel_order not in ('rgb', 'bgr'):
            raise ValueError(f"invalid channel_order {channel_order!r}; valid: 'rgb', 'bgr'")
        self.path, self.channel_order = str(path), channel_order
        if not os.path.isfile(self.path):
            raise VideoDecodeError(f'video file not found: {self.path}')
        cap = cv2.VideoCapture(self.path)
        try:
            if not cap.isOpened():
                raise VideoDecodeError(f'cannot open video file {self.path}: OpenCV/FFmpeg does not recognise it '
                                       f'as a video (corrupt file or unsupported container)')
            self.num_frames = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
            self.fps = float(cap.get(cv2.CAP_PROP_FPS))
            ok, frame = cap.read()
            if not ok or frame is None:
                raise VideoDecodeError(f'cannot decode video file {self.path}: frame 0 does not decode')
            self.height, self.width = frame.shape[:2]
        finally:
            cap.release()
        if self.num_frames <= 0:
            self.num_frames = self.count_frames()

    def __len__(self) -> int:
        return self.num_frames

    def _convert(self, frame: np.ndarray) -> np.ndarray:
        return np.ascontiguousarray(frame[..., ::-1]) if self.channel_order == 'rgb' else frame

    def get_frames(self, indices: Sequence[int]) -> List[np.ndarray]:
        """Decode the frames at ``indices`` (any order, repeats allowed), each (H, W, 3) uint8."""
        import cv2
        indices = [int(i) for i in indices]
        if not indices:
            return []
        bad = [i for i in indices if i < 0]
        if bad:
            raise IndexError(f'negative frame index {bad[0]} for video {self.path}')
        wanted = set(indices)
        last = max(wanted)
        frames = {}
        cap = cv2.VideoCapture(self.path)
        try:
            for i in range(last + 1):
                if not cap.grab():
                    raise VideoDecodeError(
                        f'decoding {self.path} failed at frame {i} (wanted frames up to {last}; the header says '
                        f'{self.num_frames} frames, {i} decoded): truncated or corrupt file')
                if i in wanted:
                    ok, frame = cap.retrieve()
                    if not ok or frame is None:
                        raise VideoDecodeError(f'decoding {self.path} failed at frame {i}: the frame was read but '
                                               f'does not decode')
                    frames[i] = self._convert(frame)
        finally:
            cap.release()
        return [frames[i] for i in indices]

    def count_frames(self) -> int:
        """Frames that actually decode (reads the whole file)."""
        import cv2
        cap = cv2.VideoCapture(self.path)
        n = 0
        try:
            while cap.grab():
                n += 1
        finally:
            cap.release()
        return n

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}({self.path!r}, num_frames={self.num_frames}, fps={self.fps:.3f}, '
                f'size={self.width}x{self.height})')


class ArrayVideoReader:
    """The :class:`VideoReader` interface over an in-memory clip (T, H, W) or (T, H, W, C)."""

    def __init__(self, frames: np.ndarray, fps: float = 25.0, name: str = '<array>'):
        frames = np.asarray(frames)
        if frames.ndim not in (3, 4):
            raise ValueError(f'{name}: expected a (T, H, W) or (T, H, W, C) clip, got shape {frames.shape}')
        self.frames, self.path, self.fps = frames, name, float(fps)
        self.num_frames = len(frames)
        self.height, self.width = frames.shape[1:3]

    def __len__(self) -> int:
        return self.num_frames

    def get_frames(self, indices: Sequence[int]) -> List[np.ndarray]:
        indices = [int(i) for i in indices]
        bad = [i for i in indices if not 0 <= i < self.num_frames]
        if bad:
            raise IndexError(f'frame {bad[0]} is outside {self.path} ({self.num_frames} frames)')
        return [self.frames[i] for i in indices]

    def count_frames(self) -> int:
        return self.num_frames
