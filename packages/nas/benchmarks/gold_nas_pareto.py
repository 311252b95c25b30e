"""Score a GOLD-NAS search's Pareto front with the tabular benchmark, against random sampling.

Input: the ``gold_nas_snapshots.json`` that :class:`~tessera_nas.engine.GoldNASPruningHook` writes
during ``mim train tessera-nas gold_nas/gold-nas_nb201-c8_fmnist16.py``.

Mapping a snapshot to a table entry: the relaxed space keeps any number of ops per edge, the table
one op per edge. Each snapshot is scored by its *derived cell* (per edge the surviving op with the
largest gate, ``none`` where no op survives), canonicalised. Its accuracy is the table's seed-0
validation (and test) accuracy when the table holds the cell; the table is a 500-cell sample of
the 4,930 canonical cells, so a derived cell outside it is trained here once with the table's exact
recipe and seed 0 (``build_tabular_benchmark.train_one``), i.e. the number the table would hold.
Params / MACs of the derived cell are the table's (or ``get_flops`` of the cell, the table's
counter); the relaxed snapshot's own params / MACs (all surviving ops) are reported beside them.

Comparison: the GOLD-NAS front (non-dominated derived cells, accuracy up, MACs down) against the
fronts of ``K`` cells drawn uniformly from the table (``K`` = distinct derived cells of the search,
the same evaluation budget), ``--draws`` times; the figure of merit is the 2-D hypervolume with
reference point (chance accuracy 10 %, the largest MACs of the table and the snapshots), MACs
normalised to [0, 1] over that range. Also printed: the table's own front (an upper bound for any
searcher restricted to the table), and the mechanism evidence from the snapshot file.

Usage::

    OMP_NUM_THREADS=1 python packages/nas/benchmarks/gold_nas_pareto.py work_dirs/gold_nas/gold_nas_snapshots.json
"""
import argparse
import importlib.util
import json
import os.path as osp
import random
import statistics
import sys
import time

import torch

from tessera_nas.benchmarks import TabularBenchmark, space
from tessera_nas.benchmarks.network import TinyNetwork

HERE = osp.dirname(osp.abspath(__file__))


