"""Genotypes: the discrete cell architectures found by DARTS-style searches.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/genotypes.py``).

A cell has two input states (0: output of the cell before the previous one, 1: output of the
previous cell) and ``steps`` intermediate nodes. Node ``j`` (state ``j + 2``) is the sum of two
operations, each applied to one earlier state; the cell outputs the channel concatenation of the
states listed in ``*_concat``. A genotype lists, for the normal and the reduction cell, the
``2 * steps`` edges ``(operation, input state)`` in node order.

The published genotypes below are copied from the official repositories
(name: source; CIFAR-10 evaluation-network parameters reported by the paper):

- ``DARTS_V1``: quark0/darts ``cnn/genotypes.py``, first-order search; 3.3M.
- ``DARTS_V2`` (alias ``DARTS``): quark0/darts ``cnn/genotypes.py``, second-order search; 3.3M.
- ``PC_DARTS``: yuhuixu1993/PC-DARTS ``genotypes.py`` ``PC_DARTS_cifar`` (arXiv:1907.05737); 3.6M.
- ``PC_DARTS_IMAGENET``: yuhuixu1993/PC-DARTS ``genotypes.py`` ``PC_DARTS_image`` (searched on ImageNet).
- ``PDARTS``: chenxin061/pdarts ``genotypes.py`` ``PDARTS`` (arXiv:1904.12760); 3.4M.
"""
import os.path as osp
import random
from dataclasses import dataclass
from typing import Any, Dict, Iterable, Mapping, Sequence, Tuple, Union

__all__ = ['PRIMITIVES', 'Genotype', 'GENOTYPES', 'get_genotype', 'random_genotype', 'DARTS_V1', 'DARTS_V2', 'DARTS',
           'PC_DARTS', 'PC_DARTS_IMAGENET', 'PDARTS']

# The DARTS search space, in the order of the official ``PRIMITIVES`` (the order of the
# architecture weights). Every name is a key of ``tessera_nas.models.operations.OPS``.
PRIMITIVES: Tuple[str, ...] = (
    'none',
    'max_pool_3x3',
    'avg_pool_3x3',
    'skip_connect',
    'sep_conv_3x3',
    'sep_conv_5x5',
    'dil_conv_3x3',
    'dil_conv_5x5',
)

Edge = Tuple[str, int]


def _validate_edges(field: str, edges: Any) -> Tuple[Edge, ...]:
    if isinstance(edges, (str, bytes)) or not isinstance(edges, Iterable):
        raise TypeError(f'Genotype.{field} must be a sequence of (operation, input) pairs, got {edges!r}')
    edges = list(edges)
    if len(edges) == 0 or len(edges) % 2 != 0:
        raise ValueError(f'Genotype.{field} must list two (operation, input) edges per node, i.e. a '
                         f'non-empty even number of edges; got {len(edges)}: {edges!r}')
    out = []
    for i, edge in enumerate(edges):
        if isinstance(edge, (str, bytes)) or not isinstance(edge, Sequence) or len(edge) != 2:
            raise ValueError(f'Genotype.{field}[{i}] must be an (operation, input) pair, got {edge!r}')
        op, index = edge
        if op not in PRIMITIVES:
            raise ValueError(f'Genotype.{field}[{i}]: unknown operation {op!r}; valid: {list(PRIMITIVES)}')
        node = i // 2
        valid_inputs = list(range(node + 2))
        if isinstance(index, bool) or not isinstance(index, int) or index not in valid_inputs:
            raise ValueError(f'Genotype.{field}[{i}]: node {node} (state {node + 2}) cannot take input '
                             f'{index!r}; valid inputs: {valid_inputs}')
        out.append((op, index))
    return tuple(out)


def _validate_concat(field: str, concat: Any, steps: int) -> Tuple[int, ...]:
    if isinstance(concat, (str, bytes)) or not isinstance(concat, Iterable):
        raise TypeError(f'Genotype.{field} must be a sequence of state indices, got {concat!r}')
    concat = tuple(concat)
    valid = list(range(steps + 2))
    if len(concat) == 0:
        raise ValueError(f'Genotype.{field} is empty; valid state indices: {valid}')
    for index in concat:
        if isinstance(index, bool) or not isinstance(index, int) or index not in valid:
            raise ValueError(f'Genotype.{field}: invalid state index {index!r}; valid: {valid}')
    if len(set(concat)) != len(concat):
        raise ValueError(f'Genotype.{field} repeats a state: {list(concat)}')
    return concat


