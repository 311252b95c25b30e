"""WeakNAS and its baselines on a table: oracle optimality, the narrowing, mutation, registry."""
import random

import numpy as np
import pytest

from tessera_nas.benchmarks import TabularBenchmark, space
from tessera_nas.benchmarks import search as S
from tessera_nas.registry import SEARCHERS


def synthetic(n=300, seed=0, full=False):
    rng = random.Random(seed)
    idx = list(space.canonical_indices()) if full else rng.sample(space.canonical_indices(), n)
    ents = []
    for i in idx:
        g = repr(space.computation_graph(i))
        acc = 10.0 if g == 'None' else 60 + 3 * g.count('nor_conv_3x3') + g.count('nor_conv_1x1') + rng.random()
        ents.append(dict(index=i, genotype=space.to_str(space.ops_of(i)), params=1, macs=1, latency_ms=1.0,
                         seeds=[0], valid_acc=[acc], test_acc=[acc]))
    return TabularBenchmark(dict(version='synthetic', entries=ents))


@pytest.fixture(scope='module')
def bench():
    return synthetic()


def oracle_for(bench):
    """Exact table accuracies, looked up from the one-hot rows (the encoding is injective)."""
    table = {tuple(row): bench.query(int(i)).valid_acc for row, i in zip(S.one_hot(bench.indices), bench.indices)}

    def fit_predict(x_train, y_train, x_all, seed):
        return np.array([table[tuple(r)] for r in x_all])
    return fit_predict


def test_one_hot_is_injective_on_the_space():
    x = S.one_hot(range(space.NUM_ARCHS))
    assert x.shape == (15625, 30) and (x.sum(1) == 6).all()
    assert len({r.tobytes() for r in x}) == 15625


def test_oracle_weaknas_finds_top1_in_the_minimum_number_of_queries(bench):
    top1 = bench.ranked()[0].index
    for seed in range(20):
        w = S.WeakNAS(init_samples=10, samples_per_iter=1, top_start=1, top_end=1, predictor=oracle_for(bench))
        hist = w.run(bench, seed, stop={top1})
        q = S.queries_to_find(hist, {top1})
        init = hist[:10]
        # found at random in the init, or by the first query after it: no searcher can do better
        assert q == (init.index(top1) + 1 if top1 in init else 11)
        assert len(set(hist)) == len(hist)


def test_oracle_weaknas_top_k_region(bench):
    """Region of 10, 10 per iteration: the 10 queries after the init are the true top 10 not yet seen."""
    ranked = [e.index for e in bench.ranked()]
    w = S.WeakNAS(init_samples=10, samples_per_iter=10, top_start=10, top_end=10, predictor=oracle_for(bench))
    hist = w.run(bench, 0, budget=20)
    init = set(hist[:10])
    expected = [i for i in ranked if i not in init][:10]
    assert set(hist[10:20]) <= set(ranked[:10]) | set(expected) and set(expected) <= set(hist[10:20]) | init
    assert S.queries_to_find(hist, {ranked[0]}) <= 20


def test_narrowing_samples_only_from_the_predicted_top(bench):
    """A fixed (wrong) predictor: every post-init sample lies in its top-M_t, M_t shrinking."""
    rng = np.random.RandomState(1)
    fake = rng.randn(len(bench))
    pos = {tuple(r): k for k, r in enumerate(S.one_hot(bench.indices))}

    def fit_predict(x_train, y_train, x_all, seed):
        return np.array([fake[pos[tuple(r)]] for r in x_all])
    w = S.WeakNAS(init_samples=10, samples_per_iter=5, top_start=60, top_end=10, max_samples=100,
                  predictor=fit_predict)
    tops = w.schedule()
    assert tops[0] == 60 and tops[-1] == 10 and all(a >= b for a, b in zip(tops, tops[1:]))
    hist = w.run(bench, 0, budget=100)
    order = np.argsort(-fake, kind='stable')
    idx = np.array(bench.indices)
    ranked = idx[order].tolist()
    seen = set(hist[:10])
    narrowed = 0
    for z, t in enumerate(w.trace[1:], start=1):
        region = set(ranked[:tops[z - 1]])
        picked = idx[t['picked']].tolist()
        free = region - seen
        if len(free) >= len(picked):
            assert set(picked) <= free, z  # uniform inside the not-yet-queried predicted top
            narrowed += 1
        else:  # region exhausted: all of it, then the best predicted of the rest
            rest = [i for i in ranked if i not in seen and i not in free][:len(picked) - len(free)]
            assert set(picked) == free | set(rest), z
        seen |= set(picked)
    assert narrowed >= 3 and len(hist) == 100
    # 90 post-init queries of 300 entries, all among the 100 best of the (fake) predicted order
    assert set(hist[10:]) <= set(ranked[:100])


