"""CARS: exact non-dominated fronts, NSGA-III's niching, the pNSGA-III protection on a hand-built
case, the genetic operators' rates, offspring validity and weight inheritance through the shared
supernet, the parameter-optimisation step (eq. 3), and bad input refused by name."""
import numpy as np
import pytest
import torch
from mmengine.optim import OptimWrapper

from tessera_nas.benchmarks import TabularBenchmark, space
from tessera_nas.engine.cars_evolution import (crossover, generate_offspring, mutate, non_dominated_sort,
                                               nsga3_select, pnsga3_select, reference_directions)
from tessera_nas.engine.hooks.cars_evolution_hook import CARSEvolutionHook
from tessera_nas.models.cars_classifier import CARSClassifier
from tessera_nas.models.search.cars_supernet import CARSSupernet, PathCell


# ------------------------------------------------------------------------------ sorting
def test_non_dominated_sort_exact_fronts():
    # minimise both; hand-built: A(1,5) B(2,3) C(4,1) are mutually non-dominated; D(3,4) is dominated by
    # B only; E(5,5) by everything of front 0 and D; F(2,3) ties B exactly (neither dominates)
    pts = [(1, 5), (2, 3), (4, 1), (3, 4), (5, 5), (2, 3)]
    assert non_dominated_sort(pts) == [[0, 1, 2, 5], [3], [4]]
    # a chain: each point dominated by the previous one
    assert non_dominated_sort([(i, i) for i in range(4)][::-1]) == [[3], [2], [1], [0]]
    # equal in one objective, better in the other: dominated
    assert non_dominated_sort([(1, 1), (1, 2)]) == [[0], [1]]
    # three objectives
    assert non_dominated_sort([(1, 2, 3), (3, 2, 1), (2, 2, 2), (3, 3, 3)]) == [[0, 1, 2], [3]]


def test_reference_directions_and_nsga3_keeps_whole_fronts_then_niches():
    refs = reference_directions(2, 4)
    assert refs.shape == (5, 2) and np.allclose(refs.sum(1), 1)
    assert len(reference_directions(3, 4)) == 15
    pts = [(1, 5), (2, 3), (4, 1), (3, 4), (5, 5)]
    assert nsga3_select(pts, 3) == [0, 1, 2]  # exactly front 0
    assert nsga3_select(pts, 4) == [0, 1, 2, 3]  # front 0 + the whole front 1
    # niching: 2 of 5 points on the line x + y = 10 (one front) with the two axis directions: each
    # empty niche takes its closest point, i.e. the two extremes, whatever the random tie-breaks
    last = [(0, 10), (2.5, 7.5), (5, 5), (7.5, 2.5), (10, 0)]
    for seed in range(5):
        assert nsga3_select(last, 2, np.random.default_rng(seed), divisions=1) == [0, 4]
    # 3 of them with 3 directions (0,1), (.5,.5), (1,0): the extremes and the middle point
    assert nsga3_select(last, 3, divisions=2) == [0, 2, 4]


# ------------------------------------------------------------------------------ protection
def hand_built():
    """Accuracy, params and accuracy increase of 5 candidates.

    (accuracy, params) fronts: {0, 1, 2}, {4}, {3}: the small model 3 is inaccurate (dominated by 4,
    which is dominated by 0), but it gained 6 points since the previous generation, the others < 1.
    """
    acc = [80.0, 82.0, 84.0, 70.0, 79.0]
    params = [30, 50, 90, 45, 40]
    inc = [0.5, 0.4, 0.3, 6.0, 0.2]
    return acc, params, inc


def test_pnsga3_keeps_the_fast_improving_small_model_that_nsga3_drops():
    acc, params, inc = hand_built()
    primary = np.stack([-np.array(acc), np.array(params)], 1)
    assert non_dominated_sort(primary) == [[0, 1, 2], [4], [3]]
    for seed in range(5):  # NSGA-III keeps fronts 0 and 1 whole: 3 is dropped, no randomness involved
        assert nsga3_select(primary, 4, np.random.default_rng(seed)) == [0, 1, 2, 4]
    res = pnsga3_select(acc, params, 4, accuracy_increase=inc, protection='increase')
    # stage 0 = front 0 of (acc, params) {0, 1, 2} U front 0 of (increase, params) {0, 3}: 4 members
    assert res['protect_fronts'][0] == [0, 3]
    assert res['selected'] == [0, 1, 2, 3] and res['stage'] == {0: 0, 1: 0, 2: 0, 3: 0}
    assert res['beyond_nsga3'] == [3]  # beyond the last front NSGA-III reaches
    # without the protection it is plain NSGA-III
    none = pnsga3_select(acc, params, 4, protection='none')
    assert none['selected'] == [0, 1, 2, 4] and none['protect_fronts'] is None and none['beyond_nsga3'] == []
    # with 5 survivors both keep 3 (nothing to protect)
    assert pnsga3_select(acc, params, 5, accuracy_increase=inc)['beyond_nsga3'] == []


