"""Co-occurrence Feature Learning from Skeleton Data for Action Recognition and Detection with Hierarchical
Aggregation (HCN). Chao Li, Qiaoyong Zhong, Di Xie, Shiliang Pu, IJCAI 2018, arXiv:1804.06055.
Code of the authors' institute: https://github.com/hikvision-research/skelact (``skelact/models/backbones/hcn.py``);
an earlier third-party reproduction: https://github.com/huguyuehuhu/HCN-pytorch. Both read for the defaults; not
copied.

The hierarchy, per person and per stream (a skeleton sequence ``x`` (C, T, V): C coordinates, T frames, V joints):

1. point level: ``conv1`` (1x1) and ``conv2`` (3x1, over time only) see each joint on its own, the joints being the
   second spatial axis of an (C, T, V) map: every joint gets its own features, with shared weights;
2. the transpose (C', T, V) -> (V, T, C'): the joints become the CHANNELS, so ``conv3`` (3x3 over (T, C')) sums
   over all joints at once: each of its outputs is a function of every joint (global co-occurrence aggregation)
   rather than of 3 neighbouring joints as a conv over (T, V) would be (local aggregation, the paper's ablation:
   ``transpose=False``);
3. ``conv4``; the two streams, coordinates ``x_t`` and motion ``x_t - x_{t-1}`` (0 at t = 0, as the authors'
   institute's code), each with its own conv1-conv4, are concatenated along the channels; ``conv5``, ``conv6``;
4. multi-person max-out: the conv6 features of the M persons are fused by an element-wise maximum;
5. ``fc7`` on the flattened map. The classifier ``fc8`` is the head (``I3DHead(dropout=0)``).

ReLU only after conv1, conv5, conv6 and fc7 (none after conv2 - conv4), dropout 0.5 after conv4, conv5, conv6 (after
the max-out) and fc7, as the paper's Figure 3 and the official code. Initialisation as the authors' institute's code:
Xavier-uniform convs, N(0, 0.01) linear layers, zero biases.
"""
from typing import NamedTuple, Optional, Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_video.registry import MODELS


class Layer(NamedTuple):
    """One row of the layer table."""
    name: str
    kernel: Optional[Tuple[int, int]]  # (time, width) of a conv; None for a fully connected layer
    channels: int  # output channels (features for fc7)
    pool: bool  # a 2x2 / stride-2 max pool after it
    relu: bool
    dropout: float  # dropout after it (conv6's comes after the multi-person max-out)


# The paper's Figure 3. Columns: name, kernel (T, width), output channels, '/2' max pool, ReLU, dropout.
# conv1-conv4 exist once per stream (coordinates, motion); conv5 takes their concatenation (2 x 64 channels).
HCN_LAYERS = (
    Layer('conv1', (1, 1), 64, False, True, 0.0),    # point level
    Layer('conv2', (3, 1), 32, False, False, 0.0),   # point level, temporal; then the transpose
    Layer('conv3', (3, 3), 32, True, False, 0.0),    # global co-occurrence (joints are channels)
    Layer('conv4', (3, 3), 64, True, False, 0.5),
    Layer('conv5', (3, 3), 128, True, True, 0.5),    # on the concatenated streams
    Layer('conv6', (3, 3), 256, True, True, 0.5),    # then max-out over persons, then dropout
    Layer('fc7', None, 256, False, True, 0.5),
)
STREAM_LAYERS = ('conv1', 'conv2', 'conv3', 'conv4')


def frame_difference(x: torch.Tensor) -> torch.Tensor:
    """Motion stream input: ``x`` (..., C, T, V) -> ``m`` with ``m[..., t, :] = x[..., t, :] - x[..., t-1, :]`` and
    ``m[..., 0, :] = 0``."""
    return torch.cat([torch.zeros_like(x[..., :1, :]), x[..., 1:, :] - x[..., :-1, :]], dim=-2)


