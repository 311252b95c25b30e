"""DOTA's VOC-style rotated mAP on hand-built cases with known AP, and against mmdet's eval_map."""
import math

import numpy as np
import pytest
import torch
from mmengine.structures import InstanceData

from tessera_detection.evaluation import DOTAMetric
from tessera_detection.evaluation.functional import eval_rotated_map, rotated_ious, voc_ap
from tessera_detection.registry import METRICS

SQUARE = [50., 50., 20., 20., 0.]
LONG = [50., 50., 40., 10., 0.]


def _ap(dets, gts, thr=0.5, num_classes=1):
    """dets: per image list of (box, score, label); gts: per image list of (box, label, difficult)."""
    det_results = [dict(bboxes=np.array([d[0] for d in im]).reshape(-1, 5), scores=np.array([d[1] for d in im]),
                        labels=np.array([d[2] for d in im], int)) for im in dets]
    anns = [dict(bboxes=np.array([g[0] for g in im]).reshape(-1, 5), labels=np.array([g[1] for g in im], int),
                 difficult=np.array([g[2] for g in im], bool)) for im in gts]
    return eval_rotated_map(det_results, anns, num_classes, [thr])['ap'][:, 0]


def _shift(box, dx=0., dy=0., angle=None):
    b = list(box)
    b[0] += dx
    b[1] += dy
    if angle is not None:
        b[4] = angle
    return b


def test_voc_ap_all_point_interpolation_by_hand():
    # recall steps 0.5 and 1.0; the envelope lifts the precision 0.5 at recall 0.5 to the later 2/3
    assert voc_ap(np.array([0., .5, 1.]), np.array([0., .5, 2 / 3])) == pytest.approx(2 / 3)
    assert voc_ap(np.array([.5, .5, 1.]), np.array([1., .5, 2 / 3])) == pytest.approx(.5 * 1 + .5 * 2 / 3)
    assert voc_ap(np.array([.5]), np.array([1.])) == pytest.approx(.5)  # half the objects found, no error
    assert voc_ap(np.array([1.]), np.array([1.])) == pytest.approx(1.)


def test_rotated_iou_of_hand_built_boxes():
    ious = rotated_ious(np.array([SQUARE, _shift(SQUARE, angle=math.pi / 2 - 1e-9), LONG,
                                  _shift(LONG, angle=-math.pi / 2), _shift(SQUARE, dx=10)]),
                        np.array([SQUARE, LONG]))
    assert ious[0, 0] == pytest.approx(1, abs=1e-5)
    assert ious[1, 0] == pytest.approx(1, abs=1e-5)  # a square turned by 90 degrees is itself
    assert ious[2, 1] == pytest.approx(1, abs=1e-5)
    assert ious[3, 1] == pytest.approx(100 / (400 + 400 - 100), abs=1e-5)  # 40x10 crossed with 10x40: 10x10 overlap
    assert ious[4, 0] == pytest.approx(200 / 600, abs=1e-5)  # shifted by half its side


def test_perfect_detections_give_one_at_every_threshold():
    gts = [[(SQUARE, 0, 0), (_shift(LONG, dy=40, angle=0.7), 0, 0)], [(_shift(LONG, angle=-1.2), 0, 0)]]
    dets = [[(g[0], 0.9 - 0.1 * k, 0) for k, g in enumerate(im)] for im in gts]
    for thr in (0.5, 0.75, 0.95):
        assert _ap(dets, gts, thr)[0] == pytest.approx(1.0)


def test_false_positive_ranked_above_true_positives():
    gts = [[(SQUARE, 0, 0), (_shift(SQUARE, dx=100), 0, 0)]]
    far = _shift(SQUARE, dy=200)
    # FP 0.9, TP 0.8, TP 0.7: precision 0, 1/2, 2/3 at recall 0, 1/2, 1 -> envelope 2/3 everywhere
    assert _ap([[(far, .9, 0), (SQUARE, .8, 0), (_shift(SQUARE, dx=100), .7, 0)]], gts)[0] == pytest.approx(2 / 3)
    # TP 0.9, FP 0.8, TP 0.7: 1/2 * 1 + 1/2 * 2/3 = 5/6
    assert _ap([[(SQUARE, .9, 0), (far, .8, 0), (_shift(SQUARE, dx=100), .7, 0)]], gts)[0] == pytest.approx(5 / 6)
    # ranked last, the FP costs nothing
    assert _ap([[(SQUARE, .9, 0), (_shift(SQUARE, dx=100), .8, 0), (far, .1, 0)]], gts)[0] == pytest.approx(1.0)
    # a duplicate of a matched object is an FP
    assert _ap([[(SQUARE, .9, 0), (_shift(SQUARE, dx=1), .8, 0), (_shift(SQUARE, dx=100), .7, 0)]],
               gts)[0] == pytest.approx(5 / 6)


