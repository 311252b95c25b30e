"""Score a CARS search with the tabular benchmark: its Pareto front against random sampling, and the
supernet's ranking (Kendall tau) against the table's.

Input: the ``cars_generations.json`` that :class:`~tessera_nas.engine.hooks.CARSEvolutionHook` writes
during ``mim train tessera-nas cars/cars_nb201-c8_fmnist16.py`` (run with
``custom_hooks.0.score_table_at_end=True`` for the whole-table ranking and the supernet-selected
random baseline).

Every individual is a cell of the table (the search is restricted to it), so each is scored by its
table entry: seed-0 validation accuracy (``--metric``) and params (``--cost``: params, macs or
latency_ms).

- CARS front: the final population's first front by *inherited-weight* accuracy and cost (what the
  search outputs), each point then placed at its *table* accuracy; hypervolume in (accuracy, cost)
  with reference (10 %, the table's largest cost), cost normalised over the table's range (as
  ``gold_nas_pareto.py``).
- Random at the same budget: ``K`` = distinct cells the search evaluated; ``--draws`` random
  ``K``-subsets of the table, (a) *oracle*: their front by table accuracy (a searcher that trained
  each of the K cells with the table recipe); (b) *same supernet*: their front by the final
  supernet's inherited accuracy, placed at table accuracy (random sampling from the same supernet at
  the same budget; needs ``table_eval``).
- Kendall tau between inherited and table accuracy: over all evaluations of the search (each at its
  generation's weights), per generation, and over the whole table with the final supernet; the
  table's seed-vs-seed tau (its noise floor) beside it.
- Mechanism: population turnover per generation, survivors that plain NSGA-III would have dropped,
  supernet weight movement.

Usage::

    OMP_NUM_THREADS=1 python packages/nas/benchmarks/cars_pareto.py work_dirs/cars/cars_generations.json
"""
import argparse
import importlib.util
import json
import os.path as osp
import random
import statistics
import sys

from tessera_nas.benchmarks import TabularBenchmark
from tessera_nas.benchmarks.tabular import kendall_tau

HERE = osp.dirname(osp.abspath(__file__))