def test_schedule_matches_official_formula():
    s = S.sample_schedule(5, 100, 10, 0.96)
    x = np.linspace(0, 99, 5)
    y = 0.96 ** x
    y = (y - y.min()) / (y.max() - y.min()) * 90 + 10
    assert s == [int(v) for v in y]
    assert S.sample_schedule(1, 50, 10, 0.96) == [50]


def test_weaknas_real_predictors_beat_random(bench):
    top1 = {bench.ranked()[0].index}
    topk = {e.index for e in bench.ranked()[:3]}
    rs = [S.queries_to_find(S.RandomSearch().run(bench, s), topk) for s in range(10)]
    wk = [S.queries_to_find(S.WeakNAS(predictor='gbdt', n_estimators=50, top_start=30, max_samples=300)
                            .run(bench, s, stop=top1), topk) for s in range(10)]
    assert np.median(wk) < np.median(rs)


def test_random_search_is_a_permutation(bench):
    h = S.RandomSearch().run(bench, 4)
    assert sorted(h) == bench.indices and h != bench.indices


def test_evolution_mutates_one_edge_on_a_full_table():
    full = synthetic(full=True)
    parent = space.canonical('|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|avg_pool_3x3~1|nor_conv_1x1~2|')
    parent = space.canonical_index(parent)
    nbrs = set(S.table_neighbors(full, parent, 1))
    expected = {space.canonical_index(m) for c in space.class_members(parent) for m in space.mutations(c)} - {parent}
    assert nbrs == expected
    for c in space.class_members(parent):
        for m in space.mutations(c):
            assert sum(a != b for a, b in zip(space.ops_of(c), space.ops_of(m))) == 1


def test_evolution_runs_and_uses_the_population(bench):
    re = S.RegularizedEvolution(population_size=10, sample_size=3)
    h = re.run(bench, 0, budget=80)
    assert len(h) == 80 and len(set(h)) == 80
    with pytest.raises(ValueError, match='sample_size 30 > population_size 10'):
        S.RegularizedEvolution(population_size=10, sample_size=30)


def test_searchers_registered_and_bad_predictor():
    for name in ('WeakNAS', 'RandomSearch', 'RegularizedEvolution'):
        assert SEARCHERS.get(name) is not None
    assert isinstance(SEARCHERS.build(dict(type='WeakNAS', predictor='gbdt')), S.WeakNAS)
    with pytest.raises(ValueError, match="predictor 'svm'"):
        S.WeakNAS(predictor='svm')
    with pytest.raises(ValueError, match='top_end 60 > top_start 50'):
        S.WeakNAS(top_end=60)


def test_config_builds_every_searcher():
    import os.path as osp

    from mmengine.config import Config

    import tessera_nas
    cfg = Config.fromfile(osp.join(osp.dirname(tessera_nas.__file__), 'configs', 'weaknas',
                                   'weaknas_mlp_fmnist16-table.py'))
    assert set(cfg.searchers) >= {'random', 'evolution', 'weaknas'}
    for c in cfg.searchers.values():
        SEARCHERS.build(dict(c))


def test_evolution_count_repeats_charges_every_cycle(bench):
    free = S.RegularizedEvolution(population_size=10, sample_size=3).run(bench, 1, budget=60)
    charged = S.RegularizedEvolution(population_size=10, sample_size=3, count_repeats=True).run(bench, 1, budget=60)
    assert len(free) == len(set(free)) == 60
    assert len(charged) == 60 and len(set(charged)) < 60  # a converging population revisits cells