def _build_module():
    path = osp.join(HERE, 'build_tabular_benchmark.py')
    spec = importlib.util.spec_from_file_location('build_tabular_benchmark', path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def front(points):
    """Non-dominated ``(macs, acc, ...)`` tuples (fewer MACs and higher acc are better), MACs ascending."""
    out, best = [], -1.0
    for p in sorted(points, key=lambda p: (p[0], -p[1])):
        if p[1] > best:
            out.append(p)
            best = p[1]
    return out


def hypervolume(points, macs_ref, macs_min, acc_ref=10.0):
    """Area dominated by ``points`` above ``(macs_ref, acc_ref)``, MACs normalised to [0, 1]."""
    span = float(macs_ref - macs_min)
    area, prev_acc = 0.0, acc_ref
    for macs, acc, *_ in front(points):
        if acc <= prev_acc or macs > macs_ref:
            continue
        area += (macs_ref - macs) / span * (acc - prev_acc) / 100.0
        prev_acc = acc
    return area


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('snapshots', help='gold_nas_snapshots.json of a search work dir')
    p.add_argument('--draws', type=int, default=1000, help='random fronts of K table cells')
    p.add_argument('--metric', default='valid_acc', choices=('valid_acc', 'test_acc'))
    p.add_argument('--out', default=None, help='write the scored snapshots and the summary as JSON')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.process_time()
    with open(args.snapshots) as f:
        run = json.load(f)
    bench = TabularBenchmark.load()
    recipe = bench.meta['recipe']
    build = _build_module()
    bargs = build.parse_args([f'--{k.replace("_", "-")}={v}' for k, v in recipe.items()
                              if k in build.RECIPE_KEYS])
    data = None
    scored = {}  # canonical index -> dict
    from tessera_core.analysis.complexity import get_flops
    for snap in run['snapshots']:
        idx = space.canonical_index(snap['genotype'])
        if idx in scored:
            continue
        if idx in bench:
            e = bench.query(idx)
            scored[idx] = dict(valid_acc=e.valid_acc, test_acc=e.test_acc, macs=e.macs, params=e.params,
                               source='table')
        else:
            data = data or build.load_data(bargs)
            _, res = build.train_one(space.canonical(idx), 0, data, bargs)
            cost = get_flops(TinyNetwork(idx, bargs.channels, bargs.cells_per_stage), (1, 16, 16))
            scored[idx] = dict(valid_acc=res['valid'], test_acc=res['test'], macs=cost['flops'],
                               params=cost['params'], source='trained with the table recipe, seed 0')
    rows = []
    for snap in run['snapshots']:
        idx = space.canonical_index(snap['genotype'])
        rows.append(dict(iter=snap['iter'], num_active=snap['num_active'], single_path=snap['single_path'],
                         relaxed_macs=snap['flops'], relaxed_params=snap['params'], cell=space.canonical(idx),
                         **scored[idx]))
    m = args.metric
    pts = [(s['macs'], s[m], idx) for idx, s in scored.items()]
    gold_front = front(pts)
    table_pts = [(e.macs, getattr(e, m), e.index) for e in bench]
    macs_ref = max(max(x[0] for x in table_pts), max(x[0] for x in pts))
    macs_min = min(min(x[0] for x in table_pts), min(x[0] for x in pts))
    hv_gold = hypervolume(pts, macs_ref, macs_min)
    hv_table = hypervolume(table_pts, macs_ref, macs_min)
    k = len(scored)
    rng = random.Random(0)
    hv_rand, best_rand = [], []
    for _ in range(args.draws):
        draw = rng.sample(table_pts, k)
        hv_rand.append(hypervolume(draw, macs_ref, macs_min))
        best_rand.append(max(x[1] for x in draw))
    frac_better = sum(h >= hv_gold for h in hv_rand) / len(hv_rand)

    print(f'GOLD-NAS snapshots: {len(run["snapshots"])} ({k} distinct derived cells; '
          f'{sum(s["source"] == "table" for s in scored.values())} in the table, the others trained here)')
    print(f'{"iter":>5} {"active":>6} {"1-path":>6} {"relaxed MACs":>12} {"cell MACs":>9} {m:>9} test_acc  cell')
    for r in rows:
        print(f'{r["iter"]:5d} {r["num_active"]:6d} {str(r["single_path"]):>6} {r["relaxed_macs"]:12d} '
              f'{r["macs"]:9d} {r[m]:9.2f} {r["test_acc"]:8.2f}  {r["cell"]} [{r["source"][:5]}]')
    print(f'GOLD-NAS front ({len(gold_front)} points): ' +
          ', '.join(f'{x[0] / 1e6:.2f}M:{x[1]:.2f}' for x in gold_front))
    print(f'hypervolume ({m}, MACs): GOLD-NAS {hv_gold:.4f}; random {k} table cells: median '
          f'{statistics.median(hv_rand):.4f}, mean {statistics.fmean(hv_rand):.4f} '
          f'(p10 {sorted(hv_rand)[len(hv_rand) // 10]:.4f}, p90 {sorted(hv_rand)[9 * len(hv_rand) // 10]:.4f}); '
          f'P(random >= GOLD-NAS) = {frac_better:.3f}; whole table {hv_table:.4f}')
    print(f'best {m}: GOLD-NAS {max(x[1] for x in pts):.2f}; random median {statistics.median(best_rand):.2f}; '
          f'table {max(x[1] for x in table_pts):.2f}')
    steps = run.get('steps', [])
    if steps:
        print(f'pruning steps: {len(steps)}; pruned per step: {[s["num_pruned"] for s in steps]}')
        print('lambda after each step: ' + ', '.join(f'{s["lambda"]:.3g}' for s in steps))
        print('CE vs lambda*R (interval means), every step with a pruning: ' + ', '.join(
            f'it{s["iter"]}: {s["loss_cls"]:.3f}/{s["loss_resource"]:.3f}' for s in steps if s['num_pruned']))
    last = run['snapshots'][-1]
    print(f'largest |sigmoid(alpha) - init| at the last snapshot: {last["max_gate_move"]:.3f}')
    summary = dict(hv_gold=hv_gold, hv_random_median=statistics.median(hv_rand), p_random_ge_gold=frac_better,
                   hv_table=hv_table, k=k, front=gold_front, best_gold=max(x[1] for x in pts),
                   best_random_median=statistics.median(best_rand), cpu_seconds=time.process_time() - t0)
    print(f'CPU time of the scoring: {summary["cpu_seconds"]:.0f} s')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(rows=rows, summary=summary), f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