@dataclass(frozen=True)
class Genotype:
    """A validated DARTS genotype (the fields of the official ``namedtuple``).

    Args:
        normal (Sequence[tuple[str, int]]): Edges ``(operation, input state)`` of the normal cell,
            two per node in node order; node ``j`` may take states ``0 .. j + 1``.
        normal_concat (Sequence[int]): States concatenated into the normal cell's output.
        reduce (Sequence[tuple[str, int]]): Edges of the reduction cell.
        reduce_concat (Sequence[int]): States concatenated into the reduction cell's output.

    Raises:
        ValueError: an unknown operation, an odd or empty edge list, an input state that does not
            precede its node, or a concat index that is not a state (the message lists the valid
            values).
    """
    normal: Tuple[Edge, ...]
    normal_concat: Tuple[int, ...]
    reduce: Tuple[Edge, ...]
    reduce_concat: Tuple[int, ...]

    def __post_init__(self):
        normal = _validate_edges('normal', self.normal)
        reduce = _validate_edges('reduce', self.reduce)
        object.__setattr__(self, 'normal', normal)
        object.__setattr__(self, 'reduce', reduce)
        object.__setattr__(self, 'normal_concat',
                           _validate_concat('normal_concat', self.normal_concat, len(normal) // 2))
        object.__setattr__(self, 'reduce_concat',
                           _validate_concat('reduce_concat', self.reduce_concat, len(reduce) // 2))

    @property
    def normal_steps(self) -> int:
        """Number of intermediate nodes of the normal cell."""
        return len(self.normal) // 2

    @property
    def reduce_steps(self) -> int:
        """Number of intermediate nodes of the reduction cell."""
        return len(self.reduce) // 2

    def to_dict(self) -> Dict[str, list]:
        """Plain lists, as written in a config (``Genotype(**g.to_dict()) == g``)."""
        return dict(normal=[list(e) for e in self.normal], normal_concat=list(self.normal_concat),
                    reduce=[list(e) for e in self.reduce], reduce_concat=list(self.reduce_concat))

    @classmethod
    def from_dict(cls, cfg: Mapping) -> 'Genotype':
        """Build from a mapping with exactly the four genotype fields."""
        fields = ('normal', 'normal_concat', 'reduce', 'reduce_concat')
        missing = [k for k in fields if k not in cfg]
        extra = [k for k in cfg if k not in fields]
        if missing or extra:
            raise ValueError(f'a genotype dict needs exactly the keys {list(fields)}; '
                             f'missing {missing}, unexpected {extra}')
        return cls(**{k: cfg[k] for k in fields})


DARTS_V1 = Genotype(
    normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1),
            ('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 0),
            ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)],
    reduce_concat=[2, 3, 4, 5])

DARTS_V2 = Genotype(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1),
            ('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)],
    normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1),
            ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)],
    reduce_concat=[2, 3, 4, 5])

DARTS = DARTS_V2

PC_DARTS = Genotype(
    normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1),
            ('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)],
    normal_concat=range(2, 6),
    reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_5x5', 2),
            ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)],
    reduce_concat=range(2, 6))

PC_DARTS_IMAGENET = Genotype(
    normal=[('skip_connect', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 0), ('skip_connect', 1),
            ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('dil_conv_5x5', 4)],
    normal_concat=range(2, 6),
    reduce=[('sep_conv_3x3', 0), ('skip_connect', 1), ('dil_conv_5x5', 2), ('max_pool_3x3', 1),
            ('sep_conv_3x3', 2), ('sep_conv_3x3', 1), ('sep_conv_5x5', 0), ('sep_conv_3x3', 3)],
    reduce_concat=range(2, 6))

