"""mmengine metrics of temporal action localization: ActivityNet's AR@AN for proposals and the mAP of
detections at tIoU thresholds (THUMOS'14 style), on the per-video predictions of a localizer such as ``TALMR``.

Each prediction (a dict) carries ``video_id``, ``proposals`` (P, 3) ``[start, end, score]`` seconds,
``proposal_labels`` (P,) class indices (detection only), ``gt_segments`` (K, 2) seconds and ``gt_labels`` (K,).
"""
from typing import List, Sequence

import numpy as np
from mmengine.evaluator import BaseMetric

from tessera_video.evaluation.temporal_metrics import (ANET_PROPOSAL_TIOUS, THUMOS_DETECTION_TIOUS, ar_at_an,
                                                       mean_average_precision)
from tessera_video.registry import METRICS


def _check(sample: dict, keys: Sequence[str], metric: str) -> None:
    missing = [k for k in keys if k not in sample]
    if missing:
        raise KeyError(f'{metric} needs {missing} in every prediction (video {sample.get("video_id", "?")})')


@METRICS.register_module()
class ProposalRecallMetric(BaseMetric):
    """ActivityNet AR@AN: keys ``AR@{AN}`` (percent) and ``AUC`` (percent of the AR-AN area at ``max(ans)``).

    Args:
        ans (Sequence[int]): Average numbers of proposals per video (ActivityNet reports 1, 5, 10, 100).
        tiou_thresholds (Sequence[float]): tIoU thresholds averaged (ActivityNet 0.5:0.05:0.95; TAL-MR's
            THUMOS evaluation uses ``np.linspace(0.5, 1.0, 11)``).
    """
    default_prefix = 'proposal'

    def __init__(self, ans: Sequence[int] = (1, 5, 10, 100), tiou_thresholds: Sequence[float] = ANET_PROPOSAL_TIOUS,
                 collect_device: str = 'cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not ans or min(ans) < 1:
            raise ValueError(f'ans must be positive numbers of proposals, got {tuple(ans)}')
        self.ans, self.tiou_thresholds = tuple(int(a) for a in ans), tuple(float(t) for t in tiou_thresholds)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            _check(s, ('video_id', 'proposals', 'gt_segments'), type(self).__name__)
            self.results.append(dict(video_id=s['video_id'], proposals=np.asarray(s['proposals']).reshape(-1, 3),
                                     gt_segments=np.asarray(s['gt_segments']).reshape(-1, 2)))

    def compute_metrics(self, results: List[dict]) -> dict:
        gt = {r['video_id']: r['gt_segments'] for r in results}
        props = {r['video_id']: r['proposals'] for r in results}
        ar = ar_at_an(gt, props, self.ans, self.tiou_thresholds)
        out = {f'AR@{an}': 100 * ar[an] for an in self.ans}
        out['AUC'] = 100 * ar['auc']
        return out


@METRICS.register_module()
class DetectionMAPMetric(BaseMetric):
    """mAP of labelled proposals at tIoU thresholds: keys ``mAP@{t}`` (percent) and ``mAP`` (their mean).

    Args:
        tiou_thresholds (Sequence[float]): THUMOS'14's 0.3, 0.4, 0.5, 0.6, 0.7 by default.
        max_per_video (int): Detections kept per video, best scores first (200, as the official
            ``main_detection.py``).
    """
    default_prefix = 'detection'

    def __init__(self, tiou_thresholds: Sequence[float] = THUMOS_DETECTION_TIOUS, max_per_video: int = 200,
                 collect_device: str = 'cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.tiou_thresholds = tuple(float(t) for t in tiou_thresholds)
        self.max_per_video = max_per_video

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for s in data_samples:
            _check(s, ('video_id', 'proposals', 'proposal_labels', 'gt_segments', 'gt_labels'), type(self).__name__)
            rows = np.asarray(s['proposals'], dtype=np.float64).reshape(-1, 3)
            labels = np.asarray(s['proposal_labels']).reshape(-1)
            if len(labels) != len(rows):
                raise ValueError(f'video {s["video_id"]}: {len(rows)} proposals but {len(labels)} labels')
            keep = np.argsort(-rows[:, 2], kind='stable')[:self.max_per_video]
            self.results.append(dict(video_id=s['video_id'], rows=rows[keep], labels=labels[keep],
                                     gt_segments=np.asarray(s['gt_segments']).reshape(-1, 2),
                                     gt_labels=np.asarray(s['gt_labels']).reshape(-1)))

    def compute_metrics(self, results: List[dict]) -> dict:
        gt = {r['video_id']: (r['gt_segments'], r['gt_labels']) for r in results}
        det = {r['video_id']: (r['rows'], r['labels']) for r in results}
        m_ap, _ = mean_average_precision(gt, det, self.tiou_thresholds)
        out = {f'mAP@{t:g}': 100 * float(v) for t, v in zip(self.tiou_thresholds, m_ap)}
        out['mAP'] = 100 * float(np.mean(m_ap))
        return out
