"""Query-efficient searchers on the tabular benchmark: WeakNAS, random search, regularized evolution.

Every searcher sees only the table (:class:`~tessera_nas.benchmarks.tabular.TabularBenchmark`): its
architectures are the search space and a *query* returns one entry's accuracy (``metric``, the
seed-0 validation accuracy by default). Queries are counted once per distinct (canonical)
architecture; :meth:`Searcher.run` returns the queried indices in query order, and
:func:`queries_to_find` turns that history into the number of queries until a target set (e.g. the
table's top-1) was first hit.

- :class:`RandomSearch`: a uniform random order of the table.
- :class:`RegularizedEvolution` (Real et al., AAAI 2019, arXiv:1802.01548, "aging evolution"): a
  population of ``population_size`` random architectures; each cycle draws ``sample_size`` members
  uniformly (with replacement, as NAS-Bench-201's ``R_EA``), mutates the best one by changing the op of
  one edge, queries the child, appends it and removes the oldest member. The child is drawn uniformly
  from the one-edge mutations (of any cell isomorphic to the parent) whose canonical cell is in the
  table and differs from the parent (a table holds a sample of the space, so mutations leaving it
  cannot be queried), widened to the nearest table cells by edge-op edits until ``min_neighbors``
  distinct candidates exist (:func:`table_neighbors`; default 5: in a 500-cell sample of the 4930
  classes a cell has ~2 one-edge neighbours and the strict one-edge graph falls apart into closed
  clusters). A child that was queried before costs no new query (a table lookup), so a run stops
  after ``max_cycles`` cycles even without reaching the budget; with ``count_repeats=True`` every
  cycle costs one query (as when each child is trained), and the history lists repeats.
- :class:`WeakNAS` (Wu et al., "Stronger NAS with Weaker Predictors", NeurIPS 2021, arXiv:2102.10490;
  official code VITA-Group/WeakNAS ``WeakNAS.py``): ``init_samples`` random queries, then iterations
  of: fit a weak predictor on *all* queried architectures so far (one-hot encoding of the 6 edge ops,
  labels standardised), predict every table entry, keep the predicted top-``M_t``, and query
  ``samples_per_iter`` architectures drawn uniformly from the not-yet-queried part of that top region
  (if fewer are left, the best-predicted unqueried ones fill up). ``M_t`` follows the official
  ``sample_scheduler``: ``decay ** x`` for ``x`` evenly spaced in ``[0, 99]`` over the iterations,
  rescaled to ``[top_end, top_start]``. The predictor is the official default, sklearn's
  ``MLPRegressor`` (``hidden``, ``max_iter``), or a gradient-boosted-tree regressor
  (``predictor='gbdt'``, the paper's other weak predictor family), or any callable
  ``fit_predict(X_train, y_train, X_all, seed) -> predictions`` (used by the tests for an oracle).
"""
import math
import random
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Set, Union

import numpy as np

from tessera_nas.registry import SEARCHERS
from . import space
from .tabular import TabularBenchmark

__all__ = ['compare', 'Searcher', 'RandomSearch', 'RegularizedEvolution', 'WeakNAS', 'queries_to_find', 'one_hot',
           'sample_schedule', 'table_neighbors']


def one_hot(indices: Sequence[int]) -> np.ndarray:
    """``(n, 6 * 5)`` one-hot encoding of the edge ops of space indices."""
    out = np.zeros((len(indices), len(space.EDGES) * len(space.OPS)), dtype=np.float64)
    for r, idx in enumerate(indices):
        for e, op in enumerate(space.ops_of(idx)):
            out[r, e * len(space.OPS) + space.OPS.index(op)] = 1.0
    return out


def queries_to_find(history: Sequence[int], targets: Iterable[int]) -> Optional[int]:
    """1-based number of queries until the first architecture of ``targets`` (``None``: never)."""
    targets = set(targets)
    for k, idx in enumerate(history):
        if idx in targets:
            return k + 1
    return None


