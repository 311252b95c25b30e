"""The GOLD-NAS relaxed supernet on the NAS-Bench-201-style cell space of the tabular benchmark.

GOLD-NAS: Gradual, One-Level, Differentiable, Bi, Xie, Chen, Wei and Tian, arXiv:2007.03331 (2020).
No official code was released (searched GitHub; the paper links none).

Relaxation (paper, section 3): every candidate operation ``o`` on every edge gets its *own* gate
``sigma(alpha_o)`` (a sigmoid, not a softmax over the edge), so the ops of one edge do not compete
and any number ``0..n`` of them can survive::

    edge(x) = sum_{o active} sigmoid(alpha_o) * o(x)                              (1)

An op whose gate is pruned is removed from the sum (and no longer computed); an edge with no active
op is ``none``. Here the space is the tabular benchmark's (:mod:`tessera_nas.benchmarks.space`):
6 edges x 4 gated ops (``skip_connect``, ``nor_conv_1x1``, ``nor_conv_3x3``, ``avg_pool_3x3``;
``none`` is the absence of every gate), in the benchmark's macro network
(:class:`~tessera_nas.benchmarks.network.TinyNetwork`: stem, 3 stages of ``N`` cells, ResNet
reductions). ``share_cells=True`` (default) gives all cells one set of 24 gates, so a snapshot is a
cell of the table's space; ``share_cells=False`` gives every cell its own gates (the paper's space).

Resource term (paper, eq. of the constrained objective): the expected cost of the network is linear
in the gates. With ``c_k(o)`` the cost of op ``o`` (summed over the cells that share its gate) for
the resource ``k`` (``flops`` = multiply-adds, ``params``, or ``count`` = 1 per op) and
``C_k = sum_o c_k(o)`` the cost of all gated ops of the full supernet::

    R(alpha) = sum_k w_k * sum_{o active} sigmoid(alpha_o) * c_k(o) / C_k           (2)
    dR / d sigmoid(alpha_o) = sum_k w_k * c_k(o) / C_k   (the op's cost share)

The per-op costs are measured, not derived: each op of the benchmark (affine BN, as the table's
networks) is run through mmengine's ``FlopAnalyzer`` (the table's counter) at its cell's input
shape, and the fixed part (stem, reductions, head) is that of the all-``none`` network, so the
cost of a one-op-per-edge snapshot is exactly the table's ``params`` / ``macs`` of that cell.
"""
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_nas.benchmarks import space
from tessera_nas.benchmarks.network import TinyNetwork, build_op, macro_layers
from tessera_nas.registry import MODELS

__all__ = ['GATED_OPS', 'RESOURCES', 'GoldNASSupernet', 'GatedCell', 'op_cost', 'fixed_cost']

#: The gated candidates of every edge (``none`` = no active gate).
GATED_OPS: Tuple[str, ...] = tuple(op for op in space.OPS if op != 'none')
RESOURCES = ('flops', 'params', 'count')


