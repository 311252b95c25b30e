"""Temporal localization metrics: temporal IoU, ActivityNet's average recall vs average number of proposals
(AR@AN), and the average precision of detections at tIoU thresholds (ActivityNet / THUMOS'14 mAP).

Written from the ActivityNet evaluation kit (https://github.com/activitynet/ActivityNet, ``Evaluation/``:
``eval_proposal.py: average_recall_vs_avg_nr_proposals``, ``eval_detection.py:
compute_average_precision_detection``, ``utils.py: segment_iou, interpolated_prec_rec``), the copy that TAL-MR's
official code evaluates with. Inputs are plain arrays per video: ground truth ``{video_id: (K, 2)}`` and
proposals ``{video_id: (P, 3) [start, end, score]}`` (seconds).

AR@AN: every video keeps the share ``r = AN_max * V / P_total`` of its score-sorted proposals (all of them when
that is more), and at ``AN = j / 1000 * AN_max`` (j = 1..1000) each video keeps the first
``floor(n_v * j / 1000 * AN_max * V / kept_total)`` of those; recall at a tIoU threshold = ground-truth
instances matched by at least one kept proposal / all instances, averaged over the thresholds.
"""
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

ANET_PROPOSAL_TIOUS = np.linspace(0.5, 0.95, 10)
THUMOS_DETECTION_TIOUS = np.array([0.3, 0.4, 0.5, 0.6, 0.7])


