"""The macro network of the tabular benchmark (NAS-Bench-201's, scaled down).

NAS-Bench-201 (arXiv:2001.00326, ``models/cell_infers/tiny_network.py`` and ``cell_operations.py``
of D-X-Y/AutoDL-Projects): a 3x3 conv + BN stem, three stages of ``N`` identical cells at ``C``,
``2C`` and ``4C`` channels separated by residual reduction blocks (``ResNetBasicblock`` at stride
2), then BN + ReLU, global average pooling and a linear classifier. The operations are NB201's:
``nor_conv_kxk`` = ReLU -> conv (no bias) -> BN (affine), ``avg_pool_3x3`` = average pooling,
stride 1, padding excluded from the counts (channels are equal inside a cell, so no
preprocessing conv), ``skip_connect`` = identity, ``none`` = zero. Node ``j`` of a cell is the sum of
its incoming edges; ``none`` edges are not built (they add nothing, as in NB201's ``InferCell``).

Here ``C = 8`` and ``N = 1`` by default (NB201: ``C = 16``, ``N = 5``) for 16 x 16 single-channel
inputs, so one architecture trains in a few seconds on one CPU thread.
"""
from typing import Callable, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch import nn

from . import space

__all__ = ['ReLUConvBN', 'ResNetBasicBlock', 'Cell', 'MacroLayers', 'macro_layers', 'TinyNetwork', 'build_op']


class ReLUConvBN(nn.Sequential):
    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int, padding: int):
        super().__init__(nn.ReLU(inplace=False),
                         nn.Conv2d(c_in, c_out, kernel_size, stride=stride, padding=padding, bias=False),
                         nn.BatchNorm2d(c_out))


def build_op(name: str, channels: int) -> nn.Module:
    """The stride-1 operation ``name`` at ``channels`` (``none`` has no module: returns ``None``)."""
    if name == 'none':
        return None
    if name == 'skip_connect':
        return nn.Identity()
    if name == 'nor_conv_1x1':
        return ReLUConvBN(channels, channels, 1, 1, 0)
    if name == 'nor_conv_3x3':
        return ReLUConvBN(channels, channels, 3, 1, 1)
    if name == 'avg_pool_3x3':
        return nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
    raise space.GenotypeError(f'op {name!r} is not in the space {list(space.OPS)}')


class ResNetBasicBlock(nn.Module):
    """NB201's reduction block: two ReLU-conv-BN (the first at stride 2) + avg-pool / 1x1-conv shortcut."""

    def __init__(self, c_in: int, c_out: int, stride: int = 2):
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, stride, 1)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
        self.downsample = nn.Sequential(nn.AvgPool2d(2, stride=2, padding=0),
                                        nn.Conv2d(c_in, c_out, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Cell(nn.Module):
    """One NB201 cell: ``(N, C, H, W) -> (N, C, H, W)``."""

    def __init__(self, genotype: space.ArchLike, channels: int):
        super().__init__()
        self.ops_names = space.ops_of(genotype)
        self.edges = nn.ModuleDict()
        for (i, j), op in zip(space.EDGES, self.ops_names):
            module = build_op(op, channels)
            if module is not None:
                self.edges[f'{i}_{j}'] = module

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        nodes = [x]
        for j in range(1, space.NUM_NODES):
            out = None
            for i in range(j):
                key = f'{i}_{j}'
                if key in self.edges:
                    y = self.edges[key](nodes[i])
                    out = y if out is None else out + y
            nodes.append(torch.zeros_like(x) if out is None else out)
        return nodes[-1]


class MacroLayers(NamedTuple):
    """The parts of the macro network (see :func:`macro_layers`)."""
    stem: nn.Module
    layers: List[nn.Module]
    cell_shapes: List[Tuple[int, Optional[int]]]
    lastact: nn.Module
    out_channels: int


def macro_layers(make_cell: Callable[[int], nn.Module], channels: int = 8, cells_per_stage: int = 1,
                 in_channels: int = 1, input_size: Optional[int] = None) -> MacroLayers:
    """Stem, the three stages of ``cells_per_stage`` cells ``make_cell(c)`` at ``C, 2C, 4C`` channels with a
    residual reduction before stages 2 and 3, and the final BN-ReLU: the skeleton that the table's networks and
    every supernet on its space share. Modules are created in forward order (same seeded init everywhere);
    ``cell_shapes`` holds ``(channels, side)`` of each cell (side ``None`` without ``input_size``)."""
    stem = nn.Sequential(nn.Conv2d(in_channels, channels, 3, padding=1, bias=False), nn.BatchNorm2d(channels))
    layers, shapes = [], []
    c, s = channels, input_size
    for stage in range(3):
        if stage > 0:
            layers.append(ResNetBasicBlock(c, 2 * c, 2))
            c, s = 2 * c, (None if s is None else s // 2)
        for _ in range(cells_per_stage):
            layers.append(make_cell(c))
            shapes.append((c, s))
    lastact = nn.Sequential(nn.BatchNorm2d(c), nn.ReLU(inplace=True))
    return MacroLayers(stem, layers, shapes, lastact, c)


class TinyNetwork(nn.Module):
    """Stem -> N cells -> reduction -> N cells -> reduction -> N cells -> BN-ReLU -> GAP -> linear.

    Args:
        genotype: an NB201 genotype string, an index of the space or the 6 edge ops.
        channels (int): ``C`` of the first stage (then ``2C``, ``4C``).
        cells_per_stage (int): ``N``.
        in_channels (int): Image channels.
        num_classes (int): Classes.
    """

    def __init__(self, genotype: space.ArchLike, channels: int = 8, cells_per_stage: int = 1,
                 in_channels: int = 1, num_classes: int = 10):
        super().__init__()
        self.genotype = space.to_str(space.ops_of(genotype))
        macro = macro_layers(lambda c: Cell(genotype, c), channels, cells_per_stage, in_channels)
        self.stem = macro.stem
        self.cells = nn.Sequential(*macro.layers)
        self.lastact = macro.lastact
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.classifier = nn.Linear(macro.out_channels, num_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.lastact(self.cells(self.stem(x)))
        return self.classifier(self.global_pool(x).flatten(1))
