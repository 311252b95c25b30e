"""Query API over the shipped tabular benchmark.

>>> from tessera_nas.benchmarks import TabularBenchmark
>>> bench = TabularBenchmark.load()           # the shipped table (fmnist16-nb201-v1)
>>> print(bench)                               # size, recipe and the noise floor
>>> e = bench.query('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_3x3~2|')
>>> e.valid_acc, e.test_acc, e.params, e.macs, e.latency_ms

Every query is canonicalised first (:mod:`tessera_nas.benchmarks.space`), so any member of an
isomorphism class returns the class's entry. A genotype outside the space raises
:class:`~tessera_nas.benchmarks.space.GenotypeError` naming the op or edge; a valid architecture
that the (sampled) table does not hold raises :class:`ArchitectureNotInTable`.
"""
import json
import os.path as osp
import random
import statistics
from dataclasses import dataclass
from typing import Dict, Iterator, List, Optional, Sequence, Tuple

from . import space

__all__ = ['TabularBenchmark', 'Entry', 'ArchitectureNotInTable', 'DEFAULT_TABLE', 'default_table_path']

DEFAULT_TABLE = 'fmnist16-nb201-v1'


def default_table_path(name: str = DEFAULT_TABLE) -> str:
    return osp.join(osp.dirname(osp.abspath(__file__)), 'data', f'{name}.json')


class ArchitectureNotInTable(LookupError):
    """A valid architecture of the space that the sampled table does not hold."""


@dataclass(frozen=True)
class Entry:
    """One architecture of the table (accuracies in %, ``*_accs`` per seed, the plain ones seed 0)."""
    index: int
    genotype: str
    params: int
    macs: int
    latency_ms: float
    seeds: Tuple[int, ...]
    valid_accs: Tuple[float, ...]
    test_accs: Tuple[float, ...]

    @property
    def valid_acc(self) -> float:
        return self.valid_accs[0]

    @property
    def test_acc(self) -> float:
        return self.test_accs[0]

    @property
    def ops(self) -> Tuple[str, ...]:
        return space.ops_of(self.index)


