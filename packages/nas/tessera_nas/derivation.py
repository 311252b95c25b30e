"""Derivation of a discrete genotype from the architecture weights of a DARTS supernet, its JSON
form, and a cell diagram.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/model_search.py``,
``Network.genotype``; ``cnn/visualize.py`` draws the cells with graphviz).
PC-DARTS (arXiv:1907.05737, https://github.com/yuhuixu1993/PC-DARTS, ``Network.genotype``) derives
with the op weights of each edge multiplied by its normalized edge weight.

The official rule, per intermediate node ``i`` (inputs: states ``0 .. i + 1``): the strength of an
incoming edge is the largest weight of its non-``none`` candidates; the two strongest edges are
kept (ties: the lower input state first, Python's stable sort), and each kept edge takes its best
non-``none`` candidate (ties: the first in the edge's candidate order). Edges are listed strongest
first. The cell concatenates its last ``multiplier`` states.
"""
import json
import os
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch

from tessera_nas.genotypes import PRIMITIVES, Genotype, get_genotype
from tessera_nas.models.search.search_cell import check_edge_primitives, num_cell_edges

__all__ = ['parse_cell', 'derive_genotype', 'save_genotype_json', 'load_genotype_json', 'plot_cell']

EdgeWeights = Union[Sequence[Sequence[float]], torch.Tensor]


def _as_edge_list(weights: EdgeWeights, num_edges: int, where: str) -> List[torch.Tensor]:
    if len(weights) != num_edges:
        raise ValueError(f'{where}: expected weights for {num_edges} edges, got {len(weights)}')
    return [torch.as_tensor(w, dtype=torch.float64).detach().cpu().reshape(-1) for w in weights]


def parse_cell(weights: EdgeWeights, edge_primitives: Sequence[Sequence[str]], steps: int,
               edge_weights: Optional[Union[Sequence[float], torch.Tensor]] = None,
               where: str = 'cell') -> List[Tuple[str, int]]:
    """Derive the ``2 * steps`` edges ``(operation, input state)`` of one cell.

    Args:
        weights (Sequence | Tensor): Per-edge op weights (softmaxed), ``weights[e]`` with one
            entry per candidate of edge ``e``; a (num_edges, num_ops) array works too.
        edge_primitives (Sequence[Sequence[str]]): Candidates of every edge (official edge order).
        steps (int): Intermediate nodes.
        edge_weights (Sequence[float] | Tensor, optional): (num_edges,) normalized PC-DARTS edge
            weights; each edge's op weights are multiplied by its edge weight first.
        where (str): Name of the cell in error messages.

    Returns:
        list[tuple[str, int]]: Two edges per node, strongest first.

    Raises:
        ValueError: wrong number of edges or of weights on an edge, or a node with fewer than two
            incoming edges that have a non-``none`` candidate.
    """
    num_edges = num_cell_edges(steps)
    edge_primitives = check_edge_primitives(edge_primitives, steps, f'{where} edge_primitives')
    rows = _as_edge_list(weights, num_edges, f'{where} weights')
    for e, (row, prims) in enumerate(zip(rows, edge_primitives)):
        if row.numel() != len(prims):
            raise ValueError(f'{where} weights[{e}] has {row.numel()} entries but edge {e} has '
                             f'{len(prims)} candidates {list(prims)}')
    if edge_weights is not None:
        scale = torch.as_tensor(edge_weights, dtype=torch.float64).detach().cpu().reshape(-1)
        if scale.numel() != num_edges:
            raise ValueError(f'{where} edge_weights must have {num_edges} entries, got {scale.numel()}')
        rows = [row * scale[e] for e, row in enumerate(rows)]

    gene: List[Tuple[str, int]] = []
    start = 0
    for i in range(steps):
        candidates = {}  # input state -> (strength, best op)
        for j in range(i + 2):
            row, prims = rows[start + j], edge_primitives[start + j]
            best = None
            for k, name in enumerate(prims):
                if name != 'none' and (best is None or row[k] > row[best]):
                    best = k
            if best is not None:
                candidates[j] = (float(row[best]), prims[best])
        if len(candidates) < 2:
            raise ValueError(f'{where}: node {i} has {len(candidates)} incoming edge(s) with a non-none '
                             f'candidate, needs 2; candidates: {list(edge_primitives[start:start + i + 2])}')
        kept = sorted(candidates, key=lambda j: -candidates[j][0])[:2]
        gene.extend((candidates[j][1], j) for j in kept)
        start += i + 2
    return gene