def test_overflowing_stage_is_cut_by_niching():
    acc, params, inc = hand_built()
    # 3 survivors: stage 0 holds 4 candidates {0, 1, 2, 3}; the cut keeps 3 of them
    res = pnsga3_select(acc, params, 3, accuracy_increase=inc)
    assert len(res['selected']) == 3 and set(res['selected']) <= {0, 1, 2, 3}


def test_official_large_model_protection():
    # 'large' (official CARS_NSGA): second sorting on (accuracy up, params UP): the largest model 2 is
    # its front 0, then 1
    acc, params, _ = hand_built()
    res = pnsga3_select(acc, params, 4, protection='large')
    assert res['protect_fronts'][:2] == [[2], [1]] and res['selected'] == [0, 1, 2, 4]


def test_selection_bad_input_refused_by_name():
    acc, params, inc = hand_built()
    with pytest.raises(ValueError, match="protection 'speed' is not one of"):
        pnsga3_select(acc, params, 3, accuracy_increase=inc, protection='speed')
    with pytest.raises(ValueError, match='needs accuracy_increase'):
        pnsga3_select(acc, params, 3)
    with pytest.raises(ValueError, match='cannot select 7 of 5'):
        pnsga3_select(acc, params, 7, accuracy_increase=inc)
    with pytest.raises(ValueError, match='accuracy has 5 entries, cost 4'):
        pnsga3_select(acc, params[:4], 3, accuracy_increase=inc)
    with pytest.raises(ValueError, match='non-finite'):
        nsga3_select([(0, float('nan'))], 1)


# ------------------------------------------------------------------------------ operators
def test_crossover_and_mutation_rates():
    rng = np.random.default_rng(0)
    a, b = ('a',) * 6, ('b',) * 6
    assert crossover(a, b, rng, rate=0.0) == a and crossover(a, b, rng, rate=1.0) == b
    n = 4000
    from_b = sum(crossover(a, b, rng, 0.5).count('b') for _ in range(n)) / (6 * n)
    assert abs(from_b - 0.5) < 0.015  # 6 sigma of a binomial(24000, 0.5) is 0.019
    # mutation: each edge redrawn with probability 0.5 from 5 ops -> changed w.p. 0.5 * 4/5 = 0.4
    x = ('none',) * 6
    assert mutate(x, rng, space.OPS, rate=0.0) == x
    changed = sum(sum(o != 'none' for o in mutate(x, rng, space.OPS, 0.5)) for _ in range(n)) / (6 * n)
    assert abs(changed - 0.4) < 0.015
    with pytest.raises(ValueError, match='parents differ in length'):
        crossover(a, b[:5], rng)


def test_offspring_kinds_follow_the_official_ratios_and_are_new():
    import itertools
    rng = np.random.default_rng(1)
    pop = [space.ops_of(i) for i in (11, 2222, 7777, 15000)]
    rand = lambda r: tuple(space.OPS[int(i)] for i in r.integers(0, 5, 6))  # noqa: E731
    # every child admissible (a fresh key each): the kinds are the raw draws, 0.25 / 0.25 / 0.5
    counter = itertools.count()
    _, how = generate_offspring(pop, 4000, rng, rand, space.OPS, key=lambda x: next(counter))
    frac = {k: how.count(k) / len(how) for k in ('mutation', 'crossover', 'random')}
    assert abs(frac['mutation'] - 0.25) < 0.03 and abs(frac['crossover'] - 0.25) < 0.03  # ~4.4 sigma
    assert abs(frac['random'] - 0.5) < 0.03
    # with identity keys, duplicates of the population and of earlier offspring are rejected
    kids, how = generate_offspring(pop, 300, rng, rand, space.OPS, key=space.index_of)
    keys = [space.index_of(k) for k in kids]
    assert len(set(keys)) == 300 and not set(keys) & {11, 2222, 7777, 15000}
    assert {'mutation', 'crossover', 'random'} == set(how)
    with pytest.raises(ValueError, match='p_mutation=0.8, p_crossover=0.5'):
        generate_offspring(pop, 1, rng, lambda r: pop[0], space.OPS, p_mutation=0.8, p_crossover=0.5)
    with pytest.raises(RuntimeError, match='no admissible new offspring'):
        generate_offspring(pop, 1, rng, lambda r: pop[0], space.OPS, key=lambda x: None, max_tries=50)


