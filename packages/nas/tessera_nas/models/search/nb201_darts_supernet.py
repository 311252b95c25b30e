"""A DARTS softmax supernet on the NAS-Bench-201-style cell space of the tabular benchmark.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019, arXiv:1806.09055
(https://github.com/quark0/darts); on the NAS-Bench-201 space as NAS-Bench-201's DARTS baseline
(arXiv:2001.00326, D-X-Y/AutoDL-Projects ``models/cell_searchs/search_model_darts.py``): one
architecture matrix ``alpha`` (6 edges x 5 ops, ``none`` included) shared by every cell, each edge
the softmax mixture of its ops::

    edge_e(x) = sum_k softmax(alpha_e)_k * o_k(x)                                  (1)

(``none`` is the zero map: its weight takes mass from the others, it adds nothing). Node ``j`` is
the sum of its incoming edges. The derived cell takes the argmax op of every edge (``none``
included, as NAS-Bench-201's ``genotype()``). The macro network is the table's
(:class:`~tessera_nas.benchmarks.network.TinyNetwork`: stem, 3 stages of ``N`` cells, ResNet
reductions, BN-ReLU), so the derived cell is a cell of the table. The candidate ops are those of
the GOLD-NAS supernet (:func:`~tessera_nas.models.search.gold_nas_supernet._search_op`: the table's
ops, convolutions with non-affine BN as in DARTS-family supernets).
"""
from typing import List, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_nas.benchmarks import space
from tessera_nas.benchmarks.network import macro_layers
from tessera_nas.models.search.gold_nas_supernet import _search_op
from tessera_nas.registry import MODELS

__all__ = ['NB201MixedCell', 'NB201DARTSSupernet']


class NB201MixedCell(nn.Module):
    """One cell of eq. (1): ``x`` (N, C, H, W), ``weights`` (6, 5) -> (N, C, H, W)."""

    def __init__(self, channels: int, affine: bool = False):
        super().__init__()
        # ``none`` has no module (its term is zero)
        self.edges = nn.ModuleList(
            nn.ModuleDict({op: _search_op(op, channels, affine) for op in space.OPS if op != 'none'})
            for _ in space.EDGES)

    def forward(self, x: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, space.NUM_NODES):
            out = torch.zeros_like(x)
            for e, (i, jj) in enumerate(space.EDGES):
                if jj != j:
                    continue
                for k, op in enumerate(space.OPS):
                    if op != 'none':
                        out = out + weights[e, k] * self.edges[e][op](nodes[i])
            nodes.append(out)
        return nodes[-1]


@MODELS.register_module()
class NB201DARTSSupernet(BaseModule):
    """The table's macro network with :class:`NB201MixedCell` cells and one shared ``alpha`` (6, 5).

    Args:
        channels (int): ``C`` of the first stage (then ``2C``, ``4C``); the table's 8.
        cells_per_stage (int): ``N``; the table's 1.
        in_channels (int): Image channels.
        affine (bool): Affine BN in the candidate convolutions (DARTS / NB201 search: False).
        init_std (float): ``alpha ~ init_std * N(0, 1)`` (DARTS and NB201: 1e-3).

    ``forward`` returns ``((N, 4C, H/4, W/4),)`` after the final BN-ReLU, for a
    ``GlobalAveragePooling`` neck and a linear head.
    """

    def __init__(self, channels: int = 8, cells_per_stage: int = 1, in_channels: int = 1, affine: bool = False,
                 init_std: float = 1e-3, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if cells_per_stage < 1:
            raise ValueError(f'cells_per_stage must be >= 1, got {cells_per_stage}')
        macro = macro_layers(lambda c: NB201MixedCell(c, affine), channels, cells_per_stage, in_channels)
        self.stem, self.layers, self.lastact = macro.stem, nn.ModuleList(macro.layers), macro.lastact
        self.out_channels = macro.out_channels
        self.alpha = nn.Parameter(init_std * torch.randn(len(space.EDGES), len(space.OPS)))

    def arch_parameters(self) -> List[nn.Parameter]:
        return [self.alpha]

    def weight_parameters(self) -> List[nn.Parameter]:
        return [p for n, p in self.named_parameters() if n != 'alpha']

    def arch_weights(self) -> torch.Tensor:
        """``softmax(alpha)`` per edge, (6, 5), differentiable."""
        return torch.softmax(self.alpha, dim=-1)

    def genotype_ops(self) -> Tuple[str, ...]:
        """The argmax op of every edge (``none`` included)."""
        return tuple(space.OPS[int(k)] for k in self.alpha.detach().argmax(-1))

    def genotype(self) -> str:
        """The derived cell as an NB201 genotype string."""
        return space.to_str(self.genotype_ops())

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """``x`` (N, in_channels, S, S) -> ``((N, 4C, S/4, S/4),)``."""
        w = self.arch_weights()
        x = self.stem(x)
        for layer in self.layers:
            x = layer(x, w) if isinstance(layer, NB201MixedCell) else layer(x)
        return (self.lastact(x),)