def sample_schedule(iterations: int, top_start: int, top_end: int, decay: float) -> List[int]:
    """Size of the top region per iteration (the official ``sample_scheduler``)."""
    if iterations == 1:
        return [int(top_start)]
    x = np.linspace(0, 99, num=iterations, endpoint=True)
    y = np.power(decay, x)
    y = (y - y.min()) / (y.max() - y.min()) if y.max() > y.min() else np.ones_like(y)
    return [int(v) for v in y * (top_start - top_end) + top_end]


class Searcher:
    """Base class: ``run(bench, seed, budget, stop=None) -> list of queried canonical indices``.

    ``stop``: a set of indices; the run ends as soon as one of them was queried (saves work when only
    the number of queries to a target matters).
    """
    metric = 'valid_acc'

    def _values(self, bench: TabularBenchmark) -> Dict[int, float]:
        return {e.index: getattr(e, self.metric) for e in bench}

    def run(self, bench: TabularBenchmark, seed: int, budget: Optional[int] = None,
            stop: Optional[Set[int]] = None) -> List[int]:
        raise NotImplementedError


@SEARCHERS.register_module()
class RandomSearch(Searcher):

    def __init__(self, metric: str = 'valid_acc'):
        self.metric = metric

    def run(self, bench, seed, budget=None, stop=None):
        order = bench.indices
        random.Random(seed).shuffle(order)
        budget = len(order) if budget is None else budget
        out = []
        for idx in order[:budget]:
            out.append(idx)
            if stop and idx in stop:
                break
        return out


_NEIGHBOR_CACHE: Dict[tuple, Dict[int, List[int]]] = {}


def table_neighbors(bench: TabularBenchmark, parent: int, min_neighbors: int = 1) -> List[int]:
    """The nearest other table entries of ``parent`` by edge-op edits, with multiplicity.

    Breadth-first over single edge-op changes, starting from every cell isomorphic to ``parent``:
    layers are added until the reached cells whose canonical form is in the table (and is not
    ``parent``) hold at least ``min_neighbors`` distinct architectures; they are the candidates, one
    item per reached cell. With ``min_neighbors=1`` and a parent that has a one-edge mutation in the
    table, the candidates are exactly its one-edge mutations; in a sampled table a larger
    ``min_neighbors`` keeps the mutation graph from breaking into closed clusters.
    """
    key = tuple(bench.indices)
    cache = _NEIGHBOR_CACHE.setdefault((key, min_neighbors), {})
    if parent in cache:
        return cache[parent]
    inside = set(key)
    frontier = set(space.class_members(parent))
    visited = set(frontier)
    hits: List[int] = []
    while frontier and len(set(hits)) < min_neighbors:
        nxt = set()
        for m in frontier:
            for c in space.mutations(m):
                if c not in visited:
                    nxt.add(c)
        visited |= nxt
        hits += sorted(ci for ci in (space.canonical_index(c) for c in nxt) if ci != parent and ci in inside)
        frontier = nxt
    cache[parent] = hits
    return hits


@SEARCHERS.register_module()
class RegularizedEvolution(Searcher):

    def __init__(self, population_size: int = 20, sample_size: int = 5, min_neighbors: int = 5,
                 metric: str = 'valid_acc', max_cycles: int = 20000, count_repeats: bool = False):
        if sample_size > population_size:
            raise ValueError(f'sample_size {sample_size} > population_size {population_size}')
        self.population_size, self.sample_size, self.metric = population_size, sample_size, metric
        self.max_cycles, self.min_neighbors = max_cycles, min_neighbors
        self.count_repeats = count_repeats

    def run(self, bench, seed, budget=None, stop=None):
        rng = random.Random(seed)
        values = self._values(bench)
        budget = len(bench) if budget is None else budget
        history, seen = [], set()

        def query(idx):
            if idx not in seen or self.count_repeats:
                seen.add(idx)
                history.append(idx)
            return stop is not None and idx in stop

        population = []
        for idx in rng.sample(bench.indices, min(self.population_size, len(bench))):
            population.append(idx)
            if query(idx) or len(history) >= budget:
                return history
        for _ in range(self.max_cycles):
            parent = max((rng.choice(population) for _ in range(self.sample_size)), key=lambda i: values[i])
            child = rng.choice(table_neighbors(bench, parent, self.min_neighbors))
            population.append(child)
            population.pop(0)
            if query(child) or len(history) >= budget:
                break
        return history


