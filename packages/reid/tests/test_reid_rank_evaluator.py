"""The vectorised evaluator against a per-query numpy loop written from the protocol (torchreid's loop)."""
import numpy as np
import pytest
import torch

from reid_reference import reference_evaluate_rank
from tessera_reid.evaluation import PROTOCOLS, ReIDMetric, evaluate_rank, evaluate_ranking, pairwise_distance


def random_problem(seed, num_q=60, num_g=400, num_ids=40, num_cams=6, dim=16):
    rng = np.random.RandomState(seed)
    qf, gf = rng.randn(num_q, dim).astype(np.float32), rng.randn(num_g, dim).astype(np.float32)
    return (qf, gf, rng.randint(0, num_ids, num_q), rng.randint(0, num_ids, num_g),
            rng.randint(0, num_cams, num_q), rng.randint(0, num_cams, num_g))


@pytest.mark.parametrize('protocol', PROTOCOLS)
@pytest.mark.parametrize('chunk_size', [1, 7, 1000])
def test_equals_reference_loop_for_every_protocol_and_chunking(protocol, chunk_size):
    qf, gf, qp, gp, qc, gc = random_problem(0)
    distmat = pairwise_distance(torch.tensor(qf), torch.tensor(gf))
    with pytest.warns(UserWarning, match='no true match') if protocol == 'same_camera' else _no_warning():
        ours = evaluate_ranking(qp, gp, qc, gc, distmat=distmat, protocol=protocol, max_rank=50,
                                chunk_size=chunk_size)
    cmc, mean_ap, minp, num_valid, no_match = reference_evaluate_rank(distmat, qp, gp, qc, gc, 50, protocol)
    # CMC: the same counts over the same valid queries; torchreid's float32 curve reproduced exactly
    assert np.array_equal(ours.cmc.astype(np.float32), cmc)
    assert ours.num_valid == num_valid and ours.no_match.tolist() == no_match
    assert ours.num_no_match == len(no_match)
    # AP terms are the same float64 quotients; only the order of the float64 sums differs
    assert ours.mAP == pytest.approx(mean_ap, abs=1e-14) and ours.mINP == pytest.approx(minp, abs=1e-14)


class _no_warning:
    def __enter__(self):
        import warnings
        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter('error')

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


@pytest.mark.parametrize('protocol', ['market', 'cross_camera'])
def test_ties_break_by_gallery_order_like_a_stable_sort(protocol):
    # distances rounded to one decimal: most rows have true matches tied with other gallery images
    qf, gf, qp, gp, qc, gc = random_problem(2, num_q=30, num_g=200, num_ids=10)
    distmat = np.round(pairwise_distance(torch.tensor(qf), torch.tensor(gf)), 0)
    distmat[:, 50:60] = np.inf   # non-finite distances take the exact path too
    ours = evaluate_ranking(qp, gp, qc, gc, distmat=distmat, protocol=protocol, chunk_size=8)
    cmc, mean_ap, minp, num_valid, _ = reference_evaluate_rank(distmat, qp, gp, qc, gc, 50, protocol)
    assert np.array_equal(ours.cmc.astype(np.float32), cmc) and ours.num_valid == num_valid
    assert ours.mAP == pytest.approx(mean_ap, abs=1e-14) and ours.mINP == pytest.approx(minp, abs=1e-14)


def test_features_path_equals_distmat_path_and_cosine():
    qf, gf, qp, gp, qc, gc = random_problem(1)
    for distance in ('euclidean', 'cosine'):
        distmat = pairwise_distance(torch.tensor(qf), torch.tensor(gf), distance)
        a = evaluate_ranking(qp, gp, qc, gc, distmat=distmat, chunk_size=9)
        b = evaluate_ranking(qp, gp, qc, gc, query_feats=torch.tensor(qf), gallery_feats=torch.tensor(gf),
                             distance=distance, chunk_size=9)
        assert np.array_equal(a.cmc, b.cmc) and a.mAP == b.mAP and a.mINP == b.mINP


