"""The CARS weight-sharing supernet on the NAS-Bench-201-style cell space of the tabular benchmark.

CARS: Continuous Evolution for Efficient Neural Architecture Search, Yang, Wang, Chen, Shi, Xu, Xu,
Tian and Xu, CVPR 2020, arXiv:1909.04977. Official code: huawei-noah/vega
(``vega/algorithms/nas/cars``, the supernet ``CARSDartsNetwork``); huawei-noah/CARS holds a README.

Supernet (paper, section 3.1): one set of weights ``W`` holds every operation of every edge; an
individual ``C_i`` (one op per edge) is a binary mask on it, ``W_i = W * C_i``, and runs
``N_i(X, W_i)``: only its ops are computed, with the supernet's tensors. An offspring therefore
*inherits* its weights: there is nothing to copy, the same parameters serve every path, and
training a path updates the weights every individual containing its ops will use. The space is the
tabular benchmark's (:mod:`tessera_nas.benchmarks.space`: 6 edges, ops ``none``, ``skip_connect``,
``nor_conv_1x1``, ``nor_conv_3x3``, ``avg_pool_3x3``) in its macro network
(:class:`~tessera_nas.benchmarks.network.TinyNetwork`: stem, 3 stages of ``N`` cells, ResNet
reductions); as in the table, the 3 cells share the genotype but not the weights. The candidate ops
are GOLD-NAS' search ops (``_search_op``: NB201's ops, BN without affine).

BatchNorm: with ``batch_stats=True`` (default) no BN of the supernet keeps running statistics, so a
path is always normalised with the statistics of its own batch, in training and evaluation
(NAS-Bench-201's weight-sharing searches, ``track_running_stats=False``): running statistics
accumulated over many paths would not fit any single one. Evaluate with large batches.

Cost of an individual: the table's params / MACs of its cell, from the per-op costs that GOLD-NAS
measures with the table's counter (:func:`~tessera_nas.models.search.gold_nas_supernet.op_cost`,
:func:`~tessera_nas.models.search.gold_nas_supernet.fixed_cost`), so ``cost(cell)`` equals the
table's ``params`` / ``macs`` of that cell.
"""
from typing import Dict, List, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_nas.benchmarks import space
from tessera_nas.benchmarks.network import macro_layers
from tessera_nas.models.search.gold_nas_supernet import _search_op, fixed_cost, op_cost
from tessera_nas.registry import MODELS

__all__ = ['CARSSupernet', 'PathCell', 'CARSSubnet']


def _batch_stats_only(module: nn.Module) -> None:
    """Make every BatchNorm of ``module`` normalise with batch statistics, also in eval mode."""
    for m in module.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.track_running_stats = False
            m.register_buffer('running_mean', None)
            m.register_buffer('running_var', None)
            m.register_buffer('num_batches_tracked', None)


class PathCell(nn.Module):
    """One cell holding every candidate op of every edge; ``forward`` runs one path.

    Shapes: ``x`` (N, C, H, W) -> (N, C, H, W); ``path``: the 6 op names (``space.EDGES`` order).
    """

    def __init__(self, channels: int, affine: bool = False):
        super().__init__()
        self.edges = nn.ModuleList()
        for _ in space.EDGES:
            ops = nn.ModuleDict()
            for op in space.OPS:
                module = _search_op(op, channels, affine)
                if module is not None:
                    ops[op] = module
            self.edges.append(ops)

    def forward(self, x: torch.Tensor, path: Tuple[str, ...]) -> torch.Tensor:
        nodes = [x]
        for j in range(1, space.NUM_NODES):
            out = None
            for e, (i, jj) in enumerate(space.EDGES):
                if jj != j or path[e] == 'none':
                    continue
                y = self.edges[e][path[e]](nodes[i])
                out = y if out is None else out + y
            nodes.append(torch.zeros_like(x) if out is None else out)
        return nodes[-1]


