"""The DARTS supernet (search network) as a classification backbone holding the architecture
parameters.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/model_search.py``,
``Network``).
PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search, Xu et al.,
ICLR 2020, arXiv:1907.05737. Official code: https://github.com/yuhuixu1993/PC-DARTS
(``model_search.py``: partial channels, ``betas_normal`` / ``betas_reduce`` edge normalization).
P-DARTS: Progressive Differentiable Architecture Search, Chen, Xie, Wu and Tian, ICCV 2019,
arXiv:1904.12760. Official code: https://github.com/chenxin061/pdarts (``model_search.py``:
per-edge candidate ``switches``, operation-level dropout ``p``).

Layout (official ``Network``; ``C = init_channels``): a 3x3 conv + BN stem with
``stem_multiplier * C`` channels, then ``layers`` :class:`SearchCell` s; cells ``layers // 3`` and
``2 * layers // 3`` reduce (channels doubled). All normal cells share ``alphas_normal``, all
reduction cells ``alphas_reduce``; the op weights of an edge are the softmax of its alphas over its
candidates. With ``edge_normalization`` (PC-DARTS) each edge output is also scaled by the softmax
of ``betas_*`` over the incoming edges of its node. The classifier (official global pooling +
linear) is the ``neck``/``head`` of the ``ImageClassifier`` that wraps this backbone.
"""
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from tessera_nas import derivation
from tessera_nas.genotypes import PRIMITIVES, Genotype
from tessera_nas.registry import MODELS

from ..operations import darts_stem
from .mixed_op import check_primitives
from .search_cell import SearchCell, check_edge_primitives, node_edge_softmax, num_cell_edges

__all__ = ['DARTSSearchBackbone']

ArchWeights = Union[torch.Tensor, List[torch.Tensor]]