def test_closed_form_minp_and_protocols():
    # one query (pid 1, cam 0); gallery by distance: pid 1 cam 0, pid 2 cam 1, pid 1 cam 1, pid 1 cam 0, pid 3 cam 0
    distmat = np.array([[0.1, 0.2, 0.3, 0.4, 0.5]])
    g_pids, g_cams = np.array([1, 2, 1, 1, 3]), np.array([0, 1, 1, 0, 0])
    r = evaluate_ranking([1], g_pids, [0], g_cams, distmat=distmat, protocol='all', max_rank=5)
    assert r.cmc.tolist() == [1, 1, 1, 1, 1]
    assert r.mAP == pytest.approx((1 + 2 / 3 + 3 / 4) / 3) and r.mINP == pytest.approx(3 / 4)
    # market: both pid-1 cam-0 images removed -> kept: pid 2, pid 1 (cam 1), pid 3 -> hit at rank 2
    r = evaluate_ranking([1], g_pids, [0], g_cams, distmat=distmat, protocol='market', max_rank=3)
    assert r.cmc.tolist() == [0, 1, 1] and r.mAP == 0.5 and r.mINP == 0.5
    # cross_camera: every cam-0 image removed -> kept: pid 2, pid 1 -> same as market here
    r = evaluate_ranking([1], g_pids, [0], g_cams, distmat=distmat, protocol='cross_camera', max_rank=2)
    assert r.cmc.tolist() == [0, 1] and r.mAP == 0.5
    # same_camera: only cam 0 -> pid 1, pid 1, pid 3 -> AP 1, INP 1
    r = evaluate_ranking([1], g_pids, [0], g_cams, distmat=distmat, protocol='same_camera')
    assert len(r.cmc) == 5 and r.cmc[0] == 1 and r.mAP == 1 and r.mINP == 1


def test_query_without_match_is_counted_and_warned_not_dropped_silently():
    distmat = np.array([[0.1, 0.2], [0.3, 0.1], [0.2, 0.2]])
    with pytest.warns(UserWarning, match=r'2 of 3 queries have no true match .*\[1, 2\]'):
        r = evaluate_ranking([5, 7, 8], [5, 6], protocol='all', distmat=distmat)
    assert r.num_valid == 1 and r.num_no_match == 2 and r.no_match.tolist() == [1, 2]
    assert r.cmc[0] == 1 and np.isnan(r.ap[1]) and r.ap[0] == 1
    with pytest.raises(ValueError, match='no query has a true match'):
        evaluate_ranking([7], [5, 6], distmat=distmat[:1], protocol='all')


def test_errors_name_the_problem():
    with pytest.raises(ValueError, match="valid: \\('market', 'cross_camera', 'same_camera', 'all'\\)"):
        evaluate_ranking([0], [0], [0], [0], distmat=np.zeros((1, 1)), protocol='duke')
    with pytest.raises(ValueError, match='needs query and gallery camera ids'):
        evaluate_ranking([0], [0], distmat=np.zeros((1, 1)))
    with pytest.raises(ValueError, match='does not match'):
        evaluate_ranking([0, 1], [0], [0, 0], [0], distmat=np.zeros((1, 1)))
    with pytest.raises(ValueError, match='either distmat or both'):
        evaluate_ranking([0], [0], [0], [0])


def test_market_sized_problem_fits_in_memory_chunked():
    # 3,368 x 15,913 (Market-1501's query x gallery) from features: the full matrix is never built
    rng = torch.Generator().manual_seed(0)
    qf, gf = torch.randn(3368, 8, generator=rng), torch.randn(15913, 8, generator=rng)
    qp, gp = torch.randint(0, 750, (3368,), generator=rng), torch.randint(0, 750, (15913,), generator=rng)
    qc, gc = torch.randint(0, 6, (3368,), generator=rng), torch.randint(0, 6, (15913,), generator=rng)
    r = evaluate_ranking(qp, gp, qc, gc, query_feats=qf, gallery_feats=gf, chunk_size=512)
    assert r.num_valid == 3368 and 0 < r.mINP < r.mAP < 0.01 and r.cmc[0] < 0.01  # random features: chance level


def test_metric_numbers_unchanged_against_the_previous_evaluate_rank():
    qf, gf, qp, gp, qc, gc = random_problem(3)
    metric = ReIDMetric(topk=(1, 5, 10))
    for feats, pids, cams, is_q in ((qf, qp, qc, True), (gf, gp, gc, False)):
        metric.process(None, [dict(pred_feature=torch.tensor(f), gt_label=torch.tensor([p]), camid=int(c),
                                   is_query=is_q) for f, p, c in zip(feats, pids, cams)])
    result = metric.evaluate(len(qf) + len(gf))
    cmc, mean_ap, _ = evaluate_rank(pairwise_distance(torch.tensor(qf), torch.tensor(gf)), qp, gp, qc, gc,
                                    topk=(1, 5, 10))
    assert [result[f'reid/rank{k}'] for k in (1, 5, 10)] == [cmc[k] * 100 for k in (1, 5, 10)]
    assert result['reid/mAP'] == pytest.approx(mean_ap * 100, abs=1e-12)
    assert set(result) == {'reid/rank1', 'reid/rank5', 'reid/rank10', 'reid/mAP'}