def _search_op(name: str, channels: int, affine: bool) -> nn.Module:
    """A stride-1 op of the space for the supernet (BN without affine, as DARTS-family supernets)."""
    if name in ('nor_conv_1x1', 'nor_conv_3x3'):
        k = 1 if name == 'nor_conv_1x1' else 3
        return nn.Sequential(nn.ReLU(inplace=False), nn.Conv2d(channels, channels, k, padding=k // 2, bias=False),
                             nn.BatchNorm2d(channels, affine=affine))
    return build_op(name, channels)


@lru_cache(maxsize=None)
def op_cost(name: str, channels: int, size: int) -> Tuple[int, int]:
    """``(multiply-adds, params)`` of the table's op ``name`` on a ``(1, channels, size, size)`` input."""
    from mmengine.analysis import FlopAnalyzer
    module = build_op(name, channels)
    params = sum(p.numel() for p in module.parameters())
    analyzer = FlopAnalyzer(module.eval(), (torch.zeros(1, channels, size, size),))
    analyzer.unsupported_ops_warnings(False).uncalled_modules_warnings(False)
    with torch.no_grad():
        return int(analyzer.total()), params


@lru_cache(maxsize=None)
def fixed_cost(channels: int, cells_per_stage: int, input_size: int, in_channels: int,
               num_classes: int) -> Tuple[int, int]:
    """``(multiply-adds, params)`` of the macro network with all-``none`` cells (the ungated part)."""
    from tessera_core.analysis.complexity import get_flops
    net = TinyNetwork(0, channels, cells_per_stage, in_channels, num_classes)
    out = get_flops(net, (in_channels, input_size, input_size))
    return out['flops'], out['params']


class GatedCell(nn.Module):
    """One cell of the relaxed space: every (edge, op) candidate, summed with its gate (eq. 1).

    Shapes: ``x`` (N, C, H, W) -> (N, C, H, W); ``gates`` (6, 4) gate values (0 where pruned);
    ``active`` (6, 4) bool.
    """

    def __init__(self, channels: int, affine: bool = False):
        super().__init__()
        self.edges = nn.ModuleList(nn.ModuleList(_search_op(op, channels, affine) for op in GATED_OPS)
                                   for _ in space.EDGES)

    def forward(self, x: torch.Tensor, gates: torch.Tensor, active: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, space.NUM_NODES):
            out = torch.zeros_like(x)
            for e, (i, jj) in enumerate(space.EDGES):
                if jj != j:
                    continue
                for k, op in enumerate(self.edges[e]):
                    if active[e, k]:
                        out = out + gates[e, k] * op(nodes[i])
            nodes.append(out)
        return nodes[-1]


@MODELS.register_module()
class GoldNASSupernet(BaseModule):
    """The GOLD-NAS supernet: the benchmark's macro network with :class:`GatedCell` cells.

    Args:
        channels (int): ``C`` of the first stage (then ``2C``, ``4C``); the table's 8.
        cells_per_stage (int): ``N``; the table's 1.
        in_channels (int): Image channels.
        input_size (int): Input side (16 for the table); fixes the per-op costs.
        num_classes (int): Only used for the fixed cost of the classifier (the head is separate).
        share_cells (bool): One set of gates for all cells (a cell of the table) or one per cell.
        affine (bool): Affine BN in the gated convolutions (default False, as DARTS supernets).
        init_std (float): ``alpha ~ init_std * N(0, 1)`` (paper: "random noise"; sigmoid ~ 0.5).
        resource_weights (dict): ``w_k`` of eq. (2), keys in ``('flops', 'params', 'count')``.

    ``forward`` returns the features ``(N, 4C, H/4, W/4)`` after the final BN-ReLU, for a
    ``GlobalAveragePooling`` neck and a linear head (the macro network's classifier).
    """

    def __init__(self, channels: int = 8, cells_per_stage: int = 1, in_channels: int = 1, input_size: int = 16,
                 num_classes: int = 10, share_cells: bool = True, affine: bool = False, init_std: float = 1e-3,
                 resource_weights: Optional[Dict[str, float]] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        resource_weights = dict(flops=1.0) if resource_weights is None else dict(resource_weights)
        bad = sorted(set(resource_weights) - set(RESOURCES))
        if bad:
            raise ValueError(f'resource_weights has unknown key(s) {bad}; valid: {list(RESOURCES)}')
        if any(float(v) < 0 for v in resource_weights.values()):
            raise ValueError(f'resource_weights must be >= 0, got {resource_weights}')
        if input_size % 4:
            raise ValueError(f'input_size must be divisible by 4 (two stride-2 reductions), got {input_size}')
        self.channels, self.cells_per_stage, self.input_size = channels, cells_per_stage, input_size
        self.in_channels, self.num_classes, self.share_cells = in_channels, num_classes, share_cells
        self.resource_weights = {k: float(v) for k, v in resource_weights.items()}
        macro = macro_layers(lambda c: GatedCell(c, affine), channels, cells_per_stage, in_channels, input_size)
        self.stem, self.layers, self.lastact = macro.stem, nn.ModuleList(macro.layers), macro.lastact
        self.cell_shapes, self.out_channels = macro.cell_shapes, macro.out_channels  # (channels, size) per cell
        n_sets = 1 if share_cells else len(self.cell_shapes)
        shape = (n_sets, len(space.EDGES), len(GATED_OPS))
        self.alpha = nn.Parameter(init_std * torch.randn(shape))
        self.register_buffer('active', torch.ones(shape, dtype=torch.bool))
        self.register_buffer('costs', self._cost_table(), persistent=False)  # (3 resources, *shape)

    # ------------------------------------------------------------------------------------ costs
    def _cost_table(self) -> torch.Tensor:
        n_sets = self.alpha.shape[0]
        table = torch.zeros((len(RESOURCES), n_sets, len(space.EDGES), len(GATED_OPS)), dtype=torch.float64)
        for cell, (c, s) in enumerate(self.cell_shapes):
            g = 0 if self.share_cells else cell
            for k, op in enumerate(GATED_OPS):
                macs, params = op_cost(op, c, s)
                table[0, g, :, k] += macs
                table[1, g, :, k] += params
                table[2, g, :, k] += 1
        return table

    def fixed_cost(self) -> Dict[str, int]:
        macs, params = fixed_cost(self.channels, self.cells_per_stage, self.input_size, self.in_channels,
                                  self.num_classes)
        return dict(flops=macs, params=params)

    def gate_costs(self, resource: str) -> torch.Tensor:
        """``c_k(o)`` per gate, shape of :attr:`alpha`."""
        if resource not in RESOURCES:
            raise ValueError(f'resource {resource!r} is not one of {list(RESOURCES)}')
        return self.costs[RESOURCES.index(resource)]

    def resource_penalty(self) -> torch.Tensor:
        """``R(alpha)`` of eq. (2): a scalar in [0, sum_k w_k], differentiable in ``alpha``."""
        gates = self.gates()
        total = gates.new_zeros(())
        for k, w in self.resource_weights.items():
            if w == 0:
                continue
            c = self.gate_costs(k)
            total = total + w * (gates * (c / c.sum()).to(gates.dtype)).sum()
        return total

    def snapshot_cost(self) -> Dict[str, int]:
        """``params`` / ``flops`` of the current (relaxed) network: fixed part + every active op."""
        out = self.fixed_cost()
        for k in ('flops', 'params'):
            out[k] += int((self.gate_costs(k) * self.active).sum().item())
        return out

    # --------------------------------------------------------------------------------- gates
    def arch_parameters(self) -> List[nn.Parameter]:
        return [self.alpha]

    def weight_parameters(self) -> List[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n != 'alpha']

    def gates(self) -> torch.Tensor:
        """``sigmoid(alpha)`` where active, 0 where pruned; shape ``(sets, 6, 4)``."""
        return torch.sigmoid(self.alpha) * self.active

    def gate_names(self) -> List[str]:
        """``'cell{g}:{i}->{j}:{op}'`` for every gate in flattened :attr:`alpha` order."""
        return [f'cell{g}:{i}->{j}:{op}' for g in range(self.alpha.shape[0]) for (i, j) in space.EDGES
                for op in GATED_OPS]

    def num_active(self) -> int:
        return int(self.active.sum().item())

    def prune(self, flat_indices: Sequence[int]) -> None:
        """Remove the gates at ``flat_indices`` (flattened :attr:`alpha` order) for good."""
        flat = self.active.view(-1)
        for i in flat_indices:
            if not 0 <= int(i) < flat.numel():
                raise IndexError(f'gate index {i} is outside [0, {flat.numel()})')
            if not flat[int(i)]:
                raise ValueError(f'gate {self.gate_names()[int(i)]} was already pruned')
            flat[int(i)] = False

    def active_ops(self, cell: int = 0) -> List[List[str]]:
        """Surviving ops of each of the 6 edges of gate set ``cell``."""
        return [[op for k, op in enumerate(GATED_OPS) if self.active[cell, e, k]] for e in range(len(space.EDGES))]

    def derived_genotype(self, cell: int = 0) -> str:
        """One op per edge: the active op with the largest gate (``none`` if the edge has none)."""
        gates = self.gates().detach()
        ops = []
        for e in range(len(space.EDGES)):
            if not self.active[cell, e].any():
                ops.append('none')
            else:
                g = torch.where(self.active[cell, e], gates[cell, e], torch.full_like(gates[cell, e], -1.0))
                ops.append(GATED_OPS[int(g.argmax())])
        return space.to_str(ops)

    def is_single_path(self) -> bool:
        """True when no edge keeps more than one op (the snapshot is a cell of the table's space)."""
        return bool((self.active.sum(-1) <= 1).all())

    # ------------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """``x`` (N, in_channels, S, S) -> ``((N, 4C, S/4, S/4),)``."""
        gates = self.gates()
        x = self.stem(x)
        cell = 0
        for layer in self.layers:
            if isinstance(layer, GatedCell):
                g = 0 if self.share_cells else cell
                x = layer(x, gates[g], self.active[g])
                cell += 1
            else:
                x = layer(x)
        return (self.lastact(x),)
