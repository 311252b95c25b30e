"""CMC / mAP on hand-built distance matrices, the same-camera rule, and the official eval_func."""
import numpy as np
import pytest
import torch

from tessera_reid.evaluation import ReIDMetric, evaluate_rank, pairwise_distance


def official_eval_func(distmat, q_pids, g_pids, q_camids, g_camids, max_rank=5):
    """reid-strong-baseline data/datasets/eval_reid.py (Market-1501 protocol)."""
    num_q, num_g = distmat.shape
    indices = np.argsort(distmat, axis=1)
    matches = (g_pids[indices] == q_pids[:, np.newaxis]).astype(np.int32)
    all_cmc, all_ap = [], []
    for q in range(num_q):
        order = indices[q]
        keep = np.invert((g_pids[order] == q_pids[q]) & (g_camids[order] == q_camids[q]))
        orig = matches[q][keep]
        if not np.any(orig):
            continue
        cmc = orig.cumsum()
        cmc[cmc > 1] = 1
        all_cmc.append(cmc[:max_rank])
        tmp = np.asarray([x / (i + 1.) for i, x in enumerate(orig.cumsum())]) * orig
        all_ap.append(tmp.sum() / orig.sum())
    return np.asarray(all_cmc).astype(np.float32).sum(0) / len(all_cmc), np.mean(all_ap)


# 2 queries, 6 gallery images. Row = query, columns ordered so that the ranking is the column order.
DIST = np.array([[0.1, 0.2, 0.3, 0.4, 0.5, 0.6],
                 [0.6, 0.5, 0.4, 0.3, 0.2, 0.1]])
G_PIDS = np.array([1, 2, 1, 3, 1, 2])
G_CAMS = np.array([0, 1, 1, 0, 2, 0])
Q_PIDS = np.array([1, 2])
Q_CAMS = np.array([0, 0])


def test_closed_form_without_cameras():
    # query 0 (pid 1): matches at ranks 1, 3, 5 -> AP = (1/1 + 2/3 + 3/5) / 3; rank-1 hit
    # query 1 (pid 2): ranking 5, 4, 3, 2, 1, 0 -> pids 2, 1, 3, 1, 2, 1 -> matches at ranks 1, 5 -> AP = (1 + 2/5) / 2
    cmc, mean_ap, valid = evaluate_rank(DIST, Q_PIDS, G_PIDS, topk=(1, 2, 5))
    assert valid == 2
    assert cmc == {1: 1.0, 2: 1.0, 5: 1.0}
    assert mean_ap == pytest.approx(((1 + 2 / 3 + 3 / 5) / 3 + (1 + 2 / 5) / 2) / 2)


def test_same_camera_same_id_matches_are_excluded():
    # query 0 (pid 1, cam 0): gallery 0 (pid 1, cam 0) is removed -> kept ranking 1..5: pids 2, 1, 3, 1, 2
    #   -> first match at rank 2, AP = (1/2 + 2/4) / 2 = 0.5
    # query 1 (pid 2, cam 0): gallery 5 (pid 2, cam 0) removed -> kept ranking 4, 3, 2, 1, 0: pids 1, 3, 1, 2, 1
    #   -> first match at rank 4, AP = 1/4
    # the pid-3 and other-identity samples of camera 0 stay (only same id AND same camera are dropped)
    cmc, mean_ap, valid = evaluate_rank(DIST, Q_PIDS, G_PIDS, Q_CAMS, G_CAMS, topk=(1, 2, 3, 4))
    assert valid == 2
    assert cmc == {1: 0.0, 2: 0.5, 3: 0.5, 4: 1.0}
    assert mean_ap == pytest.approx((0.5 + 0.25) / 2)


def test_query_without_match_is_skipped_and_all_missing_raises():
    q_pids = np.array([1, 9])  # identity 9 is not in the gallery
    cmc, mean_ap, valid = evaluate_rank(DIST, q_pids, G_PIDS, topk=(1,))
    assert valid == 1 and cmc[1] == 1.0 and mean_ap == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)
    with pytest.raises(ValueError, match='no query has a true match'):
        evaluate_rank(DIST, np.array([8, 9]), G_PIDS)
    # a query whose only match shares its camera is not valid either
    with pytest.raises(ValueError, match='same-camera'):
        evaluate_rank(DIST[:1, :1], np.array([1]), np.array([1]), np.array([0]), np.array([0]))


def test_matches_official_eval_func_on_random_data():
    rng = np.random.RandomState(0)
    distmat = rng.rand(20, 50)
    q_pids, g_pids = rng.randint(0, 6, 20), rng.randint(0, 6, 50)
    q_cams, g_cams = rng.randint(0, 3, 20), rng.randint(0, 3, 50)
    cmc, mean_ap, _ = evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, topk=(1, 2, 3, 4, 5))
    ref_cmc, ref_ap = official_eval_func(distmat, q_pids, g_pids, q_cams, g_cams, max_rank=5)
    assert [cmc[k] for k in range(1, 6)] == pytest.approx(ref_cmc.tolist(), abs=1e-6)
    assert mean_ap == pytest.approx(ref_ap, abs=1e-9)


def test_pairwise_distances():
    q, g = torch.tensor([[1.0, 0.0]]), torch.tensor([[0.0, 1.0], [2.0, 0.0]])
    assert np.allclose(pairwise_distance(q, g, 'euclidean'), [[2.0, 1.0]])
    assert np.allclose(pairwise_distance(q, g, 'cosine'), [[1.0, 0.0]])
    with pytest.raises(ValueError, match="valid: \\('euclidean', 'cosine'\\)"):
        pairwise_distance(q, g, 'manhattan')


def _sample(feat, pid, camid, is_query):
    return dict(pred_feature=torch.tensor(feat, dtype=torch.float32), gt_label=torch.tensor([pid]),
                camid=camid, is_query=is_query)


def test_metric_end_to_end_with_camera_rule():
    metric = ReIDMetric(topk=(1, 2))
    # query pid 0 cam 0 at x=0; gallery: pid 0 cam 0 at x=0.1 (excluded), pid 1 at x=0.5, pid 0 cam 1 at x=0.9
    metric.process(None, [_sample([0.0], 0, 0, True), _sample([0.1], 0, 0, False)])
    metric.process(None, [_sample([0.5], 1, 1, False), _sample([0.9], 0, 1, False)])
    result = metric.evaluate(4)
    assert result == {'reid/rank1': 0.0, 'reid/rank2': 100.0, 'reid/mAP': 50.0}


def test_metric_without_cameras_counts_every_match():
    metric = ReIDMetric(topk=(1,))
    data = [_sample([0.0], 0, None, True), _sample([0.1], 0, None, False), _sample([0.5], 1, None, False)]
    metric.process(None, data)
    assert metric.evaluate(3) == {'reid/rank1': 100.0, 'reid/mAP': 100.0}


def test_metric_errors():
    with pytest.raises(ValueError, match='valid'):
        ReIDMetric(distance='l1')
    metric = ReIDMetric()
    with pytest.raises(KeyError, match='is_query'):
        metric.process(None, [dict(pred_feature=torch.zeros(2), gt_label=torch.tensor([0]))])
    metric.process(None, [_sample([0.0], 0, 0, True)])
    with pytest.raises(ValueError, match='0 gallery'):
        metric.compute_metrics(metric.results)
