"""The NAS-Bench-201-style cell search space of the tabular benchmark.

NAS-Bench-201: Extending the Scope of Reproducible Neural Architecture Search, Dong and Yang,
ICLR 2020, arXiv:2001.00326 (https://github.com/D-X-Y/NAS-Bench-201). A cell is a DAG of 4 nodes;
node 0 is the cell input, node 3 its output, and every edge ``i -> j`` (``i < j``, 6 edges) carries
one operation of :data:`OPS`. Node ``j`` is the sum of the operations on its incoming edges. The
genotype string is NAS-Bench-201's: ``|op~0|+|op~0|op~1|+|op~0|op~1|op~2|`` (node 1's, node 2's and
node 3's incoming edges, ``~i`` naming the source node). The index of a cell is the base-5 number
whose digits are the op indices of the edges in :data:`EDGES` order, most significant first, so
index 0 is the all-``none`` cell and ``5 ** 6 = 15625`` cells exist.

Canonical form (isomorphism). Two cells are identified when their computation graphs are equal,
computed symbolically from the input ``x`` with the rules below (NAS-Bench-201's dedup idea:
``none`` edges and edges whose result never reaches the output do not exist; which edges are
summed in which order does not matter):

1. ``none`` is the zero map and an empty sum is zero; any operation applied to zero is zero
   (an edge out of a node with no live input is dropped, as NAS-Bench-201 drops it);
2. ``skip_connect`` is the identity: it contributes its input expression unchanged;
3. ``nor_conv_1x1``, ``nor_conv_3x3``, ``avg_pool_3x3`` wrap their input as ``op(e)``;
4. a node is the *multiset* of its non-zero incoming terms, with the terms of a summand that is
   itself a sum (through ``skip_connect``) flattened in; sums are commutative and associative, so
   the multiset is sorted. Terms are never merged: two convolutions of the same input on two
   edges have two sets of weights (``conv(x) + conv(x)`` is not ``conv(x)``), and two skip paths
   give ``x + x``.

The output expression of node 3 is the cell's *computation graph*; cells with equal expressions
are isomorphic. Edges that cannot reach node 3 do not appear in it, and neither do the edges of a
path that passes through a node with no live input. The canonical representative of a class is its
member with the smallest index (dead edges then carry ``none``). :func:`num_unique` counts the
classes by brute force over all 15625 cells.
"""
import numbers
from functools import lru_cache
from typing import Dict, List, Sequence, Tuple, Union

__all__ = ['OPS', 'EDGES', 'NUM_NODES', 'NUM_ARCHS', 'GenotypeError', 'parse', 'to_str', 'index_of', 'ops_of',
           'computation_graph', 'canonical_index', 'canonical', 'canonical_indices', 'num_unique',
           'class_members', 'is_canonical', 'mutations']

#: NAS-Bench-201's operation names, in the order used for indices and one-hot encodings.
OPS: Tuple[str, ...] = ('none', 'skip_connect', 'nor_conv_1x1', 'nor_conv_3x3', 'avg_pool_3x3')
NUM_NODES = 4
#: The 6 edges ``(source, target)`` in genotype-string order.
EDGES: Tuple[Tuple[int, int], ...] = tuple((i, j) for j in range(1, NUM_NODES) for i in range(j))
NUM_ARCHS = len(OPS) ** len(EDGES)

ArchLike = Union[str, int, Sequence[str]]


class GenotypeError(ValueError):
    """A genotype outside the search space (the message names the bad op, edge or token)."""


def parse(genotype: str) -> Tuple[str, ...]:
    """Ops of the 6 edges (in :data:`EDGES` order) of an NB201 genotype string, validated."""
    if not isinstance(genotype, str):
        raise GenotypeError(f'a genotype string is expected, got {type(genotype).__name__}: {genotype!r}')
    nodes = genotype.split('+')
    if len(nodes) != NUM_NODES - 1:
        raise GenotypeError(f'{genotype!r}: expected {NUM_NODES - 1} nodes separated by "+", got {len(nodes)}')
    ops: Dict[Tuple[int, int], str] = {}
    for j, node in enumerate(nodes, start=1):
        node = node.strip()
        if not (node.startswith('|') and node.endswith('|')):
            raise GenotypeError(f'{genotype!r}: node {j} {node!r} must look like |op~i|op~k|')
        for token in node[1:-1].split('|'):
            op, sep, src = token.partition('~')
            if not sep or not src.isdigit():
                raise GenotypeError(f'{genotype!r}: token {token!r} of node {j} is not op~<source node>')
            i = int(src)
            if op not in OPS:
                raise GenotypeError(f'{genotype!r}: op {op!r} on edge {i}->{j} is not in the space {list(OPS)}')
            if i >= j:
                raise GenotypeError(f'{genotype!r}: edge {i}->{j} is not in the space (edges go from a lower '
                                    f'to a higher node, i < j; node {j} takes inputs from {list(range(j))})')
            if (i, j) in ops:
                raise GenotypeError(f'{genotype!r}: edge {i}->{j} is given twice')
            ops[(i, j)] = op
        missing = [f'{i}->{j}' for i in range(j) if (i, j) not in ops]
        if missing:
            raise GenotypeError(f'{genotype!r}: node {j} lacks edge(s) {", ".join(missing)} '
                                f'(write none~i for an absent edge)')
    return tuple(ops[e] for e in EDGES)


