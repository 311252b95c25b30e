"""Score LA-DARTS searches (different latency_lambda, same seed) on the tabular benchmark.

Reads the ``la_darts_search.json`` of each search work dir (written by ``LADARTSHook``), prints the
mechanism checks (how far alpha moved, the latency term next to the CE term, the expected latency
over the epochs) and the derived cells' measured latency and accuracy from the table. A derived cell
whose canonical form is not among the table's 500 is trained once with the table's recipe (seed 0,
``build_tabular_benchmark.train_one``) and its latency measured here with the table's protocol; such
rows are marked ``[trained]``.

    python packages/nas/benchmarks/la_darts_sweep.py work_dirs/la_darts_l0 work_dirs/la_darts_l0.5 ...
"""
import argparse
import importlib.util
import json
import os.path as osp
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


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('work_dirs', nargs='+', help='search work dirs holding la_darts_search.json')
    p.add_argument('--out', default=None, help='write the summary as JSON')
    args = p.parse_args(argv)
    torch.set_num_threads(1)
    t0 = time.process_time()
    bench = TabularBenchmark.load()
    build, data, bargs = None, None, None
    rows = []
    for wd in args.work_dirs:
        with open(osp.join(wd, 'la_darts_search.json')) as f:
            run = json.load(f)
        fin, eps = run['final'], run['epochs']
        idx = fin['canonical_index']
        if idx in bench:
            e = bench.query(idx)
            score = dict(latency_ms=e.latency_ms, test_acc=e.test_acc, valid_acc=e.valid_acc, source='table')
        else:
            if data is None:
                build = build or _build_module()
                recipe = bench.meta['recipe']
                bargs = build.parse_args([f'--{k.replace("_", "-")}={v}' for k, v in recipe.items()
                                          if k in build.RECIPE_KEYS])
                data = build.load_data(bargs)
            model, res = build.train_one(space.canonical(idx), 0, data, bargs)
            score = dict(latency_ms=build.latency_ms(model, bargs.latency_repeats),
                         test_acc=res['test'], valid_acc=res['valid'], source='trained')
        # every derived cell re-measured now with the table's protocol (same load as the trained ones)
        if build is None:
            build = _build_module()
        score['latency_now_ms'] = build.latency_ms(TinyNetwork(idx, 8, 1), 30)
        m = eps[-1]['means']
        ce_g, lat_g = m.get('ce_grad_norm'), m.get('lat_grad_norm')
        rows.append(dict(work_dir=wd, latency_lambda=run['latency_lambda'], latency_form=run['latency_form'],
                         cell=fin['canonical'], predicted_latency_ms=fin['predicted_latency_ms'], **score,
                         alpha_delta_max=eps[-1]['alpha_delta_max'], alpha_delta_l2=eps[-1]['alpha_delta_l2'],
                         expected_latency_first=eps[0]['expected_latency_ms'],
                         expected_latency_last=eps[-1]['expected_latency_ms'],
                         loss_arch_last=m.get('loss_arch'), loss_latency_last=m.get('loss_latency'),
                         ce_grad_norm_last=ce_g, lat_grad_norm_last=lat_g,
                         expected_latency_per_epoch=[r['expected_latency_ms'] for r in eps]))
    pred = json.loads(open(osp.join(args.work_dirs[0], 'la_darts_search.json')).read())['predictor']
    if 'heldout' in pred:
        h = pred['heldout']
        print(f'latency predictor (hidden {pred["hidden"]}, {pred["num_train"]} train cells): held-out {h["n"]}: '
              f'mean rel err {100 * h["mean_rel_err"]:.2f} %, max {100 * h["max_rel_err"]:.1f} %, '
              f'RMSE {h["rmse_ms"]:.4f} ms, Kendall tau {h["kendall_tau"]:.3f}, Spearman {h["spearman"]:.3f}')
    lats = sorted(e.latency_ms for e in bench)
    accs = sorted(e.test_acc for e in bench)
    print(f'table: latency median {lats[len(lats) // 2]:.4f} ms (min {lats[0]:.4f}, max {lats[-1]:.4f}); '
          f'test acc median {accs[len(accs) // 2]:.2f} (max {accs[-1]:.2f})')
    print(f'{"lambda":>6} {"|da|max":>7} {"E[lat] first->last":>19} {"CE":>6} {"lam*Llat":>8} {"gCE":>7} {"gLat":>7} '
          f'{"lat ms":>7} {"now":>6} {"pred":>6} {"test":>6} {"valid":>6}  cell')
    for r in rows:
        f = lambda v, w, d: (f'{v:{w}.{d}f}' if v is not None else ' ' * (w - 1) + '-')  # noqa: E731
        lat_pct = sum(x <= r['latency_ms'] for x in lats) / len(lats)
        acc_pct = sum(x <= r['test_acc'] for x in accs) / len(accs)
        print(f'{r["latency_lambda"]:6.2f} {r["alpha_delta_max"]:7.3f} {r["expected_latency_first"]:9.4f}->'
              f'{r["expected_latency_last"]:.4f} {f(r["loss_arch_last"], 6, 3)} {f(r["loss_latency_last"], 8, 4)} '
              f'{f(r["ce_grad_norm_last"], 7, 4)} {f(r["lat_grad_norm_last"], 7, 4)} {r["latency_ms"]:7.4f} '
              f'{r["latency_now_ms"]:6.3f} {r["predicted_latency_ms"]:6.3f} {r["test_acc"]:6.2f} '
              f'{r["valid_acc"]:6.2f}  {r["cell"]} '
              f'[{r["source"]}; latency pct {100 * lat_pct:.0f}, acc pct {100 * acc_pct:.0f}]')
        r.update(latency_percentile=lat_pct, test_acc_percentile=acc_pct)
    print(f'scoring CPU time {time.process_time() - t0:.1f} s')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(dict(predictor=pred, rows=rows), f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
