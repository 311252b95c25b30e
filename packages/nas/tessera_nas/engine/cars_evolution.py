"""CARS' evolution: non-dominated sorting, NSGA-III and pNSGA-III selection, crossover and mutation.

CARS: Continuous Evolution for Efficient Neural Architecture Search, Yang, Wang, Chen, Shi, Xu, Xu,
Tian and Xu, CVPR 2020, arXiv:1909.04977. Official code: huawei-noah/CARS (a README only) points to
huawei-noah/vega, ``vega/algorithms/nas/cars`` (``cars_alg.py``, ``nsga3.py``) and
``vega/report/nsga_iii.py``.

All objectives here are *minimised*; callers pass ``-accuracy``. ``points`` is ``(n, m)``.

Non-dominated sorting. ``p`` dominates ``q`` when ``p <= q`` in every objective and ``p < q`` in
one. Front 0 holds the points nobody dominates, front ``k`` the points dominated only by fronts
``< k`` (Deb's fast non-dominated sort; indices ascending inside a front).

NSGA-III selection of ``n`` of the points (Deb and Jain, 2014): whole fronts while they fit; the
front that overflows (the *last front*) is cut by reference-point niching. The objectives of the
fronts kept so far plus the last front are normalised (ideal point subtracted, divided by the
intercepts of the hyperplane through the extreme points, the axis maxima when that plane is
degenerate); ``divisions`` gives the Das-Dennis reference directions (``divisions + 1`` of them for
two objectives); every point is associated with the direction of smallest perpendicular distance.
Then repeatedly: the direction with the fewest already-selected members (ties at random) takes one
point of the last front associated with it: the closest one if the niche is empty, else a random
one; a direction with no such point is dropped.

pNSGA-III (paper, section 3.3, "protection"): NSGA-III on (accuracy, model size) falls into the
*small model trap*: early in training small models reach a higher inherited-weight accuracy than
large ones that would end higher, and are kept at their expense. pNSGA-III adds a second
non-dominated sorting in which accuracy is replaced by its *increase* since the previous evolution
step (the speed of convergence), and merges the two by stage: stage ``k`` is the union of front
``k`` of both sortings; whole stages are taken while they fit, the overflowing stage is cut by the
NSGA-III niching above (on accuracy and size, counting the members selected so far). An individual
that improves fast but is still inaccurate survives through the second sorting.

``protection='large'`` is what the official code (``CARS_NSGA``) does instead: its second sorting is
on (accuracy, the *inverse* of the size), i.e. large accurate models, no accuracy increase; and it
cuts the overflowing stage uniformly at random. Both are available; the paper's is the default.

Genetic operators (paper, "evolution details", and ``gen_offspring`` / ``crossover`` / ``mutation``
of ``cars_alg.py``): an offspring is, with probability ``p_mutation`` (0.25) the mutation of a random
parent, with ``p_crossover`` (0.25) the crossover of two random parents, otherwise (0.5) a new random
individual; duplicates are rejected. Crossover takes each component from the second parent with
probability ``crossover_rate`` (0.5); mutation replaces each component by a random one with
probability ``mutation_rate`` (0.5; the random one may equal the old). Here a component is an edge
of the NB201-style cell (the official one is a DARTS node: its two inputs and ops together).
"""
from typing import Callable, Hashable, List, Optional, Sequence, Tuple

import numpy as np

__all__ = ['dominates', 'non_dominated_sort', 'reference_directions', 'nsga3_select', 'pnsga3_select',
           'crossover', 'mutate', 'generate_offspring', 'PROTECTIONS']

PROTECTIONS = ('increase', 'large', 'none')


def _as_points(points, name: str = 'points') -> np.ndarray:
    p = np.asarray(points, dtype=np.float64)
    if p.ndim == 1:
        p = p[:, None]
    if p.ndim != 2 or p.shape[0] == 0:
        raise ValueError(f'{name} must be a non-empty (n, m) array, got shape {np.shape(points)}')
    if not np.isfinite(p).all():
        raise ValueError(f'{name} holds non-finite values')
    return p