def _gold():
    spec = importlib.util.spec_from_file_location('gold_nas_pareto', osp.join(HERE, 'gold_nas_pareto.py'))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def first_front(items, acc_of, cost_of):
    """Non-dominated items (acc up, cost down)."""
    out = []
    for a in items:
        if not any((acc_of(b) >= acc_of(a) and cost_of(b) <= cost_of(a)) and
                   (acc_of(b) > acc_of(a) or cost_of(b) < cost_of(a)) for b in items):
            out.append(a)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('record', help='cars_generations.json of a search work dir')
    p.add_argument('--draws', type=int, default=1000)
    p.add_argument('--metric', default='valid_acc', choices=('valid_acc', 'test_acc'))
    p.add_argument('--cost', default='params', choices=('params', 'macs', 'latency_ms'))
    p.add_argument('--out', default=None, help='write the summary as JSON')
    args = p.parse_args(argv)
    gold = _gold()
    with open(args.record) as f:
        run = json.load(f)
    bench = TabularBenchmark.load()
    m, c = args.metric, args.cost
    true = {e.index: getattr(e, m) for e in bench}
    cost = {e.index: getattr(e, c) for e in bench}
    gens = run['generations']
    table_pts = [(cost[i], true[i], i) for i in true]
    c_ref, c_min = max(x[0] for x in table_pts), min(x[0] for x in table_pts)
    hv = lambda idx: gold.hypervolume([(cost[i], true[i], i) for i in idx], c_ref, c_min)  # noqa: E731

    # ---- the CARS front
    last = gens[-1]
    rows = {r['index']: r for r in last['candidates']}
    pop = last['population_index']
    inh = {i: rows[i]['acc'] for i in pop}
    cars_front = first_front(pop, lambda i: inh[i], lambda i: cost[i])
    hv_cars, hv_pop = hv(cars_front), hv(pop)
    evaluated = {}
    for g in gens:
        for r in g['candidates']:
            evaluated.setdefault(r['index'], []).append((g['generation'], r['acc']))
    k = len(evaluated)

    # ---- random baselines
    rng = random.Random(0)
    final = {int(i): a for i, a in run.get('table_eval', {}).items()}
    hv_or, best_or, hv_sn, best_sn = [], [], [], []
    for _ in range(args.draws):
        draw = rng.sample(list(true), k)
        hv_or.append(hv(draw))
        best_or.append(max(true[i] for i in draw))
        if final:
            fr = first_front(draw, lambda i: final[i], lambda i: cost[i])
            hv_sn.append(hv(fr))
            best_sn.append(true[max(draw, key=lambda i: final[i])])
    hv_table = hv(list(true))

    print(f'{args.record}: objective {run["objective"]}, protection {run["protection"]}, population '
          f'{run["population_size"]}, {len(gens) - 1} generations, {run["evaluations"]} evaluations of {k} distinct '
          f'cells (K)')
    print(f'CARS front (final population, by inherited acc vs {run["objective"]}): ' + ', '.join(
        f'{cost[i]}:{inh[i]:.1f}->{true[i]:.2f}' for i in sorted(cars_front, key=lambda i: cost[i])))
    print(f'hypervolume ({m}, {c}): CARS front {hv_cars:.4f}, CARS whole final population {hv_pop:.4f}; '
          f'random K={k} oracle median {statistics.median(hv_or):.4f} (p10 {sorted(hv_or)[len(hv_or) // 10]:.4f}, '
          f'p90 {sorted(hv_or)[9 * len(hv_or) // 10]:.4f}), P(random >= CARS) '
          f'{sum(h >= hv_cars for h in hv_or) / len(hv_or):.3f}; whole table {hv_table:.4f}')
    summary = dict(k=k, evaluations=run['evaluations'], hv_cars=hv_cars, hv_population=hv_pop,
                   hv_random_oracle_median=statistics.median(hv_or),
                   p_random_oracle_ge_cars=sum(h >= hv_cars for h in hv_or) / len(hv_or), hv_table=hv_table,
                   best_cars_front=max(true[i] for i in cars_front), best_cars_population=max(true[i] for i in pop),
                   best_random_oracle_median=statistics.median(best_or),
                   cars_front=[dict(index=i, cost=cost[i], inherited=inh[i], table=true[i]) for i in cars_front])
    if final:
        summary.update(hv_random_supernet_median=statistics.median(hv_sn),
                       p_random_supernet_ge_cars=sum(h >= hv_cars for h in hv_sn) / len(hv_sn),
                       best_random_supernet_median=statistics.median(best_sn))
        print(f'  random K={k} selected by the same (final) supernet: HV median {statistics.median(hv_sn):.4f} '
              f'(p10 {sorted(hv_sn)[len(hv_sn) // 10]:.4f}, p90 {sorted(hv_sn)[9 * len(hv_sn) // 10]:.4f}), '
              f'P(random >= CARS) {summary["p_random_supernet_ge_cars"]:.3f}')
    print(f'best {m}: CARS front {summary["best_cars_front"]:.2f}, CARS population '
          f'{summary["best_cars_population"]:.2f}; random K oracle median {statistics.median(best_or):.2f}' +
          (f', random K by the supernet median {statistics.median(best_sn):.2f}' if final else '') +
          f'; table {max(true.values()):.2f}')

    # ---- ranking
    nf = bench.noise_floor()
    pairs = [(a, true[i]) for g in gens for r in g['candidates'] for i, a in [(r['index'], r['acc'])]]
    tau_all = kendall_tau([a for a, _ in pairs], [b for _, b in pairs])
    per_gen = []
    for g in gens:
        xs = [(r['acc'], true[r['index']]) for r in g['candidates']]
        per_gen.append(kendall_tau([a for a, _ in xs], [b for _, b in xs]))
    summary.update(tau_search=tau_all, tau_per_generation=per_gen, tau_noise_floor=nf.get('kendall_tau'))
    print(f'Kendall tau inherited vs table {m}: all {len(pairs)} search evaluations {tau_all:.3f}; per generation '
          + ' '.join(f'{t:.2f}' for t in per_gen) + f'; table seed-vs-seed (noise floor) {nf.get("kendall_tau"):.3f}')
    if final:
        ids = sorted(final)
        tau_final = kendall_tau([final[i] for i in ids], [true[i] for i in ids])
        tau_final_cost = kendall_tau([final[i] for i in ids], [cost[i] for i in ids])
        tau_table_cost = kendall_tau([true[i] for i in ids], [cost[i] for i in ids])
        summary.update(tau_final_supernet=tau_final, tau_final_vs_cost=tau_final_cost, tau_table_vs_cost=tau_table_cost)
        print(f'  final supernet over all {len(ids)} table cells: tau {tau_final:.3f} (inherited vs {c}: '
              f'{tau_final_cost:.3f}; table acc vs {c}: {tau_table_cost:.3f})')

    # ---- mechanism
    turnover = [len(set(g['population_index']) - set(prev['population_index'])) for prev, g in zip(gens, gens[1:])]
    protected = [len(g.get('kept_not_by_nsga3', [])) for g in gens[1:]]
    beyond = [len(g.get('kept_beyond_nsga3_fronts', [])) for g in gens[1:]]
    moves = [g.get('weight_move_from_prev') for g in gens[1:]]
    kept_kind = {}
    for g in gens[1:]:
        for r in g['candidates']:
            if r['origin'] != 'parent':
                kk = kept_kind.setdefault(r['origin'], [0, 0])
                kk[0] += r['kept']
                kk[1] += 1
    summary.update(turnover=turnover, protected=protected, beyond_nsga3=beyond, weight_moves=moves,
                   weight_move_from_init=gens[-1]['weight_move_from_init'], offspring_kept=kept_kind)
    print(f'new members per generation: {turnover}')
    print(f'survivors plain NSGA-III would drop per generation: {protected} (total {sum(protected)}); '
          f'beyond its fronts: {beyond} (total {sum(beyond)})')
    print('offspring kept / made by kind: ' + ', '.join(f'{kk}: {v[0]}/{v[1]}' for kk, v in kept_kind.items()))
    print('relative weight move per generation: ' + ' '.join(f'{x:.3f}' for x in moves) +
          f'; from init at the end {gens[-1]["weight_move_from_init"]:.3f}')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    sys.exit(main())
