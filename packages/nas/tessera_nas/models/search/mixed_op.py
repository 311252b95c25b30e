"""The mixed operation of a DARTS supernet edge: the softmax-weighted sum of the candidate ops.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/model_search.py``,
``MixedOp``).
Operation-level dropout: Progressive Differentiable Architecture Search: Bridging the Depth Gap
between Search and Evaluation (P-DARTS), Chen, Xie, Wu and Tian, ICCV 2019, arXiv:1904.12760.
Official code: https://github.com/chenxin061/pdarts (``model_search.py``, ``MixedOp``).

An edge ``x -> sum_i w_i op_i(x)`` holds one candidate of each primitive of its list, built with
``affine=False`` BatchNorms as in the official search network; the pooling candidates are followed
by a ``BatchNorm2d(C, affine=False)`` (official ``if 'pool' in primitive``). The weights ``w`` are
given by the caller (the softmax of the edge's architecture parameters), so the module itself holds
only operation weights.
"""
from typing import Iterable, Sequence, Tuple

import torch
from torch import nn

from tessera_nas.genotypes import PRIMITIVES
from tessera_nas.registry import MODELS

from ..operations import build_op

__all__ = ['check_primitives', 'check_edge_weights', 'MixedOp']


def check_primitives(primitives: Iterable[str], where: str = 'primitives') -> Tuple[str, ...]:
    """Validate a list of candidate operations of one edge.

    Args:
        primitives (Iterable[str]): Names of DARTS primitives, in the order of the edge's
            architecture weights.
        where (str): How to name the list in error messages (e.g. ``'edge_primitives.normal[3]'``).

    Returns:
        tuple[str, ...]: The names.

    Raises:
        TypeError: ``primitives`` is a single string or not iterable.
        ValueError: an empty list, an unknown name or a repeated name (the message lists the valid
            primitives).
    """
    if isinstance(primitives, (str, bytes)) or not isinstance(primitives, Iterable):
        raise TypeError(f'{where} must be a sequence of primitive names, got {primitives!r}; '
                        f'valid primitives: {list(PRIMITIVES)}')
    names = tuple(primitives)
    if len(names) == 0:
        raise ValueError(f'{where} is empty; an edge needs at least one of {list(PRIMITIVES)}')
    for name in names:
        if name not in PRIMITIVES:
            raise ValueError(f'{where}: unknown primitive {name!r}; valid primitives: {list(PRIMITIVES)}')
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise ValueError(f'{where} repeats {repeated}: {list(names)}')
    return names


def check_edge_weights(weights: torch.Tensor, num_ops: int, where: str = 'MixedOp') -> None:
    """Raise a ValueError unless ``weights`` is a 1-D tensor of ``num_ops`` entries."""
    if not isinstance(weights, torch.Tensor) or weights.dim() != 1 or weights.numel() != num_ops:
        shape = tuple(weights.shape) if isinstance(weights, torch.Tensor) else type(weights).__name__
        raise ValueError(f'{where} expects a ({num_ops},) weight vector (one weight per candidate op), '
                         f'got {shape}')


@MODELS.register_module()
class MixedOp(nn.Module):
    """One supernet edge: ``sum_i w_i op_i(x)`` over the candidate operations ``primitives``.

    Args:
        channels (int): Channels ``C`` of the input and output.
        stride (int): 1, or 2 on the edges from the two inputs of a reduction cell.
        primitives (Sequence[str]): Candidate operations (names of
            :data:`tessera_nas.genotypes.PRIMITIVES`), in the order of the weights.
        op_dropout (float): P-DARTS operation-level dropout rate. As in the official P-DARTS
            ``MixedOp`` (``if isinstance(op, Identity) and p > 0: op = nn.Sequential(op,
            nn.Dropout(self.p))``), an ``nn.Dropout`` follows the parameter-free *identity*
            candidate only, i.e. ``skip_connect`` at stride 1; the stride-2 ``skip_connect``
            (FactorizedReduce), the pools and ``none`` get none. The paper's "dropout after each
            skip-connect" is this. The module is created only when ``op_dropout > 0`` (as
            official); :meth:`set_op_dropout` changes its rate (official ``update_p``).

    Shapes: forward(x (N, C, H, W), weights (num_ops,)) -> (N, C, ceil(H / stride),
    ceil(W / stride)).
    """

    def __init__(self, channels: int, stride: int, primitives: Sequence[str] = PRIMITIVES,
                 op_dropout: float = 0.0):
        super().__init__()
        self.primitives = check_primitives(primitives, 'MixedOp primitives')
        if not isinstance(channels, int) or channels <= 0:
            raise ValueError(f'MixedOp channels must be a positive int, got {channels!r}')
        if stride not in (1, 2):
            raise ValueError(f'MixedOp stride must be 1 or 2, got {stride!r}')
        if not 0.0 <= op_dropout < 1.0:
            raise ValueError(f'op_dropout must lie in [0, 1), got {op_dropout}')
        self.channels, self.stride = channels, stride
        self.op_dropout = float(op_dropout)
        self._ops = nn.ModuleList()
        for name in self.primitives:
            op = build_op(name, channels, stride, affine=False)
            if 'pool' in name:
                op = nn.Sequential(op, nn.BatchNorm2d(channels, affine=False))
            if isinstance(op, nn.Identity) and op_dropout > 0:
                op = nn.Sequential(op, nn.Dropout(op_dropout))
            self._ops.append(op)

    @property
    def num_ops(self) -> int:
        """Number of candidate operations (length of the weight vector)."""
        return len(self._ops)

    def dropouts(self) -> Tuple[nn.Dropout, ...]:
        """The P-DARTS dropout modules (one per identity candidate; empty when built with 0)."""
        return tuple(m for m in self._ops.modules() if isinstance(m, nn.Dropout))

    def set_op_dropout(self, p: float) -> None:
        """Set the operation-level dropout rate (the official P-DARTS ``update_p``).

        Raises:
            ValueError: ``p`` outside [0, 1), or ``p > 0`` on an edge that has an identity
                candidate but was built with ``op_dropout=0`` (so has no dropout module; build it
                with the stage's initial rate, as the official code does).
        """
        if not 0.0 <= p < 1.0:
            raise ValueError(f'op_dropout must lie in [0, 1), got {p}')
        dropouts = self.dropouts()
        has_identity = any(isinstance(op, nn.Identity) for op in self._ops)
        if p > 0 and has_identity and not dropouts:
            raise ValueError('this MixedOp was built with op_dropout=0 and has no dropout module; '
                             f'build it with op_dropout > 0 to schedule the rate (asked for {p})')
        for m in dropouts:
            m.p = float(p)
        self.op_dropout = float(p)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        """Weighted sum of the candidates.

        Args:
            x (Tensor): (N, C, H, W).
            weights (Tensor): (num_ops,) weights of the candidates (softmaxed architecture
                parameters of this edge).

        Returns:
            Tensor: (N, C, ceil(H / stride), ceil(W / stride)).
        """
        check_edge_weights(weights, self.num_ops, f'MixedOp{list(self.primitives)}')
        if x.dim() != 4 or x.size(1) != self.channels:
            raise ValueError(f'MixedOp expects (N, {self.channels}, H, W) inputs, got {tuple(x.shape)}')
        out = weights[0] * self._ops[0](x)
        for w, op in zip(weights[1:], self._ops[1:]):
            out = out + w * op(x)
        return out
