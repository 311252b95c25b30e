"""The shipped tabular benchmark: invariants of the table, the query API, bad input."""
import os.path as osp

import pytest

import tessera_nas
from tessera_nas.benchmarks import ArchitectureNotInTable, GenotypeError, TabularBenchmark, space
from tessera_nas.benchmarks.tabular import default_table_path, kendall_tau

from test_benchmark_space import hand_params


@pytest.fixture(scope='module')
def bench():
    return TabularBenchmark.load()


def test_table_ships_inside_the_package():
    path = default_table_path()
    assert path.startswith(osp.dirname(tessera_nas.__file__)) and osp.isfile(path)


def test_table_invariants(bench):
    meta = bench.meta
    assert meta['space']['num_archs'] == 15625 and meta['space']['num_unique'] == space.num_unique() == 4930
    assert len(bench) == meta['sample']['num_archs'] == 500
    seen = set()
    for e in bench:
        assert space.parse(e.genotype) == space.ops_of(e.index)  # valid op list, consistent string
        assert space.is_canonical(e.index)
        assert e.index not in seen
        seen.add(e.index)
        assert e.params == hand_params(e.ops)  # the macro net's count, recomputed by hand
        assert e.macs > 0 and e.latency_ms > 0
        assert len(e.valid_accs) == len(e.test_accs) == len(e.seeds)
        assert all(0 <= a <= 100 for a in e.valid_accs + e.test_accs)
    assert sum(len(e.seeds) == 2 for e in bench) == meta['recipe']['num_seeds2'] == 50
    # the sample is exactly the documented seeded draw
    import random
    draw = random.Random(meta['sample']['sample_seed']).sample(space.canonical_indices(), 500)
    assert sorted(draw) == bench.indices
    assert meta['total_wall_seconds'] > 0 and meta['commands']


def test_accuracies_spread_and_zero_cell(bench):
    accs = [e.valid_acc for e in bench]
    assert max(accs) - sorted(accs)[len(accs) // 2] > 1.0
    for e in bench:
        if space.computation_graph(e.index) is None:
            assert e.valid_acc < 15  # a cell that outputs zero is chance


def test_isomorphic_cells_map_to_one_entry(bench):
    hits = 0
    for e in list(bench)[:60]:
        for m in space.class_members(e.index)[:20]:
            assert bench.query(m) is e
            assert bench.query(space.to_str(space.ops_of(m))) is e
            hits += 1
    assert hits > 60


def test_query_sample_iterate(bench):
    e = next(iter(bench))
    assert bench.query(e.genotype) is bench.query(e.index) is bench.query(list(e.ops))
    assert e.genotype in bench and e.index in bench
    s = bench.sample(10, seed=3)
    assert len({x.index for x in s}) == 10 and s == bench.sample(10, seed=3)
    r = bench.ranked()
    assert r[0].valid_acc == max(x.valid_acc for x in bench)
    with pytest.raises(ValueError, match='cannot sample 501 of 500'):
        bench.sample(501)


def test_absent_architecture_says_so(bench):
    absent = next(c for c in space.canonical_indices() if c not in bench)
    member = space.class_members(absent)[-1]
    with pytest.raises(ArchitectureNotInTable, match='is not in the table') as err:
        bench.query(space.to_str(space.ops_of(member)))
    assert not isinstance(err.value, KeyError)
    assert space.canonical(absent) in str(err.value)
    assert member not in bench


def test_bad_genotype_names_op(bench):
    with pytest.raises(GenotypeError, match="op 'sep_conv_3x3' on edge 1->2"):
        bench.query('|none~0|+|none~0|sep_conv_3x3~1|+|none~0|none~1|none~2|')
    with pytest.raises(GenotypeError, match='edge 3->3'):
        bench.query('|none~0|+|none~0|none~1|+|none~0|none~1|none~3|')


def test_noise_floor_reported(bench):
    nf = bench.noise_floor()
    assert nf['n'] == 50
    assert 0 < nf['seed_std'] < nf['table_std']
    assert 'noise floor over 50 archs' in repr(bench)
    assert kendall_tau([1, 2, 3], [1, 2, 3]) == 1.0 and kendall_tau([1, 2, 3], [3, 2, 1]) == -1.0


@pytest.mark.slow
def test_weaknas_config_smoke_on_the_shipped_table(bench):
    """The package's WeakNAS config, 2 seeds per searcher, on the shipped table (search_on_table.py's core)."""
    from mmengine.config import Config

    import tessera_nas
    from tessera_nas.benchmarks.search import compare
    cfg = Config.fromfile(osp.join(osp.dirname(tessera_nas.__file__), 'configs', 'weaknas',
                                   'weaknas_mlp_fmnist16-table.py'))
    out = compare(bench, dict(cfg.searchers), runs=2, metric=cfg.metric, top_fraction=cfg.top_fraction, log=None)
    best = bench.ranked()[0].valid_acc
    assert out['k'] == 5 and out['top1'] == sorted(e.genotype for e in bench if e.valid_acc == best)
    for name, r in out['results'].items():
        assert len(r['top1']) == 2 and all(1 <= q <= 500 for q in r['top1']), name
        assert all(a <= b for a, b in zip(r['topk'], r['top1']))
    assert out['results']['weaknas']['later_in_top10pct'] is not None