def test_offspring_restricted_to_the_table_are_valid_table_cells():
    bench = TabularBenchmark.load()
    hook = CARSEvolutionHook(population_size=8)
    hook.bench = bench
    pop = [space.ops_of(e.index) for e in bench.sample(8, seed=0)]
    popset = {space.canonical_index(p) for p in pop}
    for repair in (hook._repair, None):  # 'nearest' (default) and 'reject'
        rng = np.random.default_rng(0)
        hook._repaired = 0
        kids, how = generate_offspring(pop, 40, rng, hook._random, space.OPS, key=hook._key, repair=repair)
        idx = [space.canonical_index(k) for k in kids]  # valid cells: ops_of raised otherwise
        assert all(i in bench for i in idx) and len(set(idx)) == 40 and not set(idx) & popset
        if repair is not None:
            # children outside the table moved to a nearest table cell: mutation / crossover survive
            assert hook._repaired > 0 and how.count('random') < 30 and {'mutation', 'crossover'} <= set(how)
    # the repair keeps a table cell and moves another to a table cell one edit away when there is one
    inside = space.ops_of(bench.indices[5])
    assert hook._repair(inside, np.random.default_rng(0)) == inside
    outside = next(i for i in range(space.NUM_ARCHS) if space.canonical_index(i) not in bench and any(
        space.canonical_index(m) in bench for m in space.mutations(i)))
    moved = hook._repair(space.ops_of(outside), np.random.default_rng(0))
    assert space.canonical_index(moved) in bench


# ------------------------------------------------------------------------------ supernet
def make_classifier(**kw):
    return CARSClassifier(backbone=dict(type='CARSSupernet'), neck=dict(type='GlobalAveragePooling'),
                          head=dict(type='LinearClsHead', num_classes=10, in_channels=32, init_cfg=None),
                          data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[0.0],
                                                 std=[1.0]), **kw)


def test_offspring_inherit_the_supernet_tensors_and_outputs(default_scope):
    torch.manual_seed(0)
    model = make_classifier()
    model.eval()
    bench = TabularBenchmark.load()
    x = torch.randn(64, 1, 16, 16)
    parent_a, parent_b = bench.indices[3], bench.indices[7]
    child = crossover(space.ops_of(parent_a), space.ops_of(parent_b), np.random.default_rng(2), 0.5)
    sub = model.subnet(child)
    # the same tensors, not copies
    ptrs = {p.data_ptr() for p in model.parameters()}
    assert all(p.data_ptr() in ptrs for p in sub.parameters())
    assert {p.data_ptr() for p in sub.parameters()} == {p.data_ptr() for p in model.backbone.path_parameters(child)} | \
        {p.data_ptr() for p in model.head.fc.parameters()}
    model.backbone.set_path(child)
    with torch.no_grad():
        assert torch.equal(sub(x), model(x, mode='tensor'))
    # the child's conv on edge e is the one a parent with the same op on e trains: a step on the parent's
    # path changes the child's output exactly as the supernet's
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    model.train()
    model.backbone.set_path(parent_a)
    model(x, mode='tensor').logsumexp(1).mean().backward()
    opt.step()
    model.eval()
    model.backbone.set_path(child)
    with torch.no_grad():
        assert torch.equal(sub(x), model(x, mode='tensor'))
    # ops of an edge that the path does not use receive no gradient
    cell: PathCell = model.backbone.layers[0]
    for e, op in enumerate(space.ops_of(parent_a)):
        for name, m in cell.edges[e].items():
            for p in m.parameters():
                assert (p.grad is not None and p.grad.abs().sum() > 0) == (name == op), (e, name, op)


def test_costs_equal_the_table_and_bn_uses_batch_statistics():
    net = CARSSupernet()
    bench = TabularBenchmark.load()
    for e in bench.sample(20, seed=0):
        assert net.cost(e.index) == dict(params=e.params, macs=e.macs)
    assert not any(m.track_running_stats for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))
    x = torch.randn(8, 1, 16, 16)
    net.train()
    y_train = net(x)[0]
    net.eval()
    assert torch.allclose(net(x)[0], y_train)  # eval = train: batch statistics, no running stats