@MODELS.register_module()
class CARSSupernet(BaseModule):
    """The CARS supernet: the benchmark's macro network with :class:`PathCell` cells.

    Args:
        channels (int): ``C`` of the first stage (then ``2C``, ``4C``); the table's 8.
        cells_per_stage (int): ``N``; the table's 1.
        in_channels (int): Image channels.
        input_size (int): Input side (16 for the table); fixes the per-op costs.
        num_classes (int): Only for the cost of the classifier (the head is separate).
        affine (bool): Affine BN in the candidate convolutions (default False, as GOLD-NAS / DARTS).
        batch_stats (bool): BN normalises with batch statistics only (module doc).

    ``set_path(arch)`` chooses the individual that ``forward`` runs; ``forward`` returns the features
    ``(N, 4C, S/4, S/4)`` after the final BN-ReLU, for a ``GlobalAveragePooling`` neck and a linear
    head (the macro network's classifier).
    """

    def __init__(self, channels: int = 8, cells_per_stage: int = 1, in_channels: int = 1, input_size: int = 16,
                 num_classes: int = 10, affine: bool = False, batch_stats: bool = True, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if input_size % 4:
            raise ValueError(f'input_size must be divisible by 4 (two stride-2 reductions), got {input_size}')
        self.channels, self.cells_per_stage, self.input_size = channels, cells_per_stage, input_size
        self.in_channels, self.num_classes = in_channels, num_classes
        macro = macro_layers(lambda c: PathCell(c, affine), channels, cells_per_stage, in_channels, input_size)
        self.stem, self.layers, self.lastact = macro.stem, nn.ModuleList(macro.layers), macro.lastact
        self.cell_shapes, self.out_channels = macro.cell_shapes, macro.out_channels
        if batch_stats:
            _batch_stats_only(self)
        # the current individual, as op indices (a buffer: it travels with the checkpoint)
        self.register_buffer('path_index', torch.zeros(len(space.EDGES), dtype=torch.long))
        self.set_path('|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|'
                      'nor_conv_3x3~2|')

    # ----------------------------------------------------------------------------------- paths
    @property
    def path(self) -> Tuple[str, ...]:
        return tuple(space.OPS[int(i)] for i in self.path_index)

    def set_path(self, arch: space.ArchLike) -> None:
        """Run ``arch`` (genotype string, space index or 6 op names) from now on."""
        ops = space.ops_of(arch)  # GenotypeError names a bad op / edge
        self.path_index.copy_(torch.tensor([space.OPS.index(o) for o in ops], dtype=torch.long))

    def path_parameters(self, arch: space.ArchLike) -> List[nn.Parameter]:
        """The parameters an individual uses (shared part + its ops in every cell)."""
        ops = space.ops_of(arch)
        params = list(self.stem.parameters()) + list(self.lastact.parameters())
        for layer in self.layers:
            if isinstance(layer, PathCell):
                for e, op in enumerate(ops):
                    if op != 'none':
                        params += list(layer.edges[e][op].parameters())
            else:
                params += list(layer.parameters())
        return params

    def cost(self, arch: space.ArchLike) -> Dict[str, int]:
        """``params`` / ``macs`` of the cell's standalone network (the table's counter)."""
        ops = space.ops_of(space.canonical_index(arch))  # dead edges carry none, as in the table
        macs, params = fixed_cost(self.channels, self.cells_per_stage, self.input_size, self.in_channels,
                                  self.num_classes)
        for c, s in self.cell_shapes:
            for op in ops:
                if op != 'none':
                    m, p = op_cost(op, c, s)
                    macs, params = macs + m, params + p
        return dict(params=params, macs=macs)

    # --------------------------------------------------------------------------------- forward
    def forward_path(self, x: torch.Tensor, path: Tuple[str, ...]) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, path) if isinstance(layer, PathCell) else layer(x)
        return self.lastact(x)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """``x`` (N, in_channels, S, S) -> ``((N, 4C, S/4, S/4),)`` for the current path."""
        return (self.forward_path(x, self.path),)


class CARSSubnet(nn.Module):
    """An individual as a standalone network whose modules *are* the supernet's (shared tensors).

    Args:
        supernet (CARSSupernet): The backbone.
        arch: The individual.
        head (nn.Module, optional): A classifier on the pooled features (e.g. the classifier's
            ``head.fc``); without it ``forward`` returns the pooled features.

    ``forward``: (N, in_channels, S, S) -> (N, num_classes) (or (N, 4C)).
    """

    def __init__(self, supernet: CARSSupernet, arch: space.ArchLike, head: Optional[nn.Module] = None):
        super().__init__()
        self.ops = space.ops_of(arch)
        self.genotype = space.to_str(self.ops)
        self.stem, self.lastact = supernet.stem, supernet.lastact
        self.layers = nn.ModuleList()
        for layer in supernet.layers:
            if isinstance(layer, PathCell):
                cell = nn.ModuleDict({f'{i}_{j}': layer.edges[e][op]
                                      for e, ((i, j), op) in enumerate(zip(space.EDGES, self.ops)) if op != 'none'})
                self.layers.append(cell)
            else:
                self.layers.append(layer)
        self.head = head

    def _cell(self, cell: nn.ModuleDict, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, space.NUM_NODES):
            out = None
            for i in range(j):
                if f'{i}_{j}' in cell:
                    y = cell[f'{i}_{j}'](nodes[i])
                    out = y if out is None else out + y
            nodes.append(torch.zeros_like(x) if out is None else out)
        return nodes[-1]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.stem(x)
        for layer in self.layers:
            x = self._cell(layer, x) if isinstance(layer, nn.ModuleDict) else layer(x)
        x = self.lastact(x).mean((2, 3))
        return self.head(x) if self.head is not None else x
