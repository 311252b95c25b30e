"""The DARTS evaluation network for CIFAR-sized images, built from a genotype.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/model.py``,
``NetworkCIFAR``); PC-DARTS and P-DARTS evaluate their genotypes with the same network.

Layout (``C = init_channels``, ``L = layers``): a 3x3 conv + BN stem with ``stem_multiplier * C``
channels, then ``L`` cells. Cells ``L // 3`` and ``2 * L // 3`` are reduction cells (stride 2 on
the edges from the two cell inputs, channels doubled); the others are normal cells. Every cell
preprocesses its two inputs to ``C_cell`` channels (ReLU-1x1 conv-BN, or FactorizedReduce for the
input that precedes a reduction) and outputs ``len(concat) * C_cell`` channels. The auxiliary
head reads the output of cell ``2 * L // 3``; global average pooling and a linear classifier end
the network. Drop path zeroes whole non-identity edges per sample during training.
"""
from typing import Mapping, Optional, Tuple, Union

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_nas.genotypes import Genotype, get_genotype
from tessera_nas.registry import MODELS

from .operations import OPS, FactorizedReduce, ReLUConvBN, darts_stem

__all__ = ['drop_path', 'Cell', 'AuxiliaryHeadCIFAR', 'DARTSNetwork']


def drop_path(x: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """Zero each sample of ``x`` with probability ``drop_prob`` and scale the kept ones by
    ``1 / (1 - drop_prob)`` (the official ``utils.drop_path``, without its in-place ops).

    Args:
        x (Tensor): (N, C, H, W) output of one edge of a cell.
        drop_prob (float): Probability in [0, 1) of dropping a sample's edge.

    Returns:
        Tensor: (N, C, H, W).
    """
    if drop_prob <= 0.:
        return x
    if not 0. <= drop_prob < 1.:
        raise ValueError(f'drop_prob must lie in [0, 1), got {drop_prob}')
    keep_prob = 1. - drop_prob
    mask = torch.empty((x.size(0),) + (1,) * (x.dim() - 1), dtype=x.dtype, device=x.device)
    mask.bernoulli_(keep_prob)
    return x / keep_prob * mask


class Cell(nn.Module):
    """A normal or reduction cell of a genotype.

    Args:
        genotype (Genotype): The architecture.
        prev_prev_channels (int): Channels of input state 0 (the cell before the previous one).
        prev_channels (int): Channels of input state 1 (the previous cell).
        channels (int): Channels ``C`` of every intermediate node.
        reduction (bool): Reduction cell (stride 2 on edges from the inputs) or normal cell.
        reduction_prev (bool): The previous cell was a reduction cell, so state 0 has twice the
            resolution of state 1 and is reduced by a FactorizedReduce.

    Shapes: s0 (N, prev_prev_channels, H0, W0), s1 (N, prev_channels, H, W) with H0 = 2H if
    ``reduction_prev`` else H -> (N, len(concat) * C, H / s, W / s), s = 2 if ``reduction`` else 1.
    """

    def __init__(self, genotype: Genotype, prev_prev_channels: int, prev_channels: int, channels: int,
                 reduction: bool, reduction_prev: bool):
        super().__init__()
        self.reduction = reduction
        if reduction_prev:
            self.preprocess0 = FactorizedReduce(prev_prev_channels, channels)
        else:
            self.preprocess0 = ReLUConvBN(prev_prev_channels, channels, 1, 1, 0)
        self.preprocess1 = ReLUConvBN(prev_channels, channels, 1, 1, 0)
        edges = genotype.reduce if reduction else genotype.normal
        concat = genotype.reduce_concat if reduction else genotype.normal_concat
        self._steps = len(edges) // 2
        self._concat = tuple(concat)
        self.multiplier = len(concat)
        self._indices = tuple(index for _, index in edges)
        self._ops = nn.ModuleList(
            OPS[name](channels, 2 if reduction and index < 2 else 1, True) for name, index in edges)

    def forward(self, s0: torch.Tensor, s1: torch.Tensor, drop_prob: float = 0.) -> torch.Tensor:
        states = [self.preprocess0(s0), self.preprocess1(s1)]
        for i in range(self._steps):
            op1, op2 = self._ops[2 * i], self._ops[2 * i + 1]
            h1 = op1(states[self._indices[2 * i]])
            h2 = op2(states[self._indices[2 * i + 1]])
            if self.training and drop_prob > 0.:
                if not isinstance(op1, nn.Identity):
                    h1 = drop_path(h1, drop_prob)
                if not isinstance(op2, nn.Identity):
                    h2 = drop_path(h2, drop_prob)
            states.append(h1 + h2)
        return torch.cat([states[i] for i in self._concat], dim=1)


class AuxiliaryHeadCIFAR(nn.Module):
    """The auxiliary classifier of the official code, for 8x8 feature maps (32 px images).

    ReLU -> 5x5/3 average pooling (2x2) -> 1x1 conv 128 -> BN -> ReLU -> 2x2 conv 768 -> BN ->
    ReLU -> Linear.

    Shapes: (N, C, 8, 8) -> (N, num_classes).
    """

    def __init__(self, in_channels: int, num_classes: int):
        super().__init__()
        self.features = nn.Sequential(
            nn.ReLU(inplace=False),  # the official in-place ReLU would rewrite the cell output
            nn.AvgPool2d(5, stride=3, padding=0, count_include_pad=False),
            nn.Conv2d(in_channels, 128, 1, bias=False),
            nn.BatchNorm2d(128),
            nn.ReLU(inplace=True),
            nn.Conv2d(128, 768, 2, bias=False),
            nn.BatchNorm2d(768),
            nn.ReLU(inplace=True))
        self.classifier = nn.Linear(768, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not (8 <= x.size(2) <= 10 and 8 <= x.size(3) <= 10):
            raise ValueError(f'the CIFAR auxiliary head expects 8x8 feature maps (32x32 input images), '
                             f'got {tuple(x.shape[2:])}; pad or resize the inputs to 32 px')
        x = self.features(x)
        return self.classifier(x.flatten(1))


@MODELS.register_module()
class DARTSNetwork(BaseModule):
    """DARTS evaluation network (``NetworkCIFAR`` of the official code) from a genotype.

    Used as the backbone of an ``ImageClassifier``: with ``num_classes`` it ends with the
    classifier (and, when ``auxiliary``, the auxiliary head), so it returns logits and pairs with
    :class:`~tessera_nas.models.AuxiliaryClsHead` (aux loss weight 0.4, as the official
    ``train.py``) or any ``ClsHead``. With ``num_classes=None`` it returns the pooled feature and
    pairs with a ``LinearClsHead`` of ``out_channels`` inputs.

    Args:
        genotype (str | dict | Genotype): A published genotype by name (``'DARTS_V2'``, see
            :data:`tessera_nas.genotypes.GENOTYPES`), a dict with the four genotype fields, or a
            :class:`Genotype`.
        init_channels (int): ``C``, channels of the first cells (36 for the CIFAR-10 networks).
        layers (int): Number of cells (20 for CIFAR-10).
        auxiliary (bool): Build the auxiliary head on the output of cell ``2 * layers // 3``.
        num_classes (int, optional): Classes of the classifier; ``None`` ends the network at the
            pooled feature (then ``auxiliary`` must be False).
        drop_path_prob (float): Drop-path probability. Used as is, or as the final value of the
            official linear schedule when a ``DropPathProbHook`` is in the config (the hook sets
            :attr:`drop_path_prob` from :attr:`max_drop_path_prob` every epoch).
        in_channels (int): Channels of the input images.
        stem_multiplier (int): The stem has ``stem_multiplier * init_channels`` channels.
        init_cfg (dict, optional): mmengine init config; ``None`` keeps PyTorch's default
            initialisation, as the official code.

    Shapes: input (N, in_channels, H, W), H and W divisible by 4 (32 with the auxiliary head).
    Output: a tuple ``(logits_aux, logits)`` of (N, num_classes) tensors in training mode with
    ``auxiliary``, ``(logits,)`` otherwise; ``(feature,)`` of shape (N, out_channels) when
    ``num_classes`` is None.
    """

    def __init__(self, genotype: Union[str, Mapping, Genotype], init_channels: int = 36, layers: int = 20,
                 auxiliary: bool = False, num_classes: Optional[int] = 10, drop_path_prob: float = 0.,
                 in_channels: int = 3, stem_multiplier: int = 3, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.genotype = get_genotype(genotype)
        if layers < 3:
            raise ValueError(f'layers must be >= 3 (two reduction cells and a normal cell), got {layers}')
        if init_channels <= 0 or in_channels <= 0 or stem_multiplier <= 0:
            raise ValueError(f'init_channels, in_channels and stem_multiplier must be positive, got '
                             f'{init_channels}, {in_channels}, {stem_multiplier}')
        if num_classes is not None and num_classes <= 0:
            raise ValueError(f'num_classes must be positive or None, got {num_classes}')
        if auxiliary and num_classes is None:
            raise ValueError('auxiliary=True needs num_classes (the auxiliary head is a classifier)')
        if not 0. <= drop_path_prob < 1.:
            raise ValueError(f'drop_path_prob must lie in [0, 1), got {drop_path_prob}')
        self.layers, self.auxiliary, self.num_classes = layers, auxiliary, num_classes
        self.in_channels = in_channels
        self.max_drop_path_prob = float(drop_path_prob)
        self.drop_path_prob = float(drop_path_prob)
        self.reduction_layers = (layers // 3, 2 * layers // 3)
        self.aux_layer = 2 * layers // 3

        stem_channels = stem_multiplier * init_channels
        self.stem = darts_stem(in_channels, stem_channels)
        prev_prev, prev, channels = stem_channels, stem_channels, init_channels
        self.cells = nn.ModuleList()
        reduction_prev = False
        aux_channels = None
        for i in range(layers):
            reduction = i in self.reduction_layers
            if reduction:
                channels *= 2
            cell = Cell(self.genotype, prev_prev, prev, channels, reduction, reduction_prev)
            reduction_prev = reduction
            self.cells.append(cell)
            prev_prev, prev = prev, cell.multiplier * channels
            if i == self.aux_layer:
                aux_channels = prev
        self.aux_channels: int = aux_channels
        self.out_channels: int = prev
        if auxiliary:
            self.auxiliary_head = AuxiliaryHeadCIFAR(aux_channels, num_classes)
        self.global_pooling = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(prev, num_classes) if num_classes is not None else None

    def forward_features(self, x: torch.Tensor) -> Tuple[Optional[torch.Tensor], torch.Tensor]:
        """Run stem and cells.

        Returns:
            tuple: ``(aux_input, feature)``: the (N, aux_channels, H/4, W/4) output of cell
            ``2 * layers // 3`` (None without the auxiliary head) and the pooled (N, out_channels)
            feature.
        """
        if x.dim() != 4 or x.size(1) != self.in_channels:
            raise ValueError(f'DARTSNetwork expects (N, {self.in_channels}, H, W) inputs, got {tuple(x.shape)}')
        aux_input = None
        s0 = s1 = self.stem(x)
        for i, cell in enumerate(self.cells):
            s0, s1 = s1, cell(s0, s1, self.drop_path_prob)
            if i == self.aux_layer and self.auxiliary:
                aux_input = s1
        return aux_input, self.global_pooling(s1).flatten(1)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        aux_input, feature = self.forward_features(x)
        if self.classifier is None:
            return (feature,)
        logits = self.classifier(feature)
        if self.auxiliary and self.training:
            return self.auxiliary_head(aux_input), logits
        return (logits,)

    def num_parameters(self, exclude_auxiliary: bool = True) -> int:
        """Parameter count; by default without the auxiliary head, as the official
        ``utils.count_parameters_in_MB`` (which skips names containing ``'auxiliary'``)."""
        return sum(p.numel() for name, p in self.named_parameters()
                   if not (exclude_auxiliary and 'auxiliary' in name))