def test_rotated_by_90_degrees_matches_a_square_but_not_a_long_box():
    square = [[(_shift(SQUARE, angle=-math.pi / 2), .9, 0)]]
    assert _ap(square, [[(SQUARE, 0, 0)]])[0] == pytest.approx(1.0)
    long = [[(_shift(LONG, angle=-math.pi / 2), .9, 0)]]  # IoU 1/7
    assert _ap(long, [[(LONG, 0, 0)]])[0] == pytest.approx(0.0)
    # across the le90 boundary: angles -pi/2 + d and pi/2 - d are nearly the same box
    d = 0.01
    across = [[(_shift(LONG, angle=math.pi / 2 - d), .9, 0)]]
    assert _ap(across, [[(_shift(LONG, angle=-math.pi / 2 + d), 0, 0)]], thr=0.75)[0] == pytest.approx(1.0)


def test_threshold_is_strict_and_separates_50_from_75():
    gts = [[(SQUARE, 0, 0)]]
    half = [[(_shift(SQUARE, dx=20 / 3), .9, 0)]]  # overlap 13.33 x 20 -> IoU 266.7 / 533.3 = 0.5 exactly
    iou = rotated_ious(np.array([half[0][0][0]]), np.array([SQUARE]))[0, 0]
    assert iou == pytest.approx(0.5, abs=1e-5)
    assert _ap(half, gts, thr=0.5 - 1e-3)[0] == 1.0 and _ap(half, gts, thr=0.5 + 1e-3)[0] == 0.0
    near = [[(_shift(SQUARE, dx=2), .9, 0)]]  # IoU 360 / 440 = 0.818
    assert _ap(near, gts, thr=0.5)[0] == 1.0 and _ap(near, gts, thr=0.75)[0] == 1.0
    assert _ap(near, gts, thr=0.85)[0] == 0.0


def test_difficult_ground_truths_are_ignored():
    gts = [[(SQUARE, 0, 0), (_shift(SQUARE, dx=100), 0, 1)]]
    # a detection on the difficult object is neither TP nor FP, even ranked first
    assert _ap([[(_shift(SQUARE, dx=100), .95, 0), (SQUARE, .9, 0)]], gts)[0] == pytest.approx(1.0)
    # missing the difficult object costs no recall
    assert _ap([[(SQUARE, .9, 0)]], gts)[0] == pytest.approx(1.0)
    # the same object not difficult: a miss halves AP
    assert _ap([[(SQUARE, .9, 0)]], [[(SQUARE, 0, 0), (_shift(SQUARE, dx=100), 0, 0)]])[0] == pytest.approx(.5)
    # only difficult ground truth: AP undefined (NaN), num_gts 0
    out = eval_rotated_map([dict(bboxes=np.array([SQUARE]), scores=np.array([.9]), labels=np.array([0]))],
                           [dict(bboxes=np.array([SQUARE]), labels=np.array([0]), difficult=np.array([True]))], 1)
    assert np.isnan(out['ap'][0, 0]) and out['num_gts'][0] == 0


def test_multiple_classes_and_images():
    gts = [[(SQUARE, 0, 0), (_shift(LONG, dy=60), 1, 0)], [(_shift(SQUARE, dx=30), 1, 0)]]
    dets = [[(SQUARE, .9, 0), (_shift(LONG, dy=60), .8, 0)],  # class 0 found; the long box labelled 0: FP of class 0
            [(_shift(SQUARE, dx=30), .7, 1)]]  # class 1: one of two found, no FP
    ap = _ap(dets, gts, num_classes=3)
    assert ap[0] == pytest.approx(1.0)  # TP ranked above the FP
    assert ap[1] == pytest.approx(0.5)
    assert np.isnan(ap[2])  # no ground truth of class 2
    # a detection in an image without ground truth of its class is an FP
    assert _ap([[(SQUARE, .5, 0)], [(SQUARE, .9, 0)]], [[(SQUARE, 0, 0)], []])[0] == pytest.approx(.5)