@MODELS.register_module()
class DARTSSearchBackbone(BaseModule):
    """DARTS / PC-DARTS / P-DARTS search network with its architecture parameters.

    Args:
        in_channels (int): Channels of the input images.
        init_channels (int): ``C`` of the first cells (16 in DARTS and PC-DARTS, CIFAR-10).
        layers (int): Number of cells (8 in DARTS and PC-DARTS; 5, 11, 17 in the P-DARTS stages).
        steps (int): Intermediate nodes per cell (4).
        multiplier (int): Each cell concatenates its last ``multiplier`` states (4).
        stem_multiplier (int): The stem has ``stem_multiplier * C`` channels (3).
        primitives (Sequence[str]): Candidates of every edge (default the 8 DARTS primitives).
        edge_primitives (dict, optional): ``dict(normal=[...], reduce=[...])``, one candidate list
            per edge (``num_cell_edges(steps)`` = 14 lists each): the search space of a P-DARTS
            stage after pruning. Replaces ``primitives``.
        mixed_op (dict): Edge module config: ``dict(type='MixedOp')`` (DARTS, P-DARTS) or
            ``dict(type='PartialChannelMixedOp', k=4)`` (PC-DARTS).
        edge_normalization (bool): PC-DARTS edge normalization (``betas_normal``,
            ``betas_reduce``).
        op_dropout (float): P-DARTS operation-level dropout after the identity candidates (the
            initial rate of the stage; :meth:`set_op_dropout` schedules it).
        init_cfg (dict, optional): mmengine init config for the operation weights; ``None`` keeps
            PyTorch's defaults, as the official code. The architecture parameters are always
            ``1e-3 * randn`` (official ``_initialize_alphas``).

    Attributes:
        alphas_normal, alphas_reduce: The op parameters of each edge: one (num_edges, num_ops)
            ``nn.Parameter`` when every edge has the same number of candidates (as official),
            otherwise an ``nn.ParameterList`` of (num_ops_of_edge,) Parameters. Either way
            ``alphas_normal[e]`` is edge ``e``'s vector.
        betas_normal, betas_reduce: (num_edges,) edge parameters (only with
            ``edge_normalization``).
        edge_primitives (dict): ``normal`` / ``reduce`` tuples of per-edge candidate tuples.
        out_channels (int): Channels of the output feature map.

    Shapes: input (N, in_channels, H, W) with H, W divisible by 4; output ``(feature,)``, feature
    (N, out_channels, H / 4, W / 4).
    """

    def __init__(self, in_channels: int = 3, init_channels: int = 16, layers: int = 8, steps: int = 4,
                 multiplier: int = 4, stem_multiplier: int = 3, primitives: Sequence[str] = PRIMITIVES,
                 edge_primitives: Optional[Mapping[str, Sequence[Sequence[str]]]] = None,
                 mixed_op: Optional[dict] = None, edge_normalization: bool = False, op_dropout: float = 0.0,
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        for name, value in (('in_channels', in_channels), ('init_channels', init_channels), ('layers', layers),
                            ('steps', steps), ('stem_multiplier', stem_multiplier)):
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f'DARTSSearchBackbone: {name} must be a positive int, got {value!r}')
        if not isinstance(multiplier, int) or not 1 <= multiplier <= steps:
            raise ValueError(f'multiplier must be an int in [1, steps={steps}], got {multiplier!r}')
        num_edges = num_cell_edges(steps)
        if edge_primitives is None:
            shared = check_primitives(primitives, 'primitives')
            self.edge_primitives = dict(normal=(shared,) * num_edges, reduce=(shared,) * num_edges)
        else:
            if tuple(primitives) != PRIMITIVES:
                raise ValueError('give either primitives (the same candidates on every edge) or edge_primitives '
                                 '(per edge), not both')
            if not isinstance(edge_primitives, Mapping) or sorted(edge_primitives) != ['normal', 'reduce']:
                keys = sorted(edge_primitives) if isinstance(edge_primitives, Mapping) else edge_primitives
                raise ValueError(f'edge_primitives must be dict(normal=[...], reduce=[...]) with {num_edges} '
                                 f'candidate lists each, got {keys!r}')
            self.edge_primitives = {
                cell: check_edge_primitives(edge_primitives[cell], steps, f'edge_primitives.{cell}')
                for cell in ('normal', 'reduce')}
        mixed_op = dict(type='MixedOp') if mixed_op is None else dict(mixed_op)
        if 'op_dropout' in mixed_op and op_dropout:
            raise ValueError('set the operation-level dropout once: op_dropout or mixed_op.op_dropout')
        if op_dropout:
            mixed_op['op_dropout'] = op_dropout

        self.in_channels, self.init_channels, self.layers = in_channels, init_channels, layers
        self.steps, self.multiplier = steps, multiplier
        self.edge_normalization = bool(edge_normalization)
        self.mixed_op_cfg = mixed_op
        self.reduction_layers = (layers // 3, 2 * layers // 3)

        stem_channels = stem_multiplier * init_channels
        self.stem = darts_stem(in_channels, stem_channels)
        prev_prev, prev, channels = stem_channels, stem_channels, init_channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        for i in range(layers):
            reduction = i in self.reduction_layers
            if reduction:
                channels *= 2
            cell = SearchCell(steps, multiplier, prev_prev, prev, channels, reduction, reduction_prev,
                              self.edge_primitives['reduce' if reduction else 'normal'], mixed_op)
            reduction_prev = reduction
            self.cells.append(cell)
            prev_prev, prev = prev, cell.out_channels
        self.out_channels: int = prev

        self.alphas_normal = self._init_alphas(self.edge_primitives['normal'])
        self.alphas_reduce = self._init_alphas(self.edge_primitives['reduce'])
        if self.edge_normalization:
            self.betas_normal = nn.Parameter(1e-3 * torch.randn(num_edges))
            self.betas_reduce = nn.Parameter(1e-3 * torch.randn(num_edges))

    @staticmethod
    def _init_alphas(edge_primitives: Sequence[Sequence[str]]) -> Union[nn.Parameter, nn.ParameterList]:
        counts = {len(p) for p in edge_primitives}
        if len(counts) == 1:
            return nn.Parameter(1e-3 * torch.randn(len(edge_primitives), counts.pop()))
        return nn.ParameterList(nn.Parameter(1e-3 * torch.randn(len(p))) for p in edge_primitives)

    @property
    def num_edges(self) -> int:
        """Edges per cell."""
        return num_cell_edges(self.steps)

    # ----------------------------------------------------------------------------------- parameters
    def arch_parameters(self) -> List[nn.Parameter]:
        """The architecture parameters: alphas (and betas with edge normalization), in the order
        ``alphas_normal, alphas_reduce[, betas_normal, betas_reduce]`` (per-edge vectors in edge
        order when the alphas are a ParameterList)."""
        params: List[nn.Parameter] = []
        for alphas in (self.alphas_normal, self.alphas_reduce):
            params.extend([alphas] if isinstance(alphas, nn.Parameter) else list(alphas))
        if self.edge_normalization:
            params.extend([self.betas_normal, self.betas_reduce])
        return params

    def weight_parameters(self) -> List[nn.Parameter]:
        """Every other parameter (stem, cell operations): what the weight optimizer updates."""
        arch = {id(p) for p in self.arch_parameters()}
        return [p for p in self.parameters() if id(p) not in arch]

    # -------------------------------------------------------------------------------------- weights
    @staticmethod
    def _softmax_per_edge(alphas: Union[nn.Parameter, nn.ParameterList]) -> ArchWeights:
        if isinstance(alphas, nn.Parameter):
            return F.softmax(alphas, dim=-1)
        return [F.softmax(a, dim=-1) for a in alphas]

    def _weights(self) -> Dict[str, ArchWeights]:
        weights = dict(normal=self._softmax_per_edge(self.alphas_normal),
                       reduce=self._softmax_per_edge(self.alphas_reduce))
        if self.edge_normalization:
            weights['edge_normal'] = node_edge_softmax(self.betas_normal, self.steps)
            weights['edge_reduce'] = node_edge_softmax(self.betas_reduce, self.steps)
        return weights

    def arch_weights(self) -> Dict[str, ArchWeights]:
        """The softmaxed architecture weights, detached (for logging, plots, P-DARTS pruning).

        Returns:
            dict: ``normal`` / ``reduce``: a (num_edges, num_ops) tensor, or a list of per-edge
            (num_ops_of_edge,) tensors when the edges have different candidate counts (rows in the
            order of ``edge_primitives[cell][e]``); with edge normalization also ``edge_normal`` /
            ``edge_reduce``: (num_edges,) edge weights (softmax over each node's inputs).
        """
        with torch.no_grad():
            weights = self._weights()
        return {k: (v.detach() if isinstance(v, torch.Tensor) else [w.detach() for w in v])
                for k, v in weights.items()}

    def genotype(self) -> Genotype:
        """The discrete architecture by the official rule (see :mod:`tessera_nas.derivation`):
        per node the two incoming edges of largest non-``none`` weight, each with its best
        non-``none`` op; with edge normalization the op weights are first multiplied by the edge
        weights (official PC-DARTS ``genotype``)."""
        weights = self.arch_weights()
        edge_weights = None
        if self.edge_normalization:
            edge_weights = dict(normal=weights['edge_normal'], reduce=weights['edge_reduce'])
        return derivation.derive_genotype(weights['normal'], weights['reduce'], self.edge_primitives,
                                          self.steps, self.multiplier, edge_weights=edge_weights)

    def set_op_dropout(self, p: float) -> None:
        """Set the P-DARTS operation-level dropout rate of every edge (official ``update_p``)."""
        for cell in self.cells:
            cell.set_op_dropout(p)

    # -------------------------------------------------------------------------------------- forward
    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        """Run the supernet.

        Args:
            x (Tensor): (N, in_channels, H, W) images.

        Returns:
            tuple[Tensor]: ``(feature,)``, (N, out_channels, H / 4, W / 4).
        """
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f'DARTSSearchBackbone expects (N, {self.in_channels}, H, W) inputs, '
                             f'got {tuple(x.shape)}')
        weights = self._weights()
        s0 = s1 = self.stem(x)
        for cell in self.cells:
            kind = 'reduce' if cell.reduction else 'normal'
            s0, s1 = s1, cell(s0, s1, weights[kind], weights.get(f'edge_{kind}'))
        return (s1,)
