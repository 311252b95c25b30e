"""Skeleton sequence transforms on ``keypoint`` (M persons, T frames, V joints, C coordinates), as HCN's official
pipeline (the authors' institute's skelact, ``skelact/datasets/transforms.py`` and ``tools/data/gen_ntu_rgbd_raw.py``,
https://github.com/hikvision-research/skelact; names as there, code ours):

- ``PoseCentralize``: subtract, per frame, the centre joint (NTU's joint 1, spine middle) of the first person from
  every present person (absent, all-zero persons stay zero), the centring step of the official pre-normalisation;
- ``PoseRandomCrop`` (training): a random window of ``U{int(T min_ratio), int(T max_ratio)}`` frames, at least
  ``min_len`` (at most T), at a uniform start;
- ``PoseCenterCrop`` (testing): the central ``int(T clip_ratio)`` frames;
- ``PoseResize``: the window resampled to ``clip_len`` frames by linear interpolation along time (bilinear on the
  (T, V) grid with ``align_corners=False``, the joints untouched).

Required key ``keypoint`` (and ``total_frames`` for the crops); modified ``keypoint``, ``total_frames``, added
``frame_inds`` (crops).
"""
import numpy as np
import torch
import torch.nn.functional as F
from mmcv.transforms import BaseTransform

from tessera_video.registry import TRANSFORMS


def _keypoint(results: dict, name: str) -> np.ndarray:
    kp = np.asarray(results['keypoint'])
    if kp.ndim != 4:
        raise ValueError(f'{name}: keypoint must be (M, T, V, C), got shape {kp.shape} '
                         f'({results.get("frame_dir", "?")})')
    return kp


@TRANSFORMS.register_module()
class PoseCentralize(BaseTransform):
    """Per frame, subtract joint ``center_joint`` of the first person from every present person."""

    def __init__(self, center_joint: int = 1):
        self.center_joint = center_joint

    def transform(self, results: dict) -> dict:
        kp = _keypoint(results, 'PoseCentralize').astype(np.float32)
        if not 0 <= self.center_joint < kp.shape[2]:
            raise ValueError(f'PoseCentralize: center_joint {self.center_joint} is not one of the {kp.shape[2]} '
                             f'joints ({results.get("frame_dir", "?")})')
        center = kp[0, :, self.center_joint:self.center_joint + 1].copy()  # (T, 1, C)
        present = np.abs(kp).sum(-1, keepdims=True) != 0  # (M, T, V, 1): a joint of an absent person is all zero
        results['keypoint'] = (kp - center[None]) * present
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(center_joint={self.center_joint})'


def _crop(results: dict, start: int, length: int) -> dict:
    inds = np.arange(start, start + length)
    results['keypoint'] = np.asarray(results['keypoint'])[:, inds]
    results['frame_inds'] = inds
    results['total_frames'] = length
    return results


@TRANSFORMS.register_module()
class PoseRandomCrop(BaseTransform):
    """A random window of ``min_ratio``-``max_ratio`` of the frames (at least ``min_len``, at most all)."""

    def __init__(self, min_ratio: float = 0.5, max_ratio: float = 1.0, min_len: int = 64):
        if not 0 < min_ratio <= max_ratio <= 1:
            raise ValueError(f'need 0 < min_ratio <= max_ratio <= 1, got {min_ratio}, {max_ratio}')
        self.min_ratio, self.max_ratio, self.min_len = min_ratio, max_ratio, min_len

    def transform(self, results: dict) -> dict:
        total = _keypoint(results, 'PoseRandomCrop').shape[1]
        length = np.random.randint(int(total * self.min_ratio), int(total * self.max_ratio) + 1)
        length = max(1, min(max(length, self.min_len), total))
        return _crop(results, np.random.randint(0, total - length + 1), length)

    def __repr__(self) -> str:
        return (f'{self.__class__.__name__}(min_ratio={self.min_ratio}, max_ratio={self.max_ratio}, '
                f'min_len={self.min_len})')


@TRANSFORMS.register_module()
class PoseCenterCrop(BaseTransform):
    """The central ``int(T clip_ratio)`` frames."""

    def __init__(self, clip_ratio: float = 0.9):
        if not 0 < clip_ratio <= 1:
            raise ValueError(f'need 0 < clip_ratio <= 1, got {clip_ratio}')
        self.clip_ratio = clip_ratio

    def transform(self, results: dict) -> dict:
        total = _keypoint(results, 'PoseCenterCrop').shape[1]
        length = max(1, int(total * self.clip_ratio))
        return _crop(results, (total - length) // 2, length)

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_ratio={self.clip_ratio})'


@TRANSFORMS.register_module()
class PoseResize(BaseTransform):
    """Resample the sequence to ``clip_len`` frames (linear in time, ``align_corners=False``)."""

    def __init__(self, clip_len: int = 32):
        if clip_len < 1:
            raise ValueError(f'clip_len must be >= 1, got {clip_len}')
        self.clip_len = clip_len

    def transform(self, results: dict) -> dict:
        kp = _keypoint(results, 'PoseResize')
        m, t, v, c = kp.shape
        x = torch.from_numpy(np.ascontiguousarray(kp, dtype=np.float32)).permute(0, 3, 1, 2)  # (M, C, T, V)
        x = F.interpolate(x, size=(self.clip_len, v), mode='bilinear', align_corners=False)
        results['keypoint'] = x.permute(0, 2, 3, 1).contiguous().numpy()
        results['total_frames'] = self.clip_len
        return results

    def __repr__(self) -> str:
        return f'{self.__class__.__name__}(clip_len={self.clip_len})'