def test_equals_mmdet_eval_map_on_upright_boxes_without_difficult():
    """Upright rotated boxes are axis-aligned boxes: DOTA's AP must equal mmdet's VOC ``area`` AP."""
    from mmdet.evaluation.functional import eval_map
    rng = np.random.RandomState(0)
    det_results, anns, mm_dets, mm_anns = [], [], [], []
    for _ in range(12):
        n_gt = rng.randint(1, 6)
        gxy, gwh = rng.uniform(0, 200, (n_gt, 2)), rng.uniform(8, 40, (n_gt, 2))
        glab = rng.randint(0, 3, n_gt)
        # detections: jittered copies of some ground truths (various IoUs) and random boxes
        keep = rng.rand(n_gt) < 0.8
        dxy = np.concatenate([gxy[keep] + rng.normal(0, 3, (keep.sum(), 2)), rng.uniform(0, 200, (3, 2))])
        dwh = np.concatenate([gwh[keep] * rng.uniform(0.8, 1.2, (keep.sum(), 2)), rng.uniform(8, 40, (3, 2))])
        dlab = np.concatenate([glab[keep], rng.randint(0, 3, 3)])
        score = rng.rand(len(dlab))
        det_results.append(dict(bboxes=np.c_[dxy, dwh, np.zeros(len(dlab))], scores=score, labels=dlab))
        anns.append(dict(bboxes=np.c_[gxy, gwh, np.zeros(n_gt)], labels=glab))
        mm_dets.append([np.c_[dxy[dlab == c] - dwh[dlab == c] / 2, dxy[dlab == c] + dwh[dlab == c] / 2,
                              score[dlab == c]] for c in range(3)])
        mm_anns.append(dict(bboxes=np.c_[gxy - gwh / 2, gxy + gwh / 2], labels=glab))
    for thr in (0.5, 0.75):
        ours = eval_rotated_map(det_results, anns, 3, [thr])['ap'][:, 0]
        _, per_class = eval_map(mm_dets, mm_anns, iou_thr=thr, logger='silent')
        np.testing.assert_allclose(ours, [r['ap'] for r in per_class], atol=1e-6)
        assert ((ours > 0) & (ours < 1)).any()  # a case with both hits and misses


def _sample(gt, gt_labels, pred, scores, labels, ignored=np.zeros((0, 5)), ignored_labels=()):
    t = lambda x: torch.as_tensor(np.asarray(x, np.float32)).reshape(-1, 5)  # noqa: E731
    return dict(gt_instances=dict(bboxes=t(gt), labels=torch.as_tensor(gt_labels, dtype=torch.long)),
                ignored_instances=dict(bboxes=t(ignored), labels=torch.as_tensor(ignored_labels, dtype=torch.long)),
                pred_instances=dict(bboxes=t(pred), scores=torch.as_tensor(scores), labels=torch.as_tensor(labels)))


def test_metric_reports_map_50_75_and_coco_average_with_a_table(capsys):
    metric = METRICS.build(dict(type='DOTAMetric'))
    assert isinstance(metric, DOTAMetric)
    metric.dataset_meta = dict(classes=('a', 'b'))
    near = _shift(SQUARE, dx=2)  # IoU 0.818: a TP up to the 0.80 threshold
    # the detection ranked first lies on the difficult object: ignored
    metric.process({}, [_sample([SQUARE, LONG], [0, 1], [near, LONG, _shift(SQUARE, dx=100)], [.9, .8, .95],
                                [0, 1, 0], ignored=[_shift(SQUARE, dx=100)], ignored_labels=[0])])
    metric.process({}, [_sample(np.zeros((0, 5)), [], np.zeros((0, 5)), [], [])])  # an empty image
    out = metric.evaluate(2)
    assert out['dota/mAP_50'] == pytest.approx(1.0) and out['dota/mAP_75'] == pytest.approx(1.0)
    # class a: AP 1 at 0.50..0.80 (7 thresholds), 0 at 0.85..0.95; class b: 1 everywhere
    assert out['dota/mAP'] == pytest.approx((7 / 10 + 1) / 2, abs=1e-6)
    assert set(out) == {'dota/mAP', 'dota/mAP_50', 'dota/mAP_75'}


def test_metric_table_and_bad_input(caplog):
    metric = DOTAMetric(iou_thrs=[0.5, 0.75])
    metric.dataset_meta = dict(classes=('plane', 'ship'))
    table = metric.table(('plane', 'ship'), dict(ap=np.array([[1., .5], [np.nan, np.nan]]), num_gts=np.array([2, 0]),
                                                 num_dets=np.array([3, 0])), np.array([1., .5]))
    assert 'AP50' in table and 'AP75' in table and 'AP50:75' in table and 'n/a' in table and '0.750' in table
    with pytest.raises(ValueError, match=r'rotated boxes \(N, 5\).*pred_instances'):
        metric.process({}, [dict(gt_instances=dict(bboxes=torch.zeros(0, 5), labels=torch.zeros(0)),
                                 pred_instances=dict(bboxes=torch.zeros(2, 4), scores=torch.zeros(2),
                                                     labels=torch.zeros(2)))])
    with pytest.raises(KeyError, match='LoadRotatedAnnotations'):
        metric.process({}, [dict(pred_instances=InstanceData(bboxes=torch.zeros(0, 5)).to_dict())])
    with pytest.raises(ValueError, match='iou_thrs'):
        DOTAMetric(iou_thrs=[1.5])