def conv_block(layer: Layer, in_channels: int) -> nn.Sequential:
    k = layer.kernel
    mods = [nn.Conv2d(in_channels, layer.channels, k, padding=(k[0] // 2, k[1] // 2))]
    if layer.pool:
        mods.append(nn.MaxPool2d(2, stride=2))
    if layer.relu:
        mods.append(nn.ReLU())
    return nn.Sequential(*mods)


class HCNStream(nn.Module):
    """conv1-conv4 of one stream: point-level convs over (T, V), the transpose, co-occurrence convs.

    Shapes: (N, C, T, V) -> point features (N, 32, T, V) -> transpose (N, V, T, 32) -> (N, 64, T / 4, 32 / 4); with
    ``transpose=False``: (N, 32, T, V) -> (N, 64, T / 4, V / 4) (floors).
    """

    def __init__(self, in_channels: int, num_joints: int, layers: Tuple[Layer, ...], transpose: bool = True):
        super().__init__()
        spec = {layer.name: layer for layer in layers}
        self.transpose = transpose
        self.conv1 = conv_block(spec['conv1'], in_channels)
        self.conv2 = conv_block(spec['conv2'], spec['conv1'].channels)
        self.conv3 = conv_block(spec['conv3'], num_joints if transpose else spec['conv2'].channels)
        self.conv4 = conv_block(spec['conv4'], spec['conv3'].channels)
        self.drop4 = nn.Dropout(spec['conv4'].dropout)

    def point_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, T, V) -> (N, C', T, V): each joint's features depend on that joint only."""
        return self.conv2(self.conv1(x))

    def cooccurrence_features(self, point: torch.Tensor) -> torch.Tensor:
        """Point features (N, C', T, V) -> conv3 features: (N, 32, T / 2, C' / 2) after the transpose (every
        output mixes all joints), (N, 32, T / 2, V / 2) without it (3 neighbouring joints per output)."""
        if self.transpose:
            point = point.permute(0, 3, 2, 1).contiguous()  # (N, V, T, C'): joints are channels
        return self.conv3(point)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.drop4(self.conv4(self.cooccurrence_features(self.point_features(x))))


@MODELS.register_module()
class HCN(BaseModule):
    """Hierarchical co-occurrence network on skeleton sequences in mmaction2's pose layout.

    Args:
        in_channels (int): Coordinates per joint C (3 for NTU's camera-space metres).
        num_joints (int): Joints per skeleton V (25 for NTU).
        clip_len (int): Frames per sequence T (fc7 flattens the conv6 map, so T is fixed; 32 in the paper).
        transpose (bool): Move the joints to the channels before conv3 (HCN, global co-occurrence). False: keep
            joints as a spatial axis of every conv (the paper's local-aggregation ablation).
        layers (tuple[Layer]): The layer table (default ``HCN_LAYERS``).
        init_cfg (dict, optional): Default: Xavier-uniform convs, N(0, 0.01) linear layers, zero biases.

    Shapes: inputs (N, M, T, V, C) (M persons; absent persons are zeros, as NTU's padding) -> (N, 256) fc7
    features; :meth:`person_features` gives the (N, M, D) conv6 features before the max-out.
    """

    def __init__(self, in_channels: int = 3, num_joints: int = 25, clip_len: int = 32, transpose: bool = True,
                 layers: Tuple[Layer, ...] = HCN_LAYERS, init_cfg=None):
        if init_cfg is None:
            init_cfg = [dict(type='Xavier', layer='Conv2d', distribution='uniform', bias=0.0),
                        dict(type='Normal', layer='Linear', std=0.01, bias=0.0)]
        super().__init__(init_cfg=init_cfg)
        layers = tuple(Layer(*row) for row in layers)
        names = tuple(layer.name for layer in layers)
        expected = STREAM_LAYERS + ('conv5', 'conv6', 'fc7')
        if names != expected:
            raise ValueError(f'HCN layer table must have the rows {expected} in this order, got {names}')
        if in_channels <= 0 or num_joints <= 0 or clip_len < 16:
            raise ValueError(f'need in_channels > 0, num_joints > 0, clip_len >= 16 (four /2 pools), got '
                             f'{in_channels}, {num_joints}, {clip_len}')
        spec = {layer.name: layer for layer in layers}
        self.in_channels, self.num_joints, self.clip_len, self.transpose = in_channels, num_joints, clip_len, transpose
        self.layers = layers
        self.stream_coord = HCNStream(in_channels, num_joints, layers, transpose)
        self.stream_motion = HCNStream(in_channels, num_joints, layers, transpose)
        self.conv5 = conv_block(spec['conv5'], 2 * spec['conv4'].channels)
        self.drop5 = nn.Dropout(spec['conv5'].dropout)
        self.conv6 = conv_block(spec['conv6'], spec['conv5'].channels)
        self.drop6 = nn.Dropout(spec['conv6'].dropout)
        t, w = self.conv6_map_size()
        self.feat_dim = spec['conv6'].channels * t * w
        self.fc7 = nn.Sequential(nn.Linear(self.feat_dim, spec['fc7'].channels), nn.ReLU(),
                                 nn.Dropout(spec['fc7'].dropout))
        self.out_channels = spec['fc7'].channels

    def conv6_map_size(self) -> Tuple[int, int]:
        """(T, width) of the conv6 map: four /2 max pools (conv3-conv6) of (T, C') or (T, V)."""
        width = dict((layer.name, layer) for layer in self.layers)['conv2'].channels if self.transpose \
            else self.num_joints
        t = self.clip_len
        for _ in range(4):
            t, width = t // 2, width // 2
        if t == 0 or width == 0:
            raise ValueError(f'the conv6 map is empty: (T, width) = ({self.clip_len}, {width}) pooled 4 times')
        return t, width

    def check_inputs(self, x: torch.Tensor) -> None:
        if x.dim() != 5:
            raise ValueError(f'HCN expects skeletons (N, M, T, V, C), got shape {tuple(x.shape)}')
        _, _, t, v, c = x.shape
        if v != self.num_joints:
            raise ValueError(f'HCN got skeletons with {v} joints (V, axis 3 of (N, M, T, V, C) shape '
                             f'{tuple(x.shape)}); expected num_joints={self.num_joints}')
        if c != self.in_channels:
            raise ValueError(f'HCN got {c} coordinates per joint (C, axis 4 of shape {tuple(x.shape)}); expected '
                             f'in_channels={self.in_channels}')
        if t != self.clip_len:
            raise ValueError(f'HCN got {t} frames (T, axis 2 of shape {tuple(x.shape)}); expected clip_len='
                             f'{self.clip_len} (resize sequences with PoseResize)')

    def person_features(self, x: torch.Tensor) -> torch.Tensor:
        """(N, M, T, V, C) -> (N, M, D) conv6 features of each person, flattened (before the max-out)."""
        self.check_inputs(x)
        n, m, t, v, c = x.shape
        x = x.permute(0, 1, 4, 2, 3).reshape(n * m, c, t, v)  # (N * M, C, T, V)
        out = torch.cat([self.stream_coord(x), self.stream_motion(frame_difference(x))], dim=1)
        out = self.conv6(self.drop5(self.conv5(out)))
        return out.reshape(n, m, -1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(N, M, T, V, C) -> (N, 256): max over the persons, dropout, fc7."""
        out = self.person_features(x).max(dim=1).values
        return self.fc7(self.drop6(out))
