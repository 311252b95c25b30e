"""Temporal shift.

TSM: Temporal Shift Module for Efficient Video Understanding, Lin, Gan and Han, arXiv:1811.08383.
Official code: https://github.com/mit-han-lab/temporal-shift-module (``ops/temporal_shift.py``).

Frames of a clip are stacked in the batch dimension, (N*T, C, H, W). The shift moves the first
``C // shift_div`` channels one step backward in time (frame t receives frame t+1's values), the next
``C // shift_div`` channels one step forward (frame t receives frame t-1's) and leaves the rest in place; the
vacated first/last time steps are zero ("zero padding", the paper's offline, bi-directional TSM). It has no
parameters and no FLOPs; the following 2D convolution then mixes neighbouring frames. Inserted in the
residual branch ("residual shift", ``place='blockres'``) it keeps the spatial features of the identity path.
"""
from typing import Tuple

import torch
from torch import nn

SHIFT_PLACES = ('blockres', 'block')


def temporal_shift(x: torch.Tensor, num_segments: int, shift_div: int = 8) -> torch.Tensor:
    """Shift ``1/shift_div`` of the channels back and ``1/shift_div`` forward in time, zero padded.

    Args:
        x (Tensor): (N*T, C, H, W) frames, clip-major (the T frames of a clip are consecutive).
        num_segments (int): T, frames per clip.
        shift_div (int): Reciprocal of the fraction shifted in each direction (8 in the paper: 1/8 + 1/8).

    Returns:
        Tensor: (N*T, C, H, W); with ``fold = C // shift_div`` and ``y = out.view(N, T, C, H, W)``:
        ``y[:, t, :fold] = x[:, t + 1, :fold]`` (0 at t = T-1), ``y[:, t, fold:2 fold] = x[:, t - 1, fold:2 fold]``
        (0 at t = 0), ``y[:, :, 2 fold:] = x[:, :, 2 fold:]``.
    """
    if x.dim() != 4:
        raise ValueError(f'temporal_shift expects (N*T, C, H, W) frames, got shape {tuple(x.shape)}')
    if num_segments < 1 or shift_div < 2:
        raise ValueError(f'need num_segments >= 1 and shift_div >= 2, got {num_segments} and {shift_div}')
    nt, c, h, w = x.shape
    if nt % num_segments != 0:
        raise ValueError(f'{nt} frames cannot be split into clips of num_segments={num_segments}')
    x = x.view(nt // num_segments, num_segments, c, h, w)
    fold = c // shift_div
    out = torch.zeros_like(x)
    out[:, :-1, :fold] = x[:, 1:, :fold]  # shift left: frame t sees t + 1
    out[:, 1:, fold:2 * fold] = x[:, :-1, fold:2 * fold]  # shift right: frame t sees t - 1
    out[:, :, 2 * fold:] = x[:, :, 2 * fold:]  # not shifted
    return out.view(nt, c, h, w)


class TemporalShift(nn.Module):
    """Applies :func:`temporal_shift` to its input, then the wrapped module ``net``.

    Args:
        net (nn.Module): The module run on the shifted frames (a block's first conv, or a whole block).
        num_segments (int): T, frames per clip.
        shift_div (int): 1/shift_div of the channels move each way.
    """

    def __init__(self, net: nn.Module, num_segments: int = 8, shift_div: int = 8):
        super().__init__()
        if num_segments < 1 or shift_div < 2:
            raise ValueError(f'need num_segments >= 1 and shift_div >= 2, got {num_segments} and {shift_div}')
        self.net = net
        self.num_segments, self.shift_div = num_segments, shift_div

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(temporal_shift(x, self.num_segments, self.shift_div))

    def extra_repr(self) -> str:
        return f'num_segments={self.num_segments}, shift_div={self.shift_div}'


def make_temporal_shift(backbone: nn.Module, stage_names: Tuple[str, ...], num_segments: int,
                        shift_div: int = 8, place: str = 'blockres') -> int:
    """Insert temporal shifts into the residual blocks of a ResNet, as the official ``make_temporal_shift``.

    Args:
        backbone (nn.Module): A ResNet whose stages (``nn.Sequential`` of blocks with a ``conv1``) are the
            attributes ``stage_names``.
        stage_names (tuple[str]): e.g. ``('layer1', 'layer2', 'layer3', 'layer4')``.
        num_segments (int): T, frames per clip.
        shift_div (int): 1/shift_div of the channels move each way.
        place (str): ``'blockres'``: shift inside the residual branch, before each block's ``conv1`` (the
            identity path stays unshifted; the paper's choice); every second block only when a stage has 23
            or more blocks (ResNet-101), as the official code. ``'block'``: shift the input of whole blocks
            (in-place shift, which the paper shows harms spatial modelling).

    Returns:
        int: number of shifts inserted.
    """
    if place not in SHIFT_PLACES:
        raise ValueError(f'invalid shift place {place!r}; valid: {SHIFT_PLACES}')
    stages = [getattr(backbone, name) for name in stage_names]
    n_round = 2 if len(stages) > 2 and len(stages[2]) >= 23 else 1
    inserted = 0
    for name, stage in zip(stage_names, stages):
        blocks = list(stage.children())
        for i, block in enumerate(blocks):
            if place == 'block':
                blocks[i] = TemporalShift(block, num_segments, shift_div)
                inserted += 1
            elif i % n_round == 0:
                if not hasattr(block, 'conv1'):
                    raise TypeError(f'{name}[{i}] ({type(block).__name__}) has no conv1 for a residual shift')
                block.conv1 = TemporalShift(block.conv1, num_segments, shift_div)
                inserted += 1
        setattr(backbone, name, nn.Sequential(*blocks))
    return inserted