def _mlp_predictor(hidden, max_iter):
    def fit_predict(x_train, y_train, x_all, seed):
        import warnings
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPRegressor
        with warnings.catch_warnings():
            warnings.simplefilter('ignore', ConvergenceWarning)
            model = MLPRegressor(hidden_layer_sizes=tuple(hidden), max_iter=max_iter, random_state=seed)
            model.fit(x_train, y_train)
        return model.predict(x_all)
    return fit_predict


def _gbdt_predictor(n_estimators, max_depth):
    def fit_predict(x_train, y_train, x_all, seed):
        from sklearn.ensemble import GradientBoostingRegressor
        model = GradientBoostingRegressor(n_estimators=n_estimators, max_depth=max_depth, random_state=seed)
        model.fit(x_train, y_train)
        return model.predict(x_all)
    return fit_predict


@SEARCHERS.register_module()
class WeakNAS(Searcher):
    """Iterative weak predictors narrowing the sampling to the predicted top region (see module doc).

    Args:
        init_samples (int): Random queries before the first predictor (official NB201: 10).
        samples_per_iter (int): Queries per iteration (official: 10).
        top_start, top_end (int): Size of the predicted top region at the first / last iteration.
        top_decay (float): Decay of the schedule between them (official default 0.96).
        max_samples (int): Query budget that fixes the number of iterations of the schedule.
        predictor (str | callable): ``'mlp'`` (official), ``'gbdt'`` or ``fit_predict(Xtr, ytr, Xall, seed)``.
        hidden (tuple[int]): MLP hidden sizes (official: 1000, 1000, 1000, 1000).
        max_iter (int): MLP training iterations (official: 100).
        n_estimators, max_depth (int): the gradient-boosted trees.
    """

    def __init__(self, init_samples: int = 10, samples_per_iter: int = 10, top_start: int = 50, top_end: int = 10,
                 top_decay: float = 0.96, max_samples: int = 500,
                 predictor: Union[str, Callable] = 'mlp', hidden: Sequence[int] = (1000, 1000, 1000, 1000),
                 max_iter: int = 100, n_estimators: int = 200, max_depth: int = 3, metric: str = 'valid_acc'):
        if predictor == 'mlp':
            self.fit_predict = _mlp_predictor(hidden, max_iter)
        elif predictor == 'gbdt':
            self.fit_predict = _gbdt_predictor(n_estimators, max_depth)
        elif callable(predictor):
            self.fit_predict = predictor
        else:
            raise ValueError(f"predictor {predictor!r} is not 'mlp', 'gbdt' or a callable")
        if top_end > top_start:
            raise ValueError(f'top_end {top_end} > top_start {top_start} (the region narrows)')
        if min(init_samples, samples_per_iter, top_end) < 1:
            raise ValueError('init_samples, samples_per_iter and top_end must be >= 1')
        self.init_samples, self.samples_per_iter = init_samples, samples_per_iter
        self.top_start, self.top_end, self.top_decay = top_start, top_end, top_decay
        self.max_samples, self.metric = max_samples, metric
        self.trace: List[dict] = []

    def schedule(self) -> List[int]:
        iterations = max(1, math.ceil((self.max_samples - self.init_samples) / self.samples_per_iter) + 1)
        return sample_schedule(iterations, self.top_start, self.top_end, self.top_decay)

    def run(self, bench, seed, budget=None, stop=None):
        rng = np.random.RandomState(seed % (2 ** 32))
        indices = np.array(bench.indices)
        values = self._values(bench)
        x_all = one_hot(indices)
        budget = len(indices) if budget is None else min(budget, len(indices))
        tops = self.schedule()
        history: List[int] = []
        queried = np.zeros(len(indices), dtype=bool)
        self.trace = []
        pool = None  # positions of the predicted top region
        for z in range(len(tops) + len(indices)):
            want = min(self.init_samples if z == 0 else self.samples_per_iter, budget - len(history))
            if want <= 0:
                break
            if z == 0:
                pick = rng.choice(len(indices), size=want, replace=False)
            else:
                free = pool[~queried[pool]]
                if len(free) >= want:
                    pick = rng.choice(free, size=want, replace=False)
                else:
                    in_free = set(free.tolist())
                    rest = [p for p in order if not queried[p] and p not in in_free]
                    pick = np.concatenate([rng.permutation(free), np.array(rest[:want - len(free)], dtype=int)])
            pick = pick.astype(int)
            for p in pick:
                queried[p] = True
                history.append(int(indices[p]))
                if stop is not None and indices[p] in stop:
                    self.trace.append(dict(iteration=z, pool=None if pool is None else pool.tolist(),
                                           picked=pick.tolist()))
                    return history
            if queried.all():
                break
            tr = np.flatnonzero(queried)
            y = np.array([values[int(indices[p])] for p in tr])
            y = (y - y.mean()) / (y.std() if y.std() > 0 else 1.0)
            pred = np.asarray(self.fit_predict(x_all[tr], y, x_all, seed * 1000 + z), dtype=float)
            order = np.argsort(-pred, kind='stable')
            m = tops[min(z, len(tops) - 1)]
            self.trace.append(dict(iteration=z, pool=None if pool is None else pool.tolist(), picked=pick.tolist()))
            pool = order[:m]
        return history


