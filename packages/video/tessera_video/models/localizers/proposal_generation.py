"""Bottom-up proposal generation from start / end probability curves, and soft-NMS on temporal segments.

As the official TAL-MR code (``generate_proposals.py`` of https://github.com/PeisenZhao/Bottom-Up-TAL-with-MR),
which follows BSN's proposal generation (Lin et al., ECCV 2018, arXiv:1806.02964):

1. candidate starts: positions whose start probability is above ``(max + min) / 2`` of the video's start curve,
   or a strict local peak (``s_t > s_{t-1}`` and ``s_t > s_{t+1}``); the same for the ends. No start: position
   0; no end: the last position; if every start is at or after every end, position 0 joins the starts and the
   last position the ends.
2. pairs: each start with the first ``max_ends_per_start`` (5) candidate ends after it whose distance is at most
   ``max_duration`` positions (190 in the official code); score ``s[start] * e[end]``.
3. boundaries: position centres plus the regressed offsets (``center_s + offset_s[start]``,
   ``center_e + offset_e[end]``).
4. soft-NMS (the official variant): repeatedly keep the best-scored segment and decay the score of every other
   segment overlapping it by more than ``iou_threshold`` (0.7) with ``exp(-tIoU^2 / sigma)`` (sigma 0.75),
   until ``max_num`` are kept.
"""
from typing import List, Optional, Sequence, Tuple

import numpy as np


def boundary_candidates(prob: np.ndarray) -> np.ndarray:
    """Boolean (T,): above ``(max + min) / 2`` or a strict interior local peak."""
    prob = np.asarray(prob, dtype=np.float64)
    if prob.ndim != 1 or prob.size == 0:
        raise ValueError(f'a probability curve is (T,) with T >= 1, got shape {prob.shape}')
    flags = prob > 0.5 * (prob.max() + prob.min())
    if prob.size >= 3:
        flags[1:-1] |= (prob[1:-1] > prob[:-2]) & (prob[1:-1] > prob[2:])
    return flags


def pair_boundaries(start: np.ndarray, end: np.ndarray, max_duration: int = 190,
                    max_ends_per_start: int = 5) -> List[Tuple[int, int, float]]:
    """``[(start_index, end_index, s[start] * e[end]), ...]`` of the official pairing (module docstring, 1-2)."""
    start, end = np.asarray(start, dtype=np.float64), np.asarray(end, dtype=np.float64)
    if start.shape != end.shape:
        raise ValueError(f'start {start.shape} and end {end.shape} curves differ in shape')
    starts = np.flatnonzero(boundary_candidates(start)).tolist()
    ends = np.flatnonzero(boundary_candidates(end)).tolist()
    # the maximum of a curve is always a candidate: only a constant curve has none (the official fallbacks)
    if not starts:
        starts = [0]
    if not ends:
        ends = [len(end) - 1]
    if min(starts) >= max(ends):
        starts, ends = sorted(set(starts) | {0}), sorted(set(ends) | {len(end) - 1})
    pairs = []
    for s in starts:
        count = 0
        for e in ends:
            if e <= s or e - s > max_duration:
                continue
            count += 1
            if count > max_ends_per_start:
                break
            pairs.append((s, e, float(start[s] * end[e])))
    return pairs


def segment_iou_1d(segment: Sequence[float], others: np.ndarray) -> np.ndarray:
    """tIoU of one ``[s, e]`` with (M, 2) segments."""
    others = np.asarray(others, dtype=np.float64).reshape(-1, 2)
    inter = np.clip(np.minimum(segment[1], others[:, 1]) - np.maximum(segment[0], others[:, 0]), 0, None)
    union = (segment[1] - segment[0]) + (others[:, 1] - others[:, 0]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1), 0.0)


def soft_nms(segments: np.ndarray, iou_threshold: float = 0.7, sigma: float = 0.75,
             max_num: int = 1000) -> np.ndarray:
    """Soft-NMS of (P, 3) ``[start, end, score]`` rows; returns the kept rows (with decayed scores) in the order
    they were kept (descending score at the time of keeping)."""
    rows = np.asarray(segments, dtype=np.float64).reshape(-1, 3).copy()
    kept = []
    while len(rows) and len(kept) < max_num:
        best = int(np.argmax(rows[:, 2]))
        top = rows[best]
        kept.append(top.copy())
        rows = np.delete(rows, best, axis=0)
        if len(rows):
            iou = segment_iou_1d(top[:2], rows[:, :2])
            decay = np.where(iou > iou_threshold, np.exp(-np.square(iou) / sigma), 1.0)
            rows[:, 2] *= decay
    return np.array(kept, dtype=np.float64).reshape(-1, 3)


def generate_proposals(start: np.ndarray, end: np.ndarray, centers: np.ndarray,
                       start_offset: Optional[np.ndarray] = None, end_offset: Optional[np.ndarray] = None,
                       max_duration: int = 190, max_ends_per_start: int = 5, duration: Optional[float] = None,
                       soft_nms_cfg: Optional[dict] = None) -> np.ndarray:
    """Proposals (P, 3) ``[start_s, end_s, score]`` of one video, in the units of ``centers`` (seconds), after
    soft-NMS (``soft_nms_cfg=None`` uses the official 0.7 / 0.75 / 1000; pass ``False`` to skip it).

    Boundaries with offsets are clipped to ``[0, duration]`` when ``duration`` is given; a pair whose regressed
    end is not after its regressed start is dropped (the official code keeps it).
    """
    centers = np.asarray(centers, dtype=np.float64)
    t = len(centers)
    start_offset = np.zeros(t) if start_offset is None else np.asarray(start_offset, dtype=np.float64)
    end_offset = np.zeros(t) if end_offset is None else np.asarray(end_offset, dtype=np.float64)
    rows = []
    for s, e, score in pair_boundaries(start, end, max_duration, max_ends_per_start):
        ts, te = centers[s] + start_offset[s], centers[e] + end_offset[e]
        if duration is not None:
            ts, te = min(max(ts, 0.0), duration), min(max(te, 0.0), duration)
        if te > ts:
            rows.append((ts, te, score))
    rows = np.array(rows, dtype=np.float64).reshape(-1, 3)
    if soft_nms_cfg is False:
        return rows[np.argsort(-rows[:, 2], kind='stable')]
    return soft_nms(rows, **(soft_nms_cfg or {}))
