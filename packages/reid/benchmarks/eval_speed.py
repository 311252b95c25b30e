"""Time tessera-reid's vectorised evaluator against the per-query loop evaluators, on the same random
Market-1501-sized problem (3,368 queries x 15,913 gallery images, 751 identities, 6 cameras).

Compared, on one float32 distance matrix (squared Euclidean of clustered random features):

* ours: ``tessera_reid.evaluation.evaluate_ranking`` (Market rule), chunked torch;
* reference: the per-query numpy loop of ``tests/reid_reference.py`` (torchreid's ``eval_market1501``);
* torchreid: ``torchreid.reid.metrics.rank.evaluate_rank`` when importable, either installed or from an
  unpacked source tree given with ``--torchreid-root`` (its ``rank.py`` is loaded by path: it needs numpy only;
  without its compiled Cython extension it runs its Python loop, and says so);
* torchreid's Cython evaluator ``rank_cy.evaluate_cy`` (its default when compiled), from a built
  ``rank_cy*.so`` given with ``--torchreid-cython`` (torchreid's ``torchreid/metrics/rank_cylib/rank_cy.pyx``
  compiled with Cython; it accumulates CMC and mAP in float32).

Prints each time, the ratios, and whether CMC (rank-1/5/10/20, exactly, as float32) and mAP agree.

    OMP_NUM_THREADS=1 python packages/reid/benchmarks/eval_speed.py [--scale 0.25] [--torchreid-root DIR]
"""
import argparse
import importlib.util
import os.path as osp
import sys
import time
import warnings

import numpy as np
import torch

sys.path.insert(0, osp.join(osp.dirname(osp.abspath(__file__)), '..', 'tests'))
from reid_reference import reference_evaluate_rank, reference_rerank  # noqa: E402

from tessera_reid.evaluation import evaluate_ranking, k_reciprocal_rerank  # noqa: E402


def load_torchreid(root):
    try:
        from torchreid.reid.metrics.rank import evaluate_rank
        return evaluate_rank, 'torchreid (installed)'
    except Exception:   # noqa: BLE001 - not installed, or its package __init__ needs torchvision etc.
        pass
    if root is None:
        return None, 'torchreid not importable (give --torchreid-root DIR of an unpacked torchreid)'
    path = osp.join(root, 'torchreid', 'reid', 'metrics', 'rank.py')
    spec = importlib.util.spec_from_file_location('torchreid_rank', path)
    module = importlib.util.module_from_spec(spec)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter('always')
        spec.loader.exec_module(module)
    kind = 'Python loop (no Cython)' if not module.IS_CYTHON_AVAI else 'Cython'
    return module.evaluate_rank, f'torchreid rank.py from {path}, {kind}'