def test_train_step_is_eq3_mean_over_paths(default_scope):
    torch.manual_seed(0)
    model = make_classifier(paths_per_iter=2, population_size=2)
    bench = TabularBenchmark.load()
    model.set_population(bench.indices[:2])
    assert not model.in_warmup
    data = dict(inputs=[torch.rand(1, 16, 16) * 255 for _ in range(16)],
                data_samples=[__import__('tessera_core.structures', fromlist=['ClsDataSample']).ClsDataSample()
                              .set_gt_label(i % 10) for i in range(16)])
    # reference: mean of the two paths' gradients the step will draw (replay the RNG)
    state = torch.get_rng_state()
    paths = [model.sample_path() for _ in range(2)]
    torch.set_rng_state(state)
    ref = make_classifier(paths_per_iter=2, population_size=2)
    ref.load_state_dict(model.state_dict())
    batch = ref.data_preprocessor(data, True)
    ref.zero_grad()
    for p in paths:
        ref.backbone.set_path(p)
        (ref.parse_losses(ref._run_forward(batch, mode='loss'))[0] / 2).backward()
    grads = {n: p.grad.clone() for n, p in ref.named_parameters() if p.grad is not None}
    w0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    model.train_step(data, OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0)))
    for n, p in model.named_parameters():
        expect = w0[n] - grads[n] if n in grads else w0[n]
        assert torch.allclose(p.detach(), expect, atol=1e-5), n


def test_warmup_trains_one_uniform_path_per_batch_whatever_n_b(default_scope):
    # official callback: in warm-up it breaks after the first random path, even with num_individual_per_iter > 1
    torch.manual_seed(0)
    model = make_classifier(paths_per_iter=3, population_size=2)
    assert model.in_warmup
    data = dict(inputs=[torch.rand(1, 16, 16) * 255 for _ in range(16)],
                data_samples=[__import__('tessera_core.structures', fromlist=['ClsDataSample']).ClsDataSample()
                              .set_gt_label(i % 10) for i in range(16)])
    state = torch.get_rng_state()
    path = model.sample_path()
    ref = make_classifier(paths_per_iter=3, population_size=2)
    ref.load_state_dict(model.state_dict())
    ref.zero_grad()
    ref.backbone.set_path(path)
    loss = ref.parse_losses(ref._run_forward(ref.data_preprocessor(data, True), mode='loss'))[0]
    loss.backward()  # the full gradient of that one path
    grads = {n: p.grad.clone() for n, p in ref.named_parameters() if p.grad is not None}
    calls = []
    orig = model.backbone.set_path
    model.backbone.set_path = lambda a: (calls.append(a), orig(a))[1]
    w0 = {n: p.detach().clone() for n, p in model.named_parameters()}
    torch.set_rng_state(state)  # the step draws the same path
    log = model.train_step(data, OptimWrapper(torch.optim.SGD(model.parameters(), lr=1.0)))
    assert len(calls) == 1 and calls[0] == path
    assert torch.allclose(log['loss'], loss.detach(), atol=1e-6)
    for n, p in model.named_parameters():
        expect = w0[n] - grads[n] if n in grads else w0[n]
        assert torch.allclose(p.detach(), expect, atol=1e-5), n


def test_bad_input_refused_by_name():
    with pytest.raises(ValueError, match="objective 'flops' is not one of"):
        CARSEvolutionHook(objective='flops')
    with pytest.raises(ValueError, match='population_size must be an int >= 2, got 1'):
        CARSEvolutionHook(population_size=1)
    with pytest.raises(ValueError, match='population_size must be an int >= 2, got 1'):
        make_classifier(population_size=1)
    with pytest.raises(ValueError, match="protection 'speed' is not one of"):
        CARSEvolutionHook(protection='speed')
    with pytest.raises(ValueError, match="outside_table 'drop' is not one of"):
        CARSEvolutionHook(outside_table='drop')
    with pytest.raises(ValueError, match="objective='latency' reads the table"):
        CARSEvolutionHook(objective='latency', restrict_to_table=False)
    with pytest.raises(space.GenotypeError, match="op 'conv_5x5' on edge 0->1"):
        CARSSupernet().set_path('|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|')
    model = make_classifier(population_size=4)
    with pytest.raises(ValueError, match='population has 4 slots'):
        model.set_population([1, 2])