def temporal_iou(candidates: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """(N, M) tIoU of (N, 2) and (M, 2) ``[start, end]`` segments: intersection / union, 0 without overlap."""
    a = np.asarray(candidates, dtype=np.float64).reshape(-1, 2)
    b = np.asarray(targets, dtype=np.float64).reshape(-1, 2)
    inter = np.clip(np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    union = (a[:, None, 1] - a[:, None, 0]) + (b[None, :, 1] - b[None, :, 0]) - inter
    return np.where(union > 0, inter / np.where(union > 0, union, 1.0), 0.0)


def average_recall_vs_avg_nr_proposals(ground_truth: Dict[str, np.ndarray], proposals: Dict[str, np.ndarray],
                                       max_avg_nr_proposals: Optional[float] = None,
                                       tiou_thresholds: Sequence[float] = ANET_PROPOSAL_TIOUS
                                       ) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ActivityNet's AR vs AN curve (module docstring).

    Args:
        ground_truth (dict): ``{video_id: (K, 2)}``; videos without ground truth are ignored (as in the kit).
        proposals (dict): ``{video_id: (P, 3)}``; a video without proposals recalls nothing.
        max_avg_nr_proposals (float, optional): ``AN_max`` (default: all proposals per video on average).
        tiou_thresholds (Sequence[float]): tIoU thresholds (ActivityNet: 0.5:0.05:0.95).

    Returns:
        tuple: ``recall`` (len(thresholds), 1000), ``avg_recall`` (1000,), ``proposals_per_video`` (1000,).
    """
    videos = [v for v, g in ground_truth.items() if len(np.asarray(g).reshape(-1, 2))]
    if not videos:
        raise ValueError('no ground-truth instance to recall')
    props = {v: np.asarray(proposals.get(v, np.zeros((0, 3))), dtype=np.float64).reshape(-1, 3) for v in videos}
    total = sum(len(p) for p in props.values())
    if total == 0:
        raise ValueError('no proposals in any video with ground truth')
    if not max_avg_nr_proposals:
        max_avg_nr_proposals = total / len(videos)
    ratio = max_avg_nr_proposals * len(videos) / total
    scores, kept_total = [], 0
    for v in videos:
        gt = np.asarray(ground_truth[v], dtype=np.float64).reshape(-1, 2)
        p = props[v]
        if len(p) == 0:
            scores.append(np.zeros((len(gt), 0)))
            continue
        p = p[np.argsort(-p[:, 2], kind='stable')]
        n = min(int(len(p) * ratio), len(p))
        kept_total += n
        scores.append(temporal_iou(gt, p[:n, :2]))          # (K, n)
    pcn = np.arange(1, 1001) / 1000.0 * (max_avg_nr_proposals * len(videos) / max(kept_total, 1))
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64)
    recall = np.empty((len(thresholds), len(pcn)))
    positives = sum(s.shape[0] for s in scores)
    for r, thr in enumerate(thresholds):
        matches = np.zeros(len(pcn))
        for s in scores:
            if s.shape[1] == 0:
                continue
            hit = s >= thr
            counts = np.minimum((s.shape[1] * pcn).astype(int), s.shape[1])
            # first proposal index (1-based) that recalls each instance; inf if none does
            first = np.where(hit.any(1), hit.argmax(1) + 1, np.inf)
            matches += (first[None, :] <= counts[:, None]).sum(1)
        recall[r] = matches / positives
    proposals_per_video = pcn * kept_total / len(videos)
    return recall, recall.mean(0), proposals_per_video


def ar_at_an(ground_truth: Dict[str, np.ndarray], proposals: Dict[str, np.ndarray], ans: Sequence[int] = (100,),
             tiou_thresholds: Sequence[float] = ANET_PROPOSAL_TIOUS) -> Dict[int, float]:
    """``{AN: AR}`` read off ActivityNet's curve with ``AN_max = max(ans)``, plus the key ``'auc'`` (area under
    the AR-AN curve divided by ``AN_max``, the ActivityNet challenge score, in [0, 1])."""
    an_max = max(ans)
    _, avg_recall, per_video = average_recall_vs_avg_nr_proposals(ground_truth, proposals, an_max,
                                                                  tiou_thresholds)
    out = {}
    for an in ans:
        j = int(round(an / an_max * 1000)) - 1
        if not 0 <= j < 1000:
            raise ValueError(f'AN {an} is not on the curve of AN_max {an_max}')
        out[an] = float(avg_recall[j])
    out['auc'] = float(np.trapezoid(avg_recall, per_video) / per_video[-1]) if per_video[-1] > 0 else 0.0
    return out


def interpolated_average_precision(precision: np.ndarray, recall: np.ndarray) -> float:
    """VOC-style area under the precision envelope (ActivityNet's ``interpolated_prec_rec``)."""
    mprec = np.concatenate([[0.0], precision, [0.0]])
    mrec = np.concatenate([[0.0], recall, [1.0]])
    for i in range(len(mprec) - 2, -1, -1):
        mprec[i] = max(mprec[i], mprec[i + 1])
    idx = np.flatnonzero(mrec[1:] != mrec[:-1]) + 1
    return float(np.sum((mrec[idx] - mrec[idx - 1]) * mprec[idx]))


def average_precision_detection(ground_truth: Dict[str, np.ndarray], detections: Dict[str, np.ndarray],
                                tiou_thresholds: Sequence[float] = THUMOS_DETECTION_TIOUS) -> np.ndarray:
    """AP of one class at each threshold (ActivityNet's ``compute_average_precision_detection``).

    Detections of all videos are ranked by score; each, in turn, matches the unmatched ground truth of its video
    with the highest tIoU if that tIoU reaches the threshold (a true positive), else it is a false positive.

    Args:
        ground_truth (dict): ``{video_id: (K, 2)}`` instances of the class.
        detections (dict): ``{video_id: (P, 3)}`` detections of the class.

    Returns:
        ndarray: (len(thresholds),) AP; zeros when the class has no ground truth.
    """
    thresholds = np.asarray(tiou_thresholds, dtype=np.float64)
    npos = sum(len(np.asarray(g).reshape(-1, 2)) for g in ground_truth.values())
    rows = [(v, d) for v, dets in detections.items() for d in np.asarray(dets, dtype=np.float64).reshape(-1, 3)]
    if npos == 0 or not rows:
        return np.zeros(len(thresholds))
    order = np.argsort(-np.array([d[2] for _, d in rows]), kind='stable')
    rows = [rows[i] for i in order]
    tp = np.zeros((len(thresholds), len(rows)))
    fp = np.zeros((len(thresholds), len(rows)))
    locked = {v: np.zeros((len(thresholds), len(np.asarray(g).reshape(-1, 2))), dtype=bool)
              for v, g in ground_truth.items()}
    for i, (v, det) in enumerate(rows):
        gt = np.asarray(ground_truth.get(v, np.zeros((0, 2))), dtype=np.float64).reshape(-1, 2)
        if len(gt) == 0:
            fp[:, i] = 1
            continue
        tiou = temporal_iou(det[None, :2], gt)[0]
        by_iou = np.argsort(-tiou, kind='stable')
        for t, thr in enumerate(thresholds):
            for j in by_iou:
                if tiou[j] < thr:
                    break
                if locked[v][t, j]:
                    continue
                tp[t, i], locked[v][t, j] = 1, True
                break
            if not tp[t, i]:
                fp[t, i] = 1
    tp_cum, fp_cum = np.cumsum(tp, 1), np.cumsum(fp, 1)
    recall = tp_cum / npos
    precision = tp_cum / (tp_cum + fp_cum)
    return np.array([interpolated_average_precision(precision[t], recall[t]) for t in range(len(thresholds))])


def mean_average_precision(ground_truth: Dict[str, Tuple[np.ndarray, np.ndarray]],
                           detections: Dict[str, Tuple[np.ndarray, np.ndarray]],
                           tiou_thresholds: Sequence[float] = THUMOS_DETECTION_TIOUS) -> Tuple[np.ndarray, dict]:
    """mAP over the classes present in the ground truth.

    Args:
        ground_truth (dict): ``{video_id: (segments (K, 2), labels (K,))}``.
        detections (dict): ``{video_id: (rows (P, 3), labels (P,))}``.

    Returns:
        tuple: ``mAP`` (len(thresholds),) and ``{class: AP (len(thresholds),)}``.
    """
    classes = sorted({int(c) for _, labels in ground_truth.values() for c in np.asarray(labels).reshape(-1)})
    if not classes:
        raise ValueError('no ground-truth instance to detect')
    per_class = {}
    for c in classes:
        gt_c = {v: np.asarray(seg).reshape(-1, 2)[np.asarray(lab).reshape(-1) == c]
                for v, (seg, lab) in ground_truth.items()}
        det_c = {v: np.asarray(rows).reshape(-1, 3)[np.asarray(lab).reshape(-1) == c]
                 for v, (rows, lab) in detections.items()}
        per_class[c] = average_precision_detection(gt_c, det_c, tiou_thresholds)
    return np.mean(np.stack(list(per_class.values())), 0), per_class