def problem(scale, seed=0, dim=64):
    rng = np.random.RandomState(seed)
    num_q, num_g, num_ids = int(3368 * scale), int(15913 * scale), max(2, int(751 * scale))
    centres = rng.randn(num_ids, dim)
    q_pids, g_pids = rng.randint(0, num_ids, num_q), rng.randint(0, num_ids, num_g)
    q_pids[: num_ids] = np.arange(min(num_ids, num_q))
    qf = centres[q_pids] + 1.2 * rng.randn(num_q, dim)
    gf = centres[g_pids] + 1.2 * rng.randn(num_g, dim)
    qf, gf = torch.tensor(qf), torch.tensor(gf)
    distmat = (qf.pow(2).sum(1, keepdim=True) + gf.pow(2).sum(1)[None] - 2 * qf @ gf.t()).float().numpy()
    return distmat, q_pids, g_pids, rng.randint(0, 6, num_q), rng.randint(0, 6, num_g)


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--scale', type=float, default=1.0, help='fraction of Market-1501 query/gallery sizes')
    parser.add_argument('--torchreid-root', default=None)
    parser.add_argument('--torchreid-cython', default=None, help='path of a compiled rank_cy*.so')
    parser.add_argument('--rerank-scale', type=float, default=0.0,
                        help='also time k-reciprocal re-ranking (ours vs the official loop) at this fraction of '
                             'Market-1501 sizes (its dense matrices grow as the square)')
    parser.add_argument('--chunk-size', type=int, default=32)
    args = parser.parse_args()
    distmat, q_pids, g_pids, q_cams, g_cams = problem(args.scale)
    print(f'problem: {distmat.shape[0]} queries x {distmat.shape[1]} gallery, float32 distances, '
          f'torch threads {torch.get_num_threads()}')
    ks = (1, 5, 10, 20)
    ours, t_ours = timed(lambda: evaluate_ranking(q_pids, g_pids, q_cams, g_cams, distmat=distmat, max_rank=50,
                                                  chunk_size=args.chunk_size))
    rows = [('ours (vectorised, chunked)', t_ours, ours.cmc.astype(np.float32), ours.mAP)]
    ref, t_ref = timed(lambda: reference_evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, 50))
    rows.append(('reference loop (tests/reid_reference.py)', t_ref, ref[0], ref[1]))
    evaluate_rank, note = load_torchreid(args.torchreid_root)
    print(note)
    if evaluate_rank is not None:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            (cmc, mean_ap), t_tr = timed(lambda: evaluate_rank(distmat, q_pids, g_pids, q_cams, g_cams, 50))
        rows.append(('torchreid evaluate_rank', t_tr, np.asarray(cmc, dtype=np.float32), mean_ap))
    if args.torchreid_cython:
        spec = importlib.util.spec_from_file_location('rank_cy', args.torchreid_cython)
        rank_cy = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(rank_cy)
        (cmc, mean_ap), t_cy = timed(lambda: rank_cy.evaluate_cy(distmat, q_pids, g_pids, q_cams, g_cams, 50))
        rows.append(('torchreid evaluate_cy (Cython)', t_cy, np.asarray(cmc, dtype=np.float32), float(mean_ap)))
    print(f'{"evaluator":44s} {"time s":>8s} {"x ours":>7s}  ' + '  '.join(f'R{k:<2d}' for k in ks)
          + '      mAP')
    for name, t, cmc, mean_ap in rows:
        print(f'{name:44s} {t:8.2f} {t / t_ours:7.1f}  ' + '  '.join(f'{cmc[k - 1] * 100:6.2f}' for k in ks)
              + f'  {mean_ap * 100:.6f}')
    for name, _, cmc, mean_ap in rows[1:]:
        same_cmc = np.array_equal(cmc, rows[0][2])
        print(f'vs {name}: CMC identical: {same_cmc}; |mAP difference| = {abs(mean_ap - ours.mAP):.1e}')
    if args.rerank_scale > 0:
        rerank(args.rerank_scale)


def rerank(scale):
    distmat, q_pids, g_pids, q_cams, g_cams = problem(scale, seed=1)
    rng = np.random.RandomState(2)
    num_q, num_g = distmat.shape
    # consistent Euclidean distances of the same kind of features for q-q and g-g
    feats = torch.tensor(rng.randn(num_q + num_g, 64))
    ids = np.concatenate([q_pids, g_pids])
    feats += torch.tensor(rng.randn(ids.max() + 1, 64))[ids] * 0.4
    full = torch.cdist(feats, feats).float().numpy()
    qg, qq, gg = full[:num_q, num_q:], full[:num_q, :num_q], full[num_q:, num_q:]
    print(f'\nre-ranking (k1 20, k2 6, lambda 0.3): {num_q} queries + {num_g} gallery')
    ours, t_ours = timed(lambda: k_reciprocal_rerank(qg, qq, gg))
    ref, t_ref = timed(lambda: reference_rerank(qg, qq, gg))
    a = evaluate_ranking(q_pids, g_pids, q_cams, g_cams, distmat=ours, max_rank=10)
    b = reference_evaluate_rank(ref, q_pids, g_pids, q_cams, g_cams, 10)
    print(f'ours {t_ours:.2f} s, official loop {t_ref:.2f} s ({t_ref / t_ours:.1f}x); max |distance difference| '
          f'{np.abs(ours - ref).max():.1e}; rank-1 {a.cmc[0] * 100:.2f} vs {b[0][0] * 100:.2f}, mAP '
          f'{a.mAP * 100:.4f} vs {b[1] * 100:.4f}')


if __name__ == '__main__':
    main()
