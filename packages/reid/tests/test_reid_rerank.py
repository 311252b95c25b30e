"""k-reciprocal re-ranking: the vectorised version against the official per-sample loop."""
import numpy as np
import pytest
import torch

from reid_reference import reference_evaluate_rank, reference_rerank
from tessera_reid.evaluation import evaluate_ranking, k_reciprocal_rerank, pairwise_distance


def clustered(seed, num_ids=12, per_id=8, num_q=20, dim=6, spread=0.6):
    """Features of ``num_ids`` identities around random centres; the first ``num_q`` are queries."""
    rng = np.random.RandomState(seed)
    centres = rng.randn(num_ids, dim)
    pids = np.repeat(np.arange(num_ids), per_id)
    feats = (centres[pids] + spread * rng.randn(len(pids), dim)).astype(np.float32)
    order = rng.permutation(len(pids))
    feats, pids = torch.tensor(feats[order]), pids[order]
    cams = rng.randint(0, 3, len(pids))
    euclid = lambda a, b: np.sqrt(pairwise_distance(a, b))  # noqa: E731
    q, g = feats[:num_q], feats[num_q:]
    return euclid(q, g), euclid(q, q), euclid(g, g), pids[:num_q], pids[num_q:], cams[:num_q], cams[num_q:]


@pytest.mark.parametrize('k1,k2,lam', [(20, 6, 0.3), (7, 3, 0.5), (5, 1, 0.0), (4, 2, 1.0)])
def test_equals_official_loop(k1, k2, lam):
    qg, qq, gg, *_ = clustered(0)
    ours = k_reciprocal_rerank(qg, qq, gg, k1=k1, k2=k2, lambda_value=lam, chunk_size=13)
    ref = reference_rerank(qg, qq, gg, k1=k1, k2=k2, lambda_value=lam)
    assert ours.shape == ref.shape == qg.shape and ours.dtype == np.float32
    np.testing.assert_allclose(ours, ref, rtol=0, atol=2e-6)   # float32 sums in another order


def test_lambda_one_is_the_normalised_squared_distance():
    qg, qq, gg, *_ = clustered(1)
    full = np.block([[qq, qg], [qg.T, gg]]) ** 2
    expected = (full / full.max(0)).T[:len(qq), len(qq):]
    np.testing.assert_allclose(k_reciprocal_rerank(qg, qq, gg, lambda_value=1.0), expected, rtol=1e-6)


def test_rerank_ranks_like_the_official_loop_and_helps_on_clusters():
    qg, qq, gg, qp, gp, qc, gc = clustered(2, num_ids=15, per_id=10, num_q=30, spread=0.9)
    ours = k_reciprocal_rerank(qg, qq, gg)
    ref = reference_rerank(qg, qq, gg)
    a = evaluate_ranking(qp, gp, qc, gc, distmat=ours, max_rank=10)
    b = reference_evaluate_rank(ref, qp, gp, qc, gc, 10)
    assert np.array_equal(a.cmc.astype(np.float32), b[0]) and a.mAP == pytest.approx(b[1], abs=1e-6)
    before = evaluate_ranking(qp, gp, qc, gc, distmat=qg, max_rank=10)
    assert a.mAP > before.mAP   # the paper's claim, on well-separated clusters


def test_errors():
    qg, qq, gg, *_ = clustered(3)
    with pytest.raises(ValueError, match='shapes do not fit'):
        k_reciprocal_rerank(qg, gg, qq)
    with pytest.raises(ValueError, match='lambda_value'):
        k_reciprocal_rerank(qg, qq, gg, lambda_value=2)


def test_neighbours_are_those_of_a_stable_sort_even_with_ties():
    from tessera_reid.evaluation.rerank import _topk_stable
    dist = torch.tensor(np.random.RandomState(5).randint(0, 6, (40, 30)).astype(np.float32))   # many ties
    expected = torch.sort(dist, dim=1, stable=True).indices[:, :7]
    assert torch.equal(_topk_stable(dist, 7, chunk_size=9), expected)


def test_equals_official_loop_with_tied_distances():
    qg, qq, gg, *_ = clustered(4)
    qg, qq, gg = (np.round(d, 1) for d in (qg, qq, gg))      # ties everywhere, symmetric still
    np.testing.assert_allclose(k_reciprocal_rerank(qg, qq, gg, chunk_size=11), reference_rerank(qg, qq, gg),
                               rtol=0, atol=2e-6)