PDARTS = Genotype(
    normal=[('skip_connect', 0), ('dil_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 1),
            ('sep_conv_3x3', 1), ('sep_conv_3x3', 3), ('sep_conv_3x3', 0), ('dil_conv_5x5', 4)],
    normal_concat=range(2, 6),
    reduce=[('avg_pool_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 0), ('dil_conv_5x5', 2),
            ('max_pool_3x3', 0), ('dil_conv_3x3', 1), ('dil_conv_3x3', 1), ('dil_conv_5x5', 3)],
    reduce_concat=range(2, 6))

# Names accepted by ``get_genotype`` and by ``DARTSNetwork(genotype='...')`` in configs.
GENOTYPES: Dict[str, Genotype] = {
    'DARTS_V1': DARTS_V1,
    'DARTS_V2': DARTS_V2,
    'DARTS': DARTS,
    'PC_DARTS': PC_DARTS,
    'PC_DARTS_IMAGENET': PC_DARTS_IMAGENET,
    'PDARTS': PDARTS,
}


def get_genotype(genotype: Union[str, Mapping, Genotype]) -> Genotype:
    """Resolve a genotype given by name (``'DARTS_V2'``), by the path of a JSON file written by a
    search (``'work_dirs/darts_search/genotype.json'``: any string ending in ``.json``), as
    ``'random:<seed>'`` (:func:`random_genotype` with that seed), as a dict
    with the four fields (as written in configs), or as a :class:`Genotype`.

    Raises:
        KeyError: unknown name (the message lists the published ones).
        FileNotFoundError: a ``.json`` path that does not exist.
        TypeError: any other type.
        ValueError: a malformed dict (see :class:`Genotype`).
    """
    if isinstance(genotype, Genotype):
        return genotype
    if isinstance(genotype, str) and genotype.endswith('.json'):
        if not osp.isfile(genotype):
            raise FileNotFoundError(f'genotype JSON file not found: {genotype} (a search writes genotype.json in '
                                    f'its work dir; or use a published name: {list(GENOTYPES)})')
        from tessera_nas.derivation import load_genotype_json  # derivation imports this module
        return load_genotype_json(genotype)
    if isinstance(genotype, str) and genotype.startswith('random:'):
        seed = genotype[len('random:'):]
        if not seed.lstrip('-').isdigit():
            raise ValueError(f"a random genotype is written 'random:<int seed>', got {genotype!r}")
        return random_genotype(int(seed))
    if isinstance(genotype, str):
        if genotype not in GENOTYPES:
            raise KeyError(f'unknown genotype {genotype!r}; valid names: {list(GENOTYPES)} '
                           "(or the path of a genotype .json file, 'random:<seed>', or a dict with normal, "
                           'normal_concat, reduce, reduce_concat)')
        return GENOTYPES[genotype]
    if isinstance(genotype, Mapping):
        return Genotype.from_dict(genotype)
    raise TypeError(f'a genotype must be a name, a dict or a Genotype, got {type(genotype).__name__}: '
                    f'{genotype!r}')


def random_genotype(seed: int, steps: int = 4, multiplier: int = 4,
                    primitives: Sequence[str] = tuple(p for p in PRIMITIVES if p != 'none')) -> Genotype:
    """A genotype drawn uniformly from the DARTS cell space, the same size as the searched ones: for
    each node of each cell, two distinct input states among the earlier ones and, on each, one of
    ``primitives`` (default the 7 non-``none`` primitives); the cell concatenates its last
    ``multiplier`` states. The random baseline of "search vs random" comparisons (DARTS, section 3.3:
    random architectures from the same space, trained identically).

    Args:
        seed (int): Seed of the draw (``random.Random(seed)``, independent of global generators).
        steps (int): Intermediate nodes per cell.
        multiplier (int): Concatenated states.
        primitives (Sequence[str]): Candidate operations.

    Returns:
        Genotype: The same ``seed`` always gives the same genotype.
    """
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f'seed must be an int, got {seed!r}')
    if not isinstance(steps, int) or steps < 1 or not isinstance(multiplier, int) or not 1 <= multiplier <= steps:
        raise ValueError(f'need steps >= 1 and 1 <= multiplier <= steps, got steps={steps!r}, '
                         f'multiplier={multiplier!r}')
    primitives = tuple(primitives)
    unknown = [p for p in primitives if p not in PRIMITIVES]
    if not primitives or unknown:
        raise ValueError(f'primitives must be a non-empty subset of {list(PRIMITIVES)}; unknown: {unknown}')
    rng = random.Random(seed)

    def cell():
        edges = []
        for node in range(steps):
            for state in sorted(rng.sample(range(node + 2), 2)):
                edges.append((rng.choice(primitives), state))
        return edges

    normal, reduce = cell(), cell()
    concat = list(range(2 + steps - multiplier, steps + 2))
    return Genotype(normal=normal, normal_concat=concat, reduce=reduce, reduce_concat=concat)