def dominates(p: Sequence[float], q: Sequence[float]) -> bool:
    """``p`` dominates ``q`` (all objectives minimised)."""
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    return bool(np.all(p <= q) and np.any(p < q))


def non_dominated_sort(points) -> List[List[int]]:
    """Fronts of ``points`` (n, m), best first; every index appears in exactly one front."""
    p = _as_points(points)
    n = len(p)
    dominated_by = [[] for _ in range(n)]  # i -> points that i dominates
    count = np.zeros(n, dtype=int)  # number of points dominating i
    for i in range(n):
        for j in range(i + 1, n):
            if dominates(p[i], p[j]):
                dominated_by[i].append(j)
                count[j] += 1
            elif dominates(p[j], p[i]):
                dominated_by[j].append(i)
                count[i] += 1
    fronts = [sorted(i for i in range(n) if count[i] == 0)]
    while True:
        nxt = []
        for i in fronts[-1]:
            for j in dominated_by[i]:
                count[j] -= 1
                if count[j] == 0:
                    nxt.append(j)
        if not nxt:
            return fronts
        fronts.append(sorted(nxt))


def reference_directions(num_obj: int, divisions: int) -> np.ndarray:
    """Das-Dennis points on the unit simplex: ``(C(divisions + num_obj - 1, num_obj - 1), num_obj)``."""
    if num_obj < 1 or divisions < 1:
        raise ValueError(f'num_obj and divisions must be >= 1, got {num_obj}, {divisions}')

    def rec(m, left):
        if m == 1:
            return [[left]]
        return [[i] + rest for i in range(left + 1) for rest in rec(m - 1, left - i)]

    return np.array(rec(num_obj, divisions), dtype=np.float64) / divisions


def _normalise(p: np.ndarray) -> np.ndarray:
    """Translate by the ideal point and divide by the hyperplane intercepts (NSGA-III)."""
    z = p - p.min(0)
    m = p.shape[1]
    w = np.full((m, m), 1e-6) + np.eye(m) * (1 - 1e-6)  # axis weights
    extremes = np.stack([z[np.argmin(np.max(z / w[j], axis=1))] for j in range(m)])
    span = z.max(0)
    try:
        b = np.linalg.solve(extremes, np.ones(m))
        intercepts = 1.0 / b
        if not np.all(np.isfinite(intercepts)) or np.any(intercepts <= 1e-12):
            raise np.linalg.LinAlgError
    except np.linalg.LinAlgError:
        intercepts = span
    intercepts = np.where(intercepts > 1e-12, intercepts, 1.0)
    return z / intercepts


