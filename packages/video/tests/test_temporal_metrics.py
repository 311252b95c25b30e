"""Temporal IoU, ActivityNet AR@AN and detection AP / mAP against values computed by hand on hand-built segments,
and the two registered mmengine metrics."""
import numpy as np
import pytest

from tessera_video.evaluation.temporal_localization_metrics import DetectionMAPMetric, ProposalRecallMetric
from tessera_video.evaluation.temporal_metrics import (ar_at_an, average_precision_detection,
                                                       average_recall_vs_avg_nr_proposals,
                                                       interpolated_average_precision, mean_average_precision,
                                                       temporal_iou)
from tessera_video.registry import METRICS


def test_temporal_iou_hand_computed():
    iou = temporal_iou(np.array([[0, 10], [3, 4]]), np.array([[5, 15], [10, 20], [2, 4]]))
    np.testing.assert_allclose(iou, [[5 / 15, 0, 2 / 10], [0, 0, 1 / 2]])
    assert temporal_iou(np.array([[1, 1]]), np.array([[1, 1]]))[0, 0] == 0   # empty segments


# Video a: two instances; its proposals recall the first exactly and the second at tIoU 0.82.
# Video b: one instance; its first proposal has tIoU 0.5 exactly, its second 1.
GT = {'a': np.array([[0.0, 10.0], [20.0, 30.0]]), 'b': np.array([[5.0, 10.0]])}
PROPS = {'a': np.array([[0.0, 10.0, 0.9], [21.8, 30.0, 0.8]]), 'b': np.array([[0.0, 10.0, 0.7], [5.0, 10.0, 0.6]])}


def test_ar_at_an_hand_computed():
    ar = ar_at_an(GT, PROPS, ans=(1, 2))
    # AN=1 (first proposal of each video): at tIoU 0.5 instances a0 and b0 (2/3), above only a0 (1/3):
    # (2/3 + 9 * 1/3) / 10 thresholds
    assert ar[1] == pytest.approx(11 / 30)
    # AN=2: a0 and b0 at every threshold, a1 at 0.5 .. 0.8 (7 thresholds): (7 * 3/3 + 3 * 2/3) / 10
    assert ar[2] == pytest.approx(0.9)


def test_ar_at_an_keeps_the_same_share_of_every_video():
    props = dict(PROPS, a=np.vstack([PROPS['a'], [[40, 50, 0.1], [60, 70, 0.05]]]))
    # 6 proposals for AN_max 2 over 2 videos: each video keeps int(n * 4/6): a 2, b 1 (only its tIoU-0.5 one)
    recall, avg, per_video = average_recall_vs_avg_nr_proposals(GT, props, max_avg_nr_proposals=2)
    assert per_video[-1] == pytest.approx(2.0)   # the AN axis is nominal: j / 1000 * AN_max
    # at the end of the curve: tIoU 0.5: 3/3; 0.55 .. 0.8: 2/3 (a0, a1); 0.85 .. 0.95: 1/3 (a0)
    assert avg[-1] == pytest.approx((1 + 6 * 2 / 3 + 3 * 1 / 3) / 10)
    assert recall.shape == (10, 1000)


def test_ar_without_proposals_for_a_video():
    ar = ar_at_an(GT, {'a': PROPS['a']}, ans=(2,))
    # b recalls nothing: a0 at every threshold, a1 at 7 of them, out of 3 instances
    assert ar[2] == pytest.approx((7 * 2 / 3 + 3 * 1 / 3) / 10)


def test_interpolated_average_precision_hand_computed():
    assert interpolated_average_precision(np.array([1.0, 0.5, 2 / 3, 0.75]),
                                          np.array([1 / 3, 1 / 3, 2 / 3, 1.0])) == pytest.approx(2.5 / 3)


def test_average_precision_detection_hand_computed():
    gt = {'a': np.array([[0.0, 10.0], [20.0, 30.0]]), 'b': np.array([[0.0, 10.0]])}
    det = {'a': np.array([[0.0, 10.0, 0.9],     # tp (tIoU 1)
                          [1.0, 10.0, 0.8],     # duplicate of a0 (already matched): fp
                          [20.0, 25.0, 0.6]]),  # tIoU 0.5 with a1: tp at 0.3 .. 0.5, fp above
           'b': np.array([[0.0, 9.0, 0.7]]),    # tIoU 0.9: tp
           'c': np.array([[0.0, 5.0, 0.65]])}   # a video without this class: fp
    ap = average_precision_detection(gt, det, tiou_thresholds=(0.3, 0.5, 0.7))
    # ranks: tp fp tp fp(c) tp -> precision 1, 1/2, 2/3, 2/4, 3/5; recall 1/3, 1/3, 2/3, 2/3, 1
    # envelope: 1 at 1/3, 2/3 at 2/3, 3/5 at 1 -> 1/3 * (1 + 2/3 + 3/5)
    assert ap[0] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    assert ap[1] == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    # at 0.7 the last is a fp: 1/3 * (1 + 2/3)
    assert ap[2] == pytest.approx((1 + 2 / 3) / 3)


def test_mean_average_precision_over_classes():
    gt = {'a': (np.array([[0.0, 10.0], [20.0, 30.0]]), np.array([0, 1]))}
    det = {'a': (np.array([[0.0, 10.0, 0.9], [20.0, 30.0, 0.8], [20.0, 28.0, 0.7]]), np.array([0, 0, 1]))}
    m_ap, per_class = mean_average_precision(gt, det, tiou_thresholds=(0.5, 0.9))
    # class 0: tp then fp (the [20, 30] of class 0 has no class-0 instance to match): AP 1
    # class 1: one detection of tIoU 0.8: AP 1 at 0.5, 0 at 0.9
    np.testing.assert_allclose(per_class[0], [1, 1])
    np.testing.assert_allclose(per_class[1], [1, 0])
    np.testing.assert_allclose(m_ap, [1, 0.5])


def test_registered_metrics_on_predictions():
    preds = [dict(video_id=v, proposals=PROPS[v], proposal_labels=np.zeros(len(PROPS[v]), int),
                  gt_segments=GT[v], gt_labels=np.zeros(len(GT[v]), int)) for v in GT]
    ar = METRICS.build(dict(type='ProposalRecallMetric', ans=(1, 2)))
    assert isinstance(ar, ProposalRecallMetric)
    ar.process({}, preds)
    out = ar.evaluate(size=2)
    assert out['proposal/AR@1'] == pytest.approx(100 * 11 / 30) and out['proposal/AR@2'] == pytest.approx(90)
    det = METRICS.build(dict(type='DetectionMAPMetric', tiou_thresholds=(0.5, 0.9)))
    assert isinstance(det, DetectionMAPMetric)
    det.process({}, preds)
    out = det.evaluate(size=2)
    assert set(out) == {'detection/mAP@0.5', 'detection/mAP@0.9', 'detection/mAP'}
    # one class: the metric equals the function on the same arrays
    expected = mean_average_precision({v: (GT[v], np.zeros(len(GT[v]), int)) for v in GT},
                                      {v: (PROPS[v], np.zeros(len(PROPS[v]), int)) for v in GT}, (0.5, 0.9))[0]
    assert out['detection/mAP@0.5'] == pytest.approx(100 * expected[0])
    bad = METRICS.build(dict(type='DetectionMAPMetric'))
    with pytest.raises(KeyError, match="proposal_labels"):
        bad.process({}, [dict(video_id='x', proposals=PROPS['a'], gt_segments=GT['a'], gt_labels=[0, 0])])