def test_metric_minp_protocol_rerank_and_no_match_key():
    qf, gf, qp, gp, qc, gc = random_problem(4, num_q=20, num_g=80, num_ids=30)
    metric = ReIDMetric(topk=(1,), with_minp=True, protocol='cross_camera', rerank=dict(k1=6, k2=3))
    for feats, pids, cams, is_q in ((qf, qp, qc, True), (gf, gp, gc, False)):
        metric.process(None, [dict(pred_feature=torch.tensor(f), gt_label=torch.tensor([p]), camid=int(c),
                                   is_query=is_q) for f, p, c in zip(feats, pids, cams)])
    result = metric.evaluate(100)
    assert set(result) >= {'reid/rank1', 'reid/mAP', 'reid/mINP'}
    ref = reference_evaluate_rank(np.zeros((20, 80)), qp, gp, qc, gc, 1, 'cross_camera')
    assert result.get('reid/num_no_match', 0) == len(ref[4]) > 0   # 30 ids: some queries have no match
    with pytest.raises(ValueError, match='unknown rerank options'):
        ReIDMetric(rerank=dict(k3=1))


def test_metric_rerank_equals_rerank_of_euclidean_distances():
    from reid_reference import reference_rerank
    qf, gf, qp, gp, qc, gc = random_problem(5, num_q=15, num_g=60, num_ids=10)
    metric = ReIDMetric(topk=(1, 5), rerank=True)
    for feats, pids, cams, is_q in ((qf, qp, qc, True), (gf, gp, gc, False)):
        metric.process(None, [dict(pred_feature=torch.tensor(f), gt_label=torch.tensor([p]), camid=int(c),
                                   is_query=is_q) for f, p, c in zip(feats, pids, cams)])
    result = metric.evaluate(75)
    euclid = lambda a, b: np.sqrt(pairwise_distance(torch.tensor(a), torch.tensor(b)))  # noqa: E731
    ref = reference_rerank(euclid(qf, gf), euclid(qf, qf), euclid(gf, gf))
    cmc, mean_ap, *_ = reference_evaluate_rank(ref, qp, gp, qc, gc, 5)
    assert result['reid/rank1'] == pytest.approx(cmc[0] * 100, abs=1e-4)
    assert result['reid/mAP'] == pytest.approx(mean_ap * 100, abs=1e-4)


@pytest.mark.parametrize('dtype', [torch.float32, torch.float64])
def test_grid_lookup_equals_searchsorted(dtype):
    from tessera_reid.evaluation.rank_evaluator import _count_at_most
    gen = torch.Generator().manual_seed(0)
    inf = float('inf')
    cases = {
        'spread': torch.rand(300, generator=gen),
        'clustered': torch.cat([torch.rand(200, generator=gen) * 1e-3, 5 + torch.rand(50, generator=gen)]),
        'duplicates': torch.tensor([0.1, 0.2, 0.2, 0.2, 0.5, 0.5, 0.9]),
        'all equal': torch.full((20,), 0.3),
        'one value': torch.tensor([0.4]),
        'tiny range': torch.tensor([1.0, 1.0 + 1e-7, 1.0 + 2e-7]),
        'empty': torch.empty(0),
    }
    for name, values in cases.items():
        values = torch.sort(values.to(dtype)).values
        x = torch.cat([values, torch.rand(5000, generator=gen).to(dtype) * 6 - 0.5,
                       torch.tensor([-inf, inf, 0.0, 1.0], dtype=dtype)])
        if len(values):   # each value's neighbours in the dtype: the boundary cases of every cell
            x = torch.cat([x, torch.nextafter(values, values.new_tensor(inf)),
                           torch.nextafter(values, values.new_tensor(-inf))])
        expected = torch.searchsorted(values, x, right=True) if len(values) else torch.zeros(len(x), dtype=torch.long)
        assert torch.equal(_count_at_most(values, x), expected), name