def _associate(z: np.ndarray, refs: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    u = refs / np.linalg.norm(refs, axis=1, keepdims=True)
    proj = z @ u.T  # (n, r)
    dist = np.sqrt(np.maximum((z ** 2).sum(1, keepdims=True) - proj ** 2, 0.0))
    return dist.argmin(1), dist.min(1)


def _niching(points: np.ndarray, chosen: List[int], last: List[int], k: int, rng: np.random.Generator,
             divisions: int) -> List[int]:
    """Pick ``k`` of ``last`` by NSGA-III niching, counting the members ``chosen`` already holds."""
    if k <= 0:
        return []
    if k >= len(last):
        return list(last)
    pool = list(chosen) + list(last)
    z = _normalise(points[pool])
    refs = reference_directions(points.shape[1], divisions)
    niche, dist = _associate(z, refs)
    rho = np.zeros(len(refs), dtype=int)
    for a in range(len(chosen)):
        rho[niche[a]] += 1
    cand = {len(chosen) + b: last[b] for b in range(len(last))}  # pool position -> index
    alive = np.ones(len(refs), dtype=bool)
    picked: List[int] = []
    while len(picked) < k:
        open_rho = np.where(alive, rho, np.iinfo(int).max)
        js = np.flatnonzero(open_rho == open_rho.min())
        j = int(rng.choice(js))
        members = [pos for pos in cand if niche[pos] == j]
        if not members:
            alive[j] = False
            continue
        if rho[j] == 0:
            pos = min(members, key=lambda q: (dist[q], cand[q]))
        else:
            pos = int(rng.choice(members))
        picked.append(cand.pop(pos))
        rho[j] += 1
    return picked


def _check_n(num_points: int, n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f'the number to select must be an int >= 1, got {n!r}')
    if n > num_points:
        raise ValueError(f'cannot select {n} of {num_points} individuals')


def nsga3_select(points, n: int, rng: Optional[np.random.Generator] = None, divisions: int = 10) -> List[int]:
    """Indices (ascending) of the ``n`` points NSGA-III keeps (module doc)."""
    p = _as_points(points)
    _check_n(len(p), n)
    rng = rng if rng is not None else np.random.default_rng(0)
    chosen: List[int] = []
    for front in non_dominated_sort(p):
        if len(chosen) + len(front) <= n:
            chosen += front
            if len(chosen) == n:
                break
            continue
        chosen += _niching(p, chosen, front, n - len(chosen), rng, divisions)
        break
    return sorted(chosen)


def pnsga3_select(accuracy, cost, n: int, accuracy_increase=None, protection: str = 'increase',
                  rng: Optional[np.random.Generator] = None, divisions: int = 10) -> dict:
    """pNSGA-III: select ``n`` individuals on (accuracy up, cost down) with the protection (module doc).

    Args:
        accuracy (n_ind,): Inherited-weight validation accuracy (higher is better).
        cost (n_ind,): Params, MACs or latency (lower is better).
        n (int): Survivors.
        accuracy_increase (n_ind,): Accuracy gain since the previous evolution step; needed by
            ``protection='increase'``.
        protection (str): ``'increase'`` (paper), ``'large'`` (official ``CARS_NSGA``) or ``'none'``
            (plain NSGA-III on accuracy and cost).

    Returns:
        dict: ``selected`` (indices, ascending), ``fronts`` (of the accuracy/cost sorting),
        ``protect_fronts`` (of the second sorting, or None), ``stage`` (the stage of every selected
        index), and ``beyond_nsga3``: selected indices whose accuracy/cost front lies after the last
        front NSGA-III reaches (plain NSGA-III drops them whatever its random niching does).
    """
    if protection not in PROTECTIONS:
        raise ValueError(f'protection {protection!r} is not one of {list(PROTECTIONS)}')
    acc = _as_points(accuracy, 'accuracy')[:, 0]
    cst = _as_points(cost, 'cost')[:, 0]
    if len(acc) != len(cst):
        raise ValueError(f'accuracy has {len(acc)} entries, cost {len(cst)}')
    _check_n(len(acc), n)
    rng = rng if rng is not None else np.random.default_rng(0)
    primary = np.stack([-acc, cst], 1)
    fronts = non_dominated_sort(primary)
    rank = np.empty(len(acc), dtype=int)
    for k, f in enumerate(fronts):
        rank[f] = k
    filled, last_nsga3 = 0, len(fronts) - 1
    for k, f in enumerate(fronts):
        filled += len(f)
        if filled >= n:
            last_nsga3 = k
            break
    protect_fronts = None
    if protection == 'none':
        selected = nsga3_select(primary, n, rng, divisions)
        stage = {i: int(rank[i]) for i in selected}
        return dict(selected=selected, fronts=fronts, protect_fronts=None, stage=stage, beyond_nsga3=[])
    if protection == 'increase':
        if accuracy_increase is None:
            raise ValueError("protection='increase' needs accuracy_increase (the accuracy gain since the previous "
                             "evolution step)")
        inc = _as_points(accuracy_increase, 'accuracy_increase')[:, 0]
        if len(inc) != len(acc):
            raise ValueError(f'accuracy_increase has {len(inc)} entries, accuracy {len(acc)}')
        protect_fronts = non_dominated_sort(np.stack([-inc, cst], 1))
    else:
        protect_fronts = non_dominated_sort(np.stack([-acc, -cst], 1))
    chosen: List[int] = []
    stage = {}
    for k in range(max(len(fronts), len(protect_fronts))):
        cand = set(fronts[k]) if k < len(fronts) else set()
        if k < len(protect_fronts):
            cand |= set(protect_fronts[k])
        cand = sorted(cand - set(chosen))
        if len(chosen) + len(cand) <= n:
            picked = cand
        elif protection == 'large':  # the official code: uniform at random
            picked = sorted(int(i) for i in rng.choice(cand, n - len(chosen), replace=False))
        else:
            picked = _niching(primary, chosen, cand, n - len(chosen), rng, divisions)
        for i in picked:
            stage[i] = k
        chosen += picked
        if len(chosen) == n:
            break
    selected = sorted(chosen)
    beyond = [i for i in selected if rank[i] > last_nsga3]
    return dict(selected=selected, fronts=fronts, protect_fronts=protect_fronts, stage=stage, beyond_nsga3=beyond)


# ------------------------------------------------------------------------------------- operators
def crossover(a: Sequence, b: Sequence, rng: np.random.Generator, rate: float = 0.5) -> tuple:
    """Each component from ``b`` with probability ``rate``, else from ``a``."""
    if len(a) != len(b):
        raise ValueError(f'parents differ in length: {len(a)} vs {len(b)}')
    take = rng.random(len(a)) < rate
    return tuple(y if t else x for x, y, t in zip(a, b, take))


def mutate(a: Sequence, rng: np.random.Generator, choices: Sequence, rate: float = 0.5) -> tuple:
    """Each component replaced by a uniform draw from ``choices`` with probability ``rate``."""
    hit = rng.random(len(a)) < rate
    draws = rng.integers(0, len(choices), len(a))
    return tuple(choices[d] if h else x for x, h, d in zip(a, hit, draws))


def generate_offspring(population: Sequence[tuple], n: int, rng: np.random.Generator,
                       random_individual: Callable[[np.random.Generator], tuple], choices: Sequence,
                       key: Callable[[tuple], Optional[Hashable]] = lambda x: x, p_mutation: float = 0.25,
                       p_crossover: float = 0.25, crossover_rate: float = 0.5, mutation_rate: float = 0.5,
                       max_tries: int = 100000,
                       repair: Optional[Callable[[tuple, np.random.Generator], tuple]] = None
                       ) -> Tuple[List[tuple], List[str]]:
    """``n`` new individuals and how each was made (``'mutation'``, ``'crossover'``, ``'random'``).

    ``repair(child, rng)``, if given, maps a mutated or crossed child to an admissible individual
    first (e.g. the nearest cell of a table). ``key(child)`` maps a child to its identity (e.g. its
    canonical cell) or ``None`` when the child is not admissible (e.g. outside the table); a child whose
    key is already in the population or among the offspring is rejected and drawn again.
    """
    if not (0 <= p_mutation and 0 <= p_crossover and p_mutation + p_crossover <= 1):
        raise ValueError(f'p_mutation={p_mutation}, p_crossover={p_crossover}: both >= 0, sum <= 1')
    if len(population) < 1:
        raise ValueError('generate_offspring needs a non-empty population')
    seen = {key(x) for x in population}
    out, how = [], []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > max_tries:
            raise RuntimeError(f'no admissible new offspring after {max_tries} draws ({len(out)} of {n} made); '
                               'the space (or table) is nearly exhausted by the population')
        r = rng.random()
        if r < p_mutation:
            child, kind = mutate(population[rng.integers(len(population))], rng, choices, mutation_rate), 'mutation'
        elif r < p_mutation + p_crossover:
            pa, pb = population[rng.integers(len(population))], population[rng.integers(len(population))]
            child, kind = crossover(pa, pb, rng, crossover_rate), 'crossover'
        else:
            child, kind = random_individual(rng), 'random'
        if repair is not None and kind != 'random':
            child = repair(child, rng)
        k = key(child)
        if k is None or k in seen:
            continue
        seen.add(k)
        out.append(child)
        how.append(kind)
    return out, how
