"""WeakNAS vs random search vs regularized evolution on the shipped tabular benchmark.

Each searcher of the config (built from ``tessera_nas.registry.SEARCHERS``) runs with seeds
``0 .. runs-1`` until it has queried both targets: the table's top-1 architecture by the query metric
and any architecture of the top ``top_fraction`` (1% = 5 of the 500 entries: with ~500 entries a
top-0.1% target is less than one architecture, and the seed-to-seed noise floor already blurs the
order within the top few). Printed per searcher: median and interquartile range of the number of
queries to each target and the ratio of the medians to random search; plus the mechanism evidence
of WeakNAS (how much of its later samples fall in the true top 10%).

Usage::

    OMP_NUM_THREADS=1 python packages/nas/benchmarks/search_on_table.py
    python packages/nas/benchmarks/search_on_table.py --runs 10 --only random weaknas_gbdt
"""
import argparse
import json
import sys
import os.path as osp
import time

import numpy as np
from mmengine.config import Config

from tessera_nas.benchmarks import TabularBenchmark
from tessera_nas.benchmarks import search as S

CONFIG = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tessera_nas', 'configs', 'weaknas',
                  'weaknas_mlp_fmnist16-table.py')


def quartiles(v):
    q1, med, q3 = np.percentile(np.asarray(v, dtype=float), [25, 50, 75])
    return float(med), float(q1), float(q3)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--config', default=CONFIG)
    p.add_argument('--runs', type=int, default=None)
    p.add_argument('--only', nargs='+', default=None, help='searcher names of the config')
    p.add_argument('--table', default=None, help='table JSON (default: the config\'s, i.e. the shipped one)')
    p.add_argument('--out', default=None, help='write the per-run numbers as JSON')
    args = p.parse_args(argv)
    cfg = Config.fromfile(args.config)
    runs = args.runs or cfg.runs
    bench = TabularBenchmark.load(args.table or cfg.table)
    print(bench)
    ranked = bench.ranked(cfg.metric)
    names = args.only or list(cfg.searchers)
    t0 = time.time()
    out = S.compare(bench, {n: cfg.searchers[n] for n in names}, runs, cfg.metric, cfg.top_fraction)
    k, results = out['k'], out['results']
    print(f'targets: top-1 {" or ".join(out["top1"])} ({getattr(ranked[0], cfg.metric):.2f}, '
          f'{out["num_top1"]} entries); top-{cfg.top_fraction:.0%}: {out["num_topk"]} entries '
          f'(>= {getattr(ranked[k - 1], cfg.metric):.2f}); '
          f'{runs} runs each, {time.time() - t0:.1f} s in total')
    rs = results.get('random')
    print(f'\n{"searcher":14s} {"top-1 median [IQR]":>24s} {"vs random":>9s} {"top-%d median [IQR]" % k:>24s} '
          f'{"vs random":>9s}')
    for name, r in results.items():
        row = [f'{name:14s}']
        for key in ('top1', 'topk'):
            med, a, b = quartiles(r[key])
            ratio = f'{med / quartiles(rs[key])[0]:.2f}x' if rs else '-'
            row.append(f'{med:10.1f} [{a:.0f}, {b:.0f}]'.rjust(24) + f'{ratio:>9s}')
        print(' '.join(row))
    for name, r in results.items():
        if r['later_in_top10pct'] is not None:
            print(f'{name}: {100 * r["later_in_top10pct"]:.1f}% of its queries after the random init are in the '
                  f'true top 10% (random: 10%)')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(out, runs=runs, table=bench.version, command=' '.join(sys.argv)), f, indent=1)
    return results


if __name__ == '__main__':
    main()