def compare(bench: TabularBenchmark, searchers: Dict[str, dict], runs: int, metric: str = 'valid_acc',
            top_fraction: float = 0.01, log=print) -> dict:
    """Run every searcher config (``SEARCHERS`` dicts) with seeds ``0 .. runs-1`` until the table's top-1.

    Returns ``dict(k=..., results={name: dict(top1=[...], topk=[...], seconds, later_in_top10pct)})``:
    the numbers of queries to the top-1 and to any of the top ``k = round(top_fraction * len)``
    architectures per run (NaN: not found); entries tied with the best (or the k-th) value are
    targets too, and for WeakNAS the fraction of its post-init queries that
    lie in the true top 10% (random sampling: 10%).
    """
    import time
    ranked = bench.ranked(metric)
    k = max(1, int(round(top_fraction * len(bench))))
    value = lambda e: getattr(e, metric)  # noqa: E731
    # ties count as one target: every entry with the best value is "the top-1", likewise at the k-th
    top1 = {e.index for e in ranked if value(e) >= value(ranked[0])}
    topk = {e.index for e in ranked if value(e) >= value(ranked[k - 1])}
    top10 = {e.index for e in ranked[:max(1, len(bench) // 10)]}
    results = {}
    for name, cfg in searchers.items():
        t0 = time.time()
        q1s, qks, in_top = [], [], []
        for seed in range(runs):
            searcher = SEARCHERS.build(dict(cfg, metric=metric))
            hist = searcher.run(bench, seed, stop=top1)  # the top-1 is in the top-k: both are found
            q1, qk = queries_to_find(hist, top1), queries_to_find(hist, topk)
            q1s.append(float('nan') if q1 is None else q1)
            qks.append(float('nan') if qk is None else qk)
            if isinstance(searcher, WeakNAS) and len(hist) > searcher.init_samples:
                in_top.append(float(np.mean([i in top10 for i in hist[searcher.init_samples:]])))
        results[name] = dict(top1=q1s, topk=qks, seconds=round(time.time() - t0, 1),
                             later_in_top10pct=float(np.mean(in_top)) if in_top else None)
        if log:
            log(f'{name}: {time.time() - t0:.1f} s, top-1 not found in {int(np.isnan(q1s).sum())}/{runs} runs')
    return dict(k=k, top1=sorted(e.genotype for e in ranked if e.index in top1), num_top1=len(top1),
                num_topk=len(topk), results=results)