def derive_genotype(weights_normal: EdgeWeights, weights_reduce: EdgeWeights,
                    edge_primitives: Union[Sequence[str], Sequence[Sequence[str]], Mapping] = PRIMITIVES,
                    steps: int = 4, multiplier: int = 4,
                    edge_weights: Optional[Mapping[str, Union[Sequence[float], torch.Tensor]]] = None
                    ) -> Genotype:
    """The genotype of a supernet, by the official DARTS (PC-DARTS) rule.

    Args:
        weights_normal (Sequence | Tensor): Softmaxed op weights of the normal cell, per edge.
        weights_reduce (Sequence | Tensor): Those of the reduction cell.
        edge_primitives (Sequence[str] | Sequence[Sequence[str]] | Mapping): The candidates: one
            list of names for every edge of both cells (default: the 8 DARTS primitives), one list
            per edge shared by both cells, or ``dict(normal=[...], reduce=[...])`` of per-edge lists.
        steps (int): Intermediate nodes per cell.
        multiplier (int): The cell concatenates states ``2 + steps - multiplier .. steps + 1``.
        edge_weights (Mapping, optional): PC-DARTS ``dict(normal=(E,), reduce=(E,))`` normalized
            edge weights (:func:`~tessera_nas.models.search.node_edge_softmax` of the betas).

    Returns:
        Genotype: The derived genotype.
    """
    if not isinstance(multiplier, int) or not 1 <= multiplier <= steps:
        raise ValueError(f'multiplier must be an int in [1, steps={steps}], got {multiplier!r}')
    num_edges = num_cell_edges(steps)
    if isinstance(edge_primitives, Mapping):
        missing = [k for k in ('normal', 'reduce') if k not in edge_primitives]
        if missing:
            raise ValueError(f'edge_primitives dict needs the keys normal and reduce; missing {missing}')
        prims_normal, prims_reduce = edge_primitives['normal'], edge_primitives['reduce']
    elif len(edge_primitives) > 0 and all(isinstance(p, str) for p in edge_primitives):
        prims_normal = prims_reduce = [tuple(edge_primitives)] * num_edges
    else:
        prims_normal = prims_reduce = edge_primitives
    if edge_weights is not None:
        missing = [k for k in ('normal', 'reduce') if k not in edge_weights]
        if missing:
            raise ValueError(f'edge_weights dict needs the keys normal and reduce; missing {missing}')
    gene_normal = parse_cell(weights_normal, prims_normal, steps,
                             None if edge_weights is None else edge_weights['normal'], 'normal cell')
    gene_reduce = parse_cell(weights_reduce, prims_reduce, steps,
                             None if edge_weights is None else edge_weights['reduce'], 'reduction cell')
    concat = list(range(2 + steps - multiplier, steps + 2))
    return Genotype(normal=gene_normal, normal_concat=concat, reduce=gene_reduce, reduce_concat=concat)


def save_genotype_json(genotype: Union[Genotype, Mapping, str], path: str) -> str:
    """Write ``genotype`` (a :class:`Genotype`, its dict or a published name) as JSON with the
    four fields ``normal``, ``normal_concat``, ``reduce``, ``reduce_concat``; returns ``path``."""
    genotype = get_genotype(genotype)
    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    with open(path, 'w') as f:
        json.dump(genotype.to_dict(), f, indent=2)
        f.write('\n')
    return path


def load_genotype_json(path: str) -> Genotype:
    """Read a genotype written by :func:`save_genotype_json`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: the file is not JSON or not a valid genotype (the message names the file and
            what is wrong, with the valid values).
    """
    with open(path) as f:
        try:
            cfg = json.load(f)
        except json.JSONDecodeError as err:
            raise ValueError(f'{path} is not a JSON genotype file: {err}') from err
    if not isinstance(cfg, dict):
        raise ValueError(f'{path} must hold a JSON object with normal, normal_concat, reduce, reduce_concat; '
                         f'got {type(cfg).__name__}')
    try:
        return Genotype.from_dict(cfg)
    except (ValueError, TypeError) as err:
        raise ValueError(f'{path}: {err}') from err


# Colours of the diagram: node kinds as the official graphviz plot, one colour per operation.
_NODE_COLOURS = dict(input='darkseagreen', node='lightblue', output='palegoldenrod')
_OP_COLOURS: Dict[str, str] = {
    'none': 'lightgray', 'max_pool_3x3': 'tab:orange', 'avg_pool_3x3': 'tab:brown',
    'skip_connect': 'tab:gray', 'sep_conv_3x3': 'tab:blue', 'sep_conv_5x5': 'tab:purple',
    'dil_conv_3x3': 'tab:green', 'dil_conv_5x5': 'tab:red'}