def _validate_ops(ops: Sequence[str]) -> Tuple[str, ...]:
    ops = tuple(ops)
    if len(ops) != len(EDGES):
        raise GenotypeError(f'expected {len(EDGES)} ops (edges {["%d->%d" % e for e in EDGES]}), got {len(ops)}')
    for (i, j), op in zip(EDGES, ops):
        if op not in OPS:
            raise GenotypeError(f'op {op!r} on edge {i}->{j} is not in the space {list(OPS)}')
    return ops


def to_str(ops: Sequence[str]) -> str:
    """NB201 genotype string of the 6 edge ops."""
    ops = _validate_ops(ops)
    by_edge = dict(zip(EDGES, ops))
    return '+'.join('|' + '|'.join(f'{by_edge[(i, j)]}~{i}' for i in range(j)) + '|' for j in range(1, NUM_NODES))


def ops_of(arch: ArchLike) -> Tuple[str, ...]:
    """The 6 edge ops of a genotype string, an index or an op sequence."""
    if isinstance(arch, str):
        return parse(arch)
    if isinstance(arch, bool):
        raise GenotypeError(f'not an architecture: {arch!r}')
    if isinstance(arch, numbers.Integral):
        arch = int(arch)
        if not 0 <= arch < NUM_ARCHS:
            raise GenotypeError(f'index {arch} is outside the space [0, {NUM_ARCHS})')
        digits = []
        for _ in EDGES:
            digits.append(arch % len(OPS))
            arch //= len(OPS)
        return tuple(OPS[d] for d in reversed(digits))
    return _validate_ops(arch)


def index_of(arch: ArchLike) -> int:
    ops = ops_of(arch)
    index = 0
    for op in ops:
        index = index * len(OPS) + OPS.index(op)
    return index


def _sum(terms: List) -> Tuple:
    flat = []
    for t in terms:
        if t is None:
            continue
        if t[0] == '+':
            flat.extend(t[1:])
        else:
            flat.append(t)
    if not flat:
        return None
    if len(flat) == 1:
        return flat[0]
    return ('+',) + tuple(sorted(flat, key=repr))


def computation_graph(arch: ArchLike):
    """The symbolic expression of node 3 (``None`` if the cell outputs zero); see the module doc."""
    ops = dict(zip(EDGES, ops_of(arch)))
    nodes = [('x',)]
    for j in range(1, NUM_NODES):
        terms = []
        for i in range(j):
            op, e = ops[(i, j)], nodes[i]
            if op == 'none' or e is None:
                continue
            terms.append(e if op == 'skip_connect' else (op, e))
        nodes.append(_sum(terms))
    return nodes[-1]


@lru_cache(maxsize=1)
def _classes() -> Tuple[Tuple[int, ...], Dict[int, Tuple[int, ...]]]:
    first: Dict = {}
    rep = []
    for idx in range(NUM_ARCHS):
        key = repr(computation_graph(idx))
        rep.append(first.setdefault(key, idx))
    members: Dict[int, List[int]] = {}
    for idx, r in enumerate(rep):
        members.setdefault(r, []).append(idx)
    return tuple(rep), {r: tuple(m) for r, m in members.items()}


def mutations(index: int) -> Tuple[int, ...]:
    """Indices of the 24 cells that differ from cell ``index`` in the op of exactly one edge."""
    out = []
    k = len(OPS)
    for e in range(len(EDGES)):
        place = k ** (len(EDGES) - 1 - e)
        digit = (index // place) % k
        for d in range(k):
            if d != digit:
                out.append(index + (d - digit) * place)
    return tuple(out)


def canonical_index(arch: ArchLike) -> int:
    """Index of the canonical representative (smallest index of the isomorphism class)."""
    return _classes()[0][index_of(arch)]


def canonical(arch: ArchLike) -> str:
    """Genotype string of the canonical representative."""
    return to_str(ops_of(canonical_index(arch)))


def is_canonical(arch: ArchLike) -> bool:
    return canonical_index(arch) == index_of(arch)


def canonical_indices() -> Tuple[int, ...]:
    """Indices of all canonical cells, ascending."""
    return tuple(sorted(_classes()[1]))


def class_members(arch: ArchLike) -> Tuple[int, ...]:
    """Indices of all cells isomorphic to ``arch`` (its own included)."""
    return _classes()[1][canonical_index(arch)]


def num_unique() -> int:
    """Number of isomorphism classes of the 15625 cells under the rule of the module doc."""
    return len(_classes()[1])
