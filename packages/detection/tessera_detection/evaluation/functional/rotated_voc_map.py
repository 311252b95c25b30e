"""VOC-style AP of rotated boxes, as DOTA_devkit's ``voc_eval`` computes it (``dota_evaluation_task1.py``).

For one class and one IoU threshold ``t``:

1. ``npos`` = number of ground truths that are not ``difficult``.
2. The detections of the class in all images are sorted by score, highest
   first (a stable sort: equal scores keep their input order; the devkit's
   ``np.argsort`` leaves ties unspecified).
3. Going down the list, a detection takes the ground truth of its image with
   the largest rotated IoU (``mmcv.ops.box_iou_rotated``), difficult ones
   included. If that IoU is ``> t`` (strictly, as the devkit): a difficult
   ground truth makes the detection neither a TP nor an FP; an unmatched one
   makes it a TP and marks the ground truth matched; an already matched one
   makes it an FP. Otherwise (or in an image without ground truth of the
   class) it is an FP.
4. ``recall = cumsum(tp) / npos``, ``precision = cumsum(tp) / max(cumsum(tp + fp), eps)``.
5. AP = the area under the precision envelope, all points (``voc_ap`` with
   ``use_07_metric=False``): with sentinels ``mrec = [0, recall, 1]`` and
   ``mpre = [0, precision, 0]``, ``mpre[i] = max(mpre[i:])``, and
   ``AP = sum_i (mrec[i+1] - mrec[i]) * mpre[i+1]`` over the steps of recall.

A class without non-difficult ground truth has no defined AP (the devkit
divides by zero): it is NaN and left out of the mean, as mmdet's ``eval_map``
leaves such classes out.
"""
from typing import Dict, List, Sequence

import numpy as np
import torch


def voc_ap(recall: np.ndarray, precision: np.ndarray) -> float:
    """All-point interpolated AP (the devkit's ``voc_ap(rec, prec, use_07_metric=False)``)."""
    mrec = np.concatenate(([0.], np.asarray(recall, dtype=np.float64), [1.]))
    mpre = np.concatenate(([0.], np.asarray(precision, dtype=np.float64), [0.]))
    mpre = np.maximum.accumulate(mpre[::-1])[::-1]  # precision envelope
    i = np.flatnonzero(mrec[1:] != mrec[:-1])
    return float(np.sum((mrec[i + 1] - mrec[i]) * mpre[i + 1]))


def rotated_ious(dets: np.ndarray, gts: np.ndarray) -> np.ndarray:
    """``(N, 5) x (M, 5) -> (N, M)`` rotated IoU by ``mmcv.ops.box_iou_rotated`` (float32 on the CPU)."""
    if len(dets) == 0 or len(gts) == 0:
        return np.zeros((len(dets), len(gts)), dtype=np.float64)
    from mmcv.ops import box_iou_rotated
    out = box_iou_rotated(torch.as_tensor(dets, dtype=torch.float32), torch.as_tensor(gts, dtype=torch.float32))
    return out.numpy().astype(np.float64)


def tp_fp_one_class(scores: List[np.ndarray], ious: List[np.ndarray], difficult: List[np.ndarray],
                    iou_thr: float) -> Dict[str, np.ndarray]:
    """Steps 2-3 of the module docstring for one class.

    Args:
        scores: Per image, ``(N_i,)`` detection scores.
        ious: Per image, ``(N_i, M_i)`` IoUs of its detections with its ground truths.
        difficult: Per image, bool ``(M_i,)``.
        iou_thr: A detection matches when its best IoU is ``> iou_thr``.

    Returns:
        dict: ``scores``, ``tp``, ``fp`` (float ``(N,)`` each, sorted by score).
    """
    image = np.concatenate([np.full(len(s), i) for i, s in enumerate(scores)] + [np.zeros(0, int)]).astype(int)
    row = np.concatenate([np.arange(len(s)) for s in scores] + [np.zeros(0, int)]).astype(int)
    flat = np.concatenate([np.asarray(s, dtype=np.float64) for s in scores] + [np.zeros(0)])
    order = np.argsort(-flat, kind='stable')
    tp, fp = np.zeros(len(order)), np.zeros(len(order))
    matched = [np.zeros(len(d), dtype=bool) for d in difficult]
    for k, d in enumerate(order):
        i, r = image[d], row[d]
        if ious[i].shape[1] == 0:
            fp[k] = 1
            continue
        j = int(np.argmax(ious[i][r]))
        if ious[i][r, j] > iou_thr:
            if difficult[i][j]:
                continue
            if not matched[i][j]:
                tp[k], matched[i][j] = 1, True
            else:
                fp[k] = 1
        else:
            fp[k] = 1
    return dict(scores=flat[order], tp=tp, fp=fp)


def eval_rotated_map(det_results: Sequence[Dict], annotations: Sequence[Dict], num_classes: int,
                     iou_thrs: Sequence[float] = (0.5,)) -> Dict:
    """DOTA's VOC-style AP of every class at every IoU threshold.

    Args:
        det_results: Per image ``dict(bboxes=(N, 5), scores=(N,), labels=(N,))``.
        annotations: Per image ``dict(bboxes=(M, 5), labels=(M,))`` and
            optionally ``difficult`` (bool ``(M,)``, default all False).
        num_classes: Number of classes.
        iou_thrs: IoU thresholds.

    Returns:
        dict: ``ap`` float ``(num_classes, len(iou_thrs))`` (NaN for a class
        without non-difficult ground truth), ``num_gts`` (non-difficult) and
        ``num_dets`` per class, ``recall`` (final recall) ``(num_classes, len(iou_thrs))``.
    """
    if len(det_results) != len(annotations):
        raise ValueError(f'{len(det_results)} detection results for {len(annotations)} images')
    iou_thrs = [float(t) for t in iou_thrs]
    ap = np.full((num_classes, len(iou_thrs)), np.nan)
    recall = np.full((num_classes, len(iou_thrs)), np.nan)
    num_gts, num_dets = np.zeros(num_classes, int), np.zeros(num_classes, int)
    for c in range(num_classes):
        scores, ious, difficult = [], [], []
        for det, ann in zip(det_results, annotations):
            dm = np.asarray(det['labels']) == c
            gm = np.asarray(ann['labels']) == c
            d_boxes = np.asarray(det['bboxes'], dtype=np.float64).reshape(-1, 5)[dm]
            g_boxes = np.asarray(ann['bboxes'], dtype=np.float64).reshape(-1, 5)[gm]
            diff = np.asarray(ann.get('difficult', np.zeros(len(gm), bool)), dtype=bool).reshape(-1)[gm]
            scores.append(np.asarray(det['scores'], dtype=np.float64).reshape(-1)[dm])
            ious.append(rotated_ious(d_boxes, g_boxes))
            difficult.append(diff)
        npos = int(sum((~d).sum() for d in difficult))
        num_gts[c], num_dets[c] = npos, int(sum(len(s) for s in scores))
        if npos == 0:
            continue
        for t, thr in enumerate(iou_thrs):
            r = tp_fp_one_class(scores, ious, difficult, thr)
            tp, fp = np.cumsum(r['tp']), np.cumsum(r['fp'])
            rec = tp / npos
            prec = tp / np.maximum(tp + fp, np.finfo(np.float64).eps)
            ap[c, t] = voc_ap(rec, prec)
            recall[c, t] = rec[-1] if len(rec) else 0.0
    return dict(ap=ap, num_gts=num_gts, num_dets=num_dets, recall=recall, iou_thrs=iou_thrs)