def plot_cell(genotype: Union[Genotype, Mapping, str], cell: str = 'normal', path: str = 'cell.png',
              title: Optional[str] = None, dpi: int = 120) -> str:
    """Draw the normal or reduction cell of ``genotype`` as a PNG (matplotlib, Agg canvas).

    Nodes: the inputs ``c_{k-2}``, ``c_{k-1}``, the intermediate nodes ``0 .. steps - 1`` and the
    output ``c_{k}``; every genotype edge is an arrow labelled with its operation, and the
    concatenated states have an unlabelled arrow into ``c_{k}``.

    Args:
        genotype (Genotype | Mapping | str): The genotype (or its dict, or a published name).
        cell (str): ``'normal'`` or ``'reduce'``.
        path (str): Output PNG file.
        title (str, optional): Figure title (default: the cell name).
        dpi (int): Resolution.

    Returns:
        str: ``path``.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.patches import FancyArrowPatch

    if cell not in ('normal', 'reduce'):
        raise ValueError(f"cell must be 'normal' or 'reduce', got {cell!r}")
    genotype = get_genotype(genotype)
    edges = genotype.normal if cell == 'normal' else genotype.reduce
    concat = genotype.normal_concat if cell == 'normal' else genotype.reduce_concat
    steps = len(edges) // 2

    # positions: inputs on the left, intermediate nodes zig-zag left to right, output on the right
    pos = {0: (0.0, 1.7), 1: (0.0, -1.7)}
    for i in range(steps):
        pos[i + 2] = (2.2 + 1.9 * i, 0.7 if i % 2 == 0 else -0.7)
    out_state = steps + 2
    pos[out_state] = (2.2 + 1.9 * steps + 0.6, 0.0)
    labels = {0: 'c_{k-2}', 1: 'c_{k-1}', out_state: 'c_{k}'}
    labels.update({i + 2: str(i) for i in range(steps)})

    fig = Figure(figsize=(2.4 + 1.9 * steps, 5.0))
    FigureCanvasAgg(fig)
    ax = fig.add_subplot(1, 1, 1)
    ax.set_xlim(-0.8, pos[out_state][0] + 0.8)
    ax.set_ylim(-2.8, 2.8)
    ax.axis('off')
    ax.set_title(title if title is not None else f'{cell} cell', fontsize=11)

    def arrow(src, dst, rad, colour, label=None):
        (x1, y1), (x2, y2) = pos[src], pos[dst]
        ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), connectionstyle=f'arc3,rad={rad}',
                                     arrowstyle='-|>', mutation_scale=12, color=colour, lw=1.4,
                                     shrinkA=16, shrinkB=16, zorder=1))
        if label is not None:
            # midpoint of the quadratic Bezier of ``arc3``: chord middle + rad / 2 * (dy, -dx)
            lx = (x1 + x2) / 2 + rad / 2 * (y2 - y1)
            ly = (y1 + y2) / 2 - rad / 2 * (x2 - x1)
            ax.text(lx, ly, label, fontsize=7, ha='center', va='center', color=colour, zorder=3,
                    bbox=dict(boxstyle='round,pad=0.15', fc='white', ec='none', alpha=0.85))

    for e, (op, src) in enumerate(edges):
        dst = e // 2 + 2
        # edges from c_{k-2} bend upwards, from c_{k-1} downwards (arc3: rad > 0 bends a
        # left-to-right edge down), longer ones more; edges between intermediate nodes that skip a
        # node bend upwards
        if src < 2:
            rad = min(0.1 + 0.08 * (dst - 2), 0.4) * (-1 if src == 0 else 1)
        else:
            rad = 0.0 if dst - src == 1 else -0.3
        arrow(src, dst, rad, _OP_COLOURS.get(op, 'black'), op)
    for state in concat:
        arrow(state, out_state, 0.0 if state == steps + 1 else 0.12, 'silver')

    for state, (x, y) in pos.items():
        kind = 'input' if state < 2 else ('output' if state == out_state else 'node')
        ax.text(x, y, f'${labels[state]}$' if kind != 'node' else labels[state], ha='center', va='center',
                fontsize=10, zorder=4,
                bbox=dict(boxstyle='round,pad=0.4', fc=_NODE_COLOURS[kind], ec='black', lw=0.8))

    directory = os.path.dirname(os.path.abspath(path))
    os.makedirs(directory, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches='tight')
    return path