class TabularBenchmark:
    """The table: entries keyed by canonical index. Build with :meth:`load` (or from a dict)."""

    def __init__(self, table: dict, source: str = '<dict>'):
        self.source = source
        self.meta = {k: v for k, v in table.items() if k != 'entries'}
        self.version = table.get('version')
        self._entries: Dict[int, Entry] = {}
        for raw in table['entries']:
            e = Entry(index=int(raw['index']), genotype=raw['genotype'], params=int(raw['params']),
                      macs=int(raw['macs']), latency_ms=float(raw['latency_ms']), seeds=tuple(raw['seeds']),
                      valid_accs=tuple(raw['valid_acc']), test_accs=tuple(raw['test_acc']))
            if space.canonical_index(e.index) != e.index:
                raise ValueError(f'{source}: entry {e.index} ({e.genotype}) is not canonical '
                                 f'(canonical: {space.canonical(e.index)})')
            if e.index in self._entries:
                raise ValueError(f'{source}: entry {e.index} ({e.genotype}) appears twice')
            self._entries[e.index] = e
        self._order = sorted(self._entries)

    @classmethod
    def load(cls, path: Optional[str] = None) -> 'TabularBenchmark':
        """Load a table file (default: the one shipped with the package)."""
        path = path or default_table_path()
        if not osp.isfile(path):
            raise FileNotFoundError(f'benchmark table not found: {path} (build it with '
                                    f'benchmarks/build_tabular_benchmark.py)')
        with open(path) as f:
            return cls(json.load(f), source=path)

    # --- lookup -------------------------------------------------------------------------------
    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[Entry]:
        return (self._entries[i] for i in self._order)

    def __contains__(self, arch) -> bool:
        try:
            return space.canonical_index(arch) in self._entries
        except space.GenotypeError:
            return False

    @property
    def indices(self) -> List[int]:
        """Canonical indices of the entries, ascending."""
        return list(self._order)

    def query(self, arch: space.ArchLike) -> Entry:
        """The entry of a genotype string, a space index or an op sequence (canonicalised)."""
        idx = space.canonical_index(arch)  # GenotypeError names a bad op / edge
        try:
            return self._entries[idx]
        except KeyError:
            shown = arch if isinstance(arch, str) else space.to_str(space.ops_of(arch))
            raise ArchitectureNotInTable(
                f'architecture {shown} (canonical {space.canonical(idx)}, index {idx}) is not in the table '
                f'{self.version}: it holds a uniform sample of {len(self)} of the {space.num_unique()} canonical '
                f'cells; check `arch in bench` or draw from bench.sample()') from None

    def sample(self, n: int = 1, seed: Optional[int] = None) -> List[Entry]:
        """``n`` distinct entries drawn uniformly (``random.Random(seed)``)."""
        if not 0 <= n <= len(self):
            raise ValueError(f'cannot sample {n} of {len(self)} entries')
        return [self._entries[i] for i in random.Random(seed).sample(self._order, n)]

    def ranked(self, metric: str = 'valid_acc') -> List[Entry]:
        """Entries best first by ``metric`` (``valid_acc``, ``test_acc``; ties by index)."""
        if metric not in ('valid_acc', 'test_acc'):
            raise ValueError(f'metric {metric!r} is not one of valid_acc, test_acc')
        return sorted(self, key=lambda e: (-getattr(e, metric), e.index))

    # --- noise floor --------------------------------------------------------------------------
    def noise_floor(self, metric: str = 'valid') -> dict:
        """Seed-to-seed spread on the entries trained with two seeds.

        Returns ``n`` (entries with 2 seeds), ``mean_abs_diff`` (mean |seed 0 - seed 1|), ``seed_std``
        (std of one run: sqrt(mean (d^2) / 2)), ``max_abs_diff``, ``kendall_tau`` and ``spearman`` of the
        two seeds' accuracies over those entries, and ``table_std`` (std of seed 0 over the table).
        """
        key = {'valid': 'valid_accs', 'test': 'test_accs'}.get(metric)
        if key is None:
            raise ValueError(f'metric {metric!r} is not one of valid, test')
        pairs = [getattr(e, key)[:2] for e in self if len(e.seeds) >= 2]
        allv = [getattr(e, key)[0] for e in self]
        out = dict(n=len(pairs), table_std=statistics.pstdev(allv) if len(allv) > 1 else 0.0)
        if len(pairs) < 2:
            return out
        d = [a - b for a, b in pairs]
        out.update(mean_abs_diff=statistics.fmean(abs(x) for x in d),
                   seed_std=(statistics.fmean(x * x for x in d) / 2) ** 0.5,
                   max_abs_diff=max(abs(x) for x in d),
                   kendall_tau=kendall_tau([a for a, _ in pairs], [b for _, b in pairs]),
                   spearman=spearman([a for a, _ in pairs], [b for _, b in pairs]))
        return out

    def __repr__(self) -> str:
        nf = self.noise_floor()
        best = self.ranked()[0] if len(self) else None
        lines = [f'TabularBenchmark {self.version}: {len(self)} of {space.num_unique()} canonical cells '
                 f'({space.NUM_ARCHS} in the space)']
        if best is not None:
            accs = [e.valid_acc for e in self]
            lines.append(f'  valid acc (seed 0): min {min(accs):.2f}, median {statistics.median(accs):.2f}, '
                         f'max {max(accs):.2f} ({best.genotype})')
        if 'seed_std' in nf:
            lines.append(f'  noise floor over {nf["n"]} archs with 2 seeds: one-run std {nf["seed_std"]:.2f} pt, '
                         f'mean |diff| {nf["mean_abs_diff"]:.2f} pt, max {nf["max_abs_diff"]:.2f} pt, '
                         f'seed-vs-seed Kendall tau {nf["kendall_tau"]:.3f}')
        return '\n'.join(lines)


def kendall_tau(a: Sequence[float], b: Sequence[float]) -> float:
    """Kendall's tau-b (ties handled)."""
    n = len(a)
    conc = disc = ta = tb = 0
    for i in range(n):
        for j in range(i + 1, n):
            x, y = a[i] - a[j], b[i] - b[j]
            if x == 0 and y == 0:
                continue
            if x == 0:
                ta += 1
            elif y == 0:
                tb += 1
            elif (x > 0) == (y > 0):
                conc += 1
            else:
                disc += 1
    denom = ((conc + disc + ta) * (conc + disc + tb)) ** 0.5
    return (conc - disc) / denom if denom else 0.0


def _ranks(v: Sequence[float]) -> List[float]:
    order = sorted(range(len(v)), key=lambda i: v[i])
    r = [0.0] * len(v)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and v[order[j + 1]] == v[order[i]]:
            j += 1
        for k in range(i, j + 1):
            r[order[k]] = (i + j) / 2
        i = j + 1
    return r


def spearman(a: Sequence[float], b: Sequence[float]) -> float:
    ra, rb = _ranks(a), _ranks(b)
    ma, mb = statistics.fmean(ra), statistics.fmean(rb)
    num = sum((x - ma) * (y - mb) for x, y in zip(ra, rb))
    den = (sum((x - ma) ** 2 for x in ra) * sum((y - mb) ** 2 for y in rb)) ** 0.5
    return num / den if den else 0.0
