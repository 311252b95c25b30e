"""The DARTS search cell: every intermediate node sums mixed operations on all earlier states.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/model_search.py``, ``Cell``).
Edge normalization: PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture
Search, Xu et al., ICLR 2020, arXiv:1907.05737. Official code:
https://github.com/yuhuixu1993/PC-DARTS (``model_search.py``, ``Cell.forward(..., weights2)`` and
the softmax of ``betas`` per node in ``Network.forward``).

Edge order (the order of the architecture parameters, official): for node ``i = 0 .. steps - 1``
(state ``i + 2``), for input state ``j = 0 .. i + 1``: edge ``j -> i``. With 4 steps that is
``2 + 3 + 4 + 5 = 14`` edges; edges ``0, 1`` feed node 0, ``2, 3, 4`` node 1, and so on.
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from torch import nn

from tessera_nas.registry import MODELS

from ..operations import FactorizedReduce, ReLUConvBN
from .mixed_op import check_primitives

__all__ = ['num_cell_edges', 'cell_edges', 'node_edge_softmax', 'check_edge_primitives', 'SearchCell']


def num_cell_edges(steps: int) -> int:
    """Number of edges of a cell with ``steps`` intermediate nodes: ``steps * (steps + 3) / 2``."""
    return steps * (steps + 3) // 2


def cell_edges(steps: int) -> List[Tuple[int, int]]:
    """``(input_state, node)`` of every edge in the official order (node ``i`` is state ``i + 2``)."""
    return [(j, i) for i in range(steps) for j in range(i + 2)]


def node_edge_softmax(betas: torch.Tensor, steps: int) -> torch.Tensor:
    """PC-DARTS edge normalization: softmax of the edge parameters over the incoming edges of
    each node (official ``F.softmax(self.betas_normal[start:end], dim=-1)`` per node).

    Args:
        betas (Tensor): (num_edges,) edge parameters in the official edge order.
        steps (int): Intermediate nodes.

    Returns:
        Tensor: (num_edges,) edge weights; those of each node sum to 1.
    """
    expected = num_cell_edges(steps)
    if betas.dim() != 1 or betas.numel() != expected:
        raise ValueError(f'edge parameters of a {steps}-step cell must have shape ({expected},), '
                         f'got {tuple(betas.shape)}')
    out, start = [], 0
    for i in range(steps):
        out.append(F.softmax(betas[start:start + i + 2], dim=-1))
        start += i + 2
    return torch.cat(out)


def check_edge_primitives(edge_primitives: Sequence[Sequence[str]], steps: int,
                          where: str = 'edge_primitives') -> Tuple[Tuple[str, ...], ...]:
    """Validate one candidate list per edge of a ``steps``-step cell.

    Returns:
        tuple[tuple[str, ...], ...]: ``num_cell_edges(steps)`` candidate tuples.

    Raises:
        ValueError: wrong number of edges, or an edge list that is empty, repeats a name or names
            an unknown primitive (the message lists the valid ones).
    """
    expected = num_cell_edges(steps)
    if isinstance(edge_primitives, (str, bytes)) or not isinstance(edge_primitives, Sequence):
        raise TypeError(f'{where} must be a list of {expected} candidate lists (one per edge), '
                        f'got {edge_primitives!r}')
    if len(edge_primitives) != expected:
        raise ValueError(f'{where} must list {expected} edges for a {steps}-step cell '
                         f'(nodes 0..{steps - 1} take 2, 3, ... inputs), got {len(edge_primitives)}')
    return tuple(check_primitives(p, f'{where}[{e}]') for e, p in enumerate(edge_primitives))


class SearchCell(nn.Module):
    """A normal or reduction cell of the supernet.

    Args:
        steps (int): Intermediate nodes (4 in DARTS).
        multiplier (int): The cell outputs the concatenation of its last ``multiplier`` states.
        C_prev_prev (int): Channels of input state 0 (output of the cell before the previous one).
        C_prev (int): Channels of input state 1 (output of the previous cell).
        C (int): Channels of every node.
        reduction (bool): Stride 2 on the edges from the two inputs (``j < 2``).
        reduction_prev (bool): The previous cell reduced, so state 0 is reduced by a
            FactorizedReduce instead of a 1x1 ReLU-conv-BN.
        edge_primitives (Sequence[Sequence[str]]): Candidates of each of the
            ``num_cell_edges(steps)`` edges, in the official edge order.
        mixed_op (dict, optional): Config of the edge module, built from ``MODELS`` with
            ``channels``, ``stride`` and ``primitives`` added: ``dict(type='MixedOp')`` (default),
            ``dict(type='MixedOp', op_dropout=0.1)``, ``dict(type='PartialChannelMixedOp', k=4)``.

    BatchNorms have ``affine=False`` (official search network).

    Shapes: forward(s0 (N, C_prev_prev, H0, W0), s1 (N, C_prev, H, W), weights, edge_weights)
    -> (N, multiplier * C, H / s, W / s), with H0 = 2H if ``reduction_prev`` else H and s = 2 if
    ``reduction`` else 1.
    """

    def __init__(self, steps: int, multiplier: int, C_prev_prev: int, C_prev: int, C: int, reduction: bool,
                 reduction_prev: bool, edge_primitives: Sequence[Sequence[str]], mixed_op: Optional[dict] = None):
        super().__init__()
        if not isinstance(steps, int) or steps < 1:
            raise ValueError(f'steps must be a positive int, got {steps!r}')
        if not isinstance(multiplier, int) or not 1 <= multiplier <= steps:
            raise ValueError(f'multiplier must be an int in [1, steps={steps}], got {multiplier!r}')
        self.steps, self.multiplier = steps, multiplier
        self.reduction, self.reduction_prev = bool(reduction), bool(reduction_prev)
        self.channels = C
        self.edge_primitives = check_edge_primitives(edge_primitives, steps)
        mixed_op = dict(type='MixedOp') if mixed_op is None else dict(mixed_op)
        if 'type' not in mixed_op:
            raise ValueError(f'mixed_op needs a type, got {mixed_op}; valid: {registered_mixed_ops()}')
        if isinstance(mixed_op['type'], str) and MODELS.get(mixed_op['type']) is None:
            raise KeyError(f"unknown mixed_op type {mixed_op['type']!r}; valid: {registered_mixed_ops()}")
        clashes = [key for key in ('channels', 'stride', 'primitives') if key in mixed_op]
        if clashes:
            raise ValueError(f'mixed_op must not set {clashes}: the cell sets them per edge')

        if reduction_prev:
            self.preprocess0 = FactorizedReduce(C_prev_prev, C, affine=False)
        else:
            self.preprocess0 = ReLUConvBN(C_prev_prev, C, 1, 1, 0, affine=False)
        self.preprocess1 = ReLUConvBN(C_prev, C, 1, 1, 0, affine=False)
        self._ops = nn.ModuleList()
        for e, (j, _) in enumerate(cell_edges(steps)):
            stride = 2 if reduction and j < 2 else 1
            self._ops.append(MODELS.build(dict(mixed_op, channels=C, stride=stride,
                                               primitives=self.edge_primitives[e])))

    @property
    def num_edges(self) -> int:
        """Number of edges (``num_cell_edges(steps)``)."""
        return len(self._ops)

    @property
    def out_channels(self) -> int:
        """Output channels ``multiplier * C``."""
        return self.multiplier * self.channels

    def forward(self, s0: torch.Tensor, s1: torch.Tensor,
                weights: Union[Sequence[torch.Tensor], torch.Tensor],
                edge_weights: Optional[torch.Tensor] = None) -> torch.Tensor:
        """Run the cell.

        Args:
            s0 (Tensor): (N, C_prev_prev, H0, W0) output of the cell before the previous one.
            s1 (Tensor): (N, C_prev, H, W) output of the previous cell.
            weights (Sequence[Tensor] | Tensor): Per-edge op weights (softmax over each edge's
                candidates), ``weights[e]`` of shape (num_ops of edge e,); a (num_edges, num_ops)
                tensor when every edge has the same candidate count.
            edge_weights (Tensor, optional): (num_edges,) PC-DARTS edge weights
                (:func:`node_edge_softmax` of the betas); edge ``e`` contributes
                ``edge_weights[e] * mixed_op_e(...)`` to its node.

        Returns:
            Tensor: (N, multiplier * C, H / s, W / s).
        """
        if len(weights) != self.num_edges:
            raise ValueError(f'SearchCell with {self.steps} steps needs weights for {self.num_edges} edges, '
                             f'got {len(weights)}')
        if edge_weights is not None and (edge_weights.dim() != 1 or edge_weights.numel() != self.num_edges):
            raise ValueError(f'edge_weights must have shape ({self.num_edges},), got {tuple(edge_weights.shape)}')
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        e = 0
        for _ in range(self.steps):
            node = None
            for h in states:
                out = self._ops[e](h, weights[e])
                if edge_weights is not None:
                    out = edge_weights[e] * out
                node = out if node is None else node + out
                e += 1
            states.append(node)
        return torch.cat(states[-self.multiplier:], dim=1)

    def set_op_dropout(self, p: float) -> None:
        """Set the P-DARTS operation-level dropout rate of every edge."""
        for op in self._ops:
            op.set_op_dropout(p)


def registered_mixed_ops() -> List[str]:
    """Names of the edge modules registered in tessera_nas ``MODELS`` (names ending in 'MixedOp')."""
    return sorted(name for name in MODELS.module_dict if name.endswith('MixedOp'))
