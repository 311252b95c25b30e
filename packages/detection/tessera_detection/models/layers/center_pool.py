"""CenterNet++'s pooling: center pooling and cascade corner pooling, built from mmcv's ``CornerPool``.

"CenterNet++ for Object Detection", Kaiwen Duan, Song Bai, Lingxi Xie, Honggang Qi, Qingming Huang, Qi Tian,
arXiv:2204.08394 (the journal extension of "CenterNet: Keypoint Triplets for Object Detection", ICCV 2019,
arXiv:1904.08189). Official code: github.com/Duankaiwen/CenterNet (single-resolution, hourglass:
``models/CenterNet-52.py``, classes ``pool`` = cascade corner pooling and ``pool_cross`` = center pooling) and
github.com/Duankaiwen/PyCenterNet (multi-resolution). mmcv has the four directional poolings, not these two.

mmcv's ``CornerPool(mode)`` is a running max over one axis of an ``(N, C, H, W)`` map::

    'top':    P[y, x] = max_{y' >= y} F[y', x]      (looks down the column)
    'bottom': P[y, x] = max_{y' <= y} F[y', x]      (looks up the column)
    'left':   P[y, x] = max_{x' >= x} F[y, x']      (looks right along the row)
    'right':  P[y, x] = max_{x' <= x} F[y, x']      (looks left along the row)

**Center pooling** (paper Sec. 3.2, official ``pool_cross``): the maximum over the whole column of one
feature map plus the maximum over the whole row of another, i.e. ``bottom(top(A))`` + ``right(left(B))``::

    CP(A, B)[y, x] = max_{y'} A[y', x] + max_{x'} B[y, x']

**Cascade corner pooling** (official ``pool``, top-left: ``pool1 = top``, ``pool2 = left``): each of the two
branches first takes the maximum along the corner's boundary, adds it to a second feature map, and only then
pools into the object (a 3x3 conv sits between, as in the official code)::

    branch_1 = top ( conv3x3( F_p1 + left(F_look1) ) )      boundary max along the row, then down the column
    branch_2 = left( conv3x3( F_p2 + top (F_look2) ) )      boundary max along the column, then along the row

Bottom-right is the same with ``bottom`` / ``right``. Around either pooling, the module is mmdet's
``BiCornerPool`` (= the official CornerNet/CenterNet ``pool`` module)::

    out = conv2( relu( aftpool_conv(branch_1 + branch_2) + conv1(F) ) )
"""
from typing import Sequence

import torch.nn as nn
from mmcv.cnn import ConvModule
from mmcv.ops import CornerPool
from mmengine.model import BaseModule
from torch import Tensor

DIRECTIONS = ('top', 'bottom', 'left', 'right')


def _check_directions(directions: Sequence[str]) -> None:
    if len(directions) != 2 or any(d not in DIRECTIONS for d in directions):
        raise ValueError(f'directions must be two of {DIRECTIONS}, got {directions!r}')


def center_pool_max(col_feat: Tensor, row_feat: Tensor) -> Tensor:
    """Center pooling without convolutions: ``max over the column of col_feat + max over the row of row_feat``
    at every position, from mmcv's ``CornerPool`` ('top' then 'bottom', 'left' then 'right')."""
    col = CornerPool('bottom')(CornerPool('top')(col_feat))
    row = CornerPool('right')(CornerPool('left')(row_feat))
    return col + row


def cascade_corner_max(look_feat: Tensor, base_feat: Tensor, boundary: str, inner: str,
                       transform: nn.Module = None) -> Tensor:
    """One branch of cascade corner pooling: ``inner( transform( base_feat + boundary(look_feat) ) )``.

    Args:
        look_feat, base_feat (Tensor): (N, C, H, W) maps.
        boundary (str): direction of the boundary max (for the top-left corner's first branch: 'left').
        inner (str): direction of the max into the object (then: 'top').
        transform (nn.Module, optional): applied between the two poolings (the official 3x3 conv); identity
            if None.
    """
    _check_directions((boundary, inner))
    x = base_feat + CornerPool(boundary)(look_feat)
    if transform is not None:
        x = transform(x)
    return CornerPool(inner)(x)


class _PoolModule(BaseModule):
    """Shared tail of the corner/center pooling modules (mmdet's ``BiCornerPool`` without its pooling)."""

    def __init__(self, in_channels: int, feat_channels: int, out_channels: int, norm_cfg: dict, init_cfg=None):
        super().__init__(init_cfg)
        self.direction1_conv = ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.direction2_conv = ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.aftpool_conv = ConvModule(feat_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg, act_cfg=None)
        self.conv1 = ConvModule(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None)
        self.conv2 = ConvModule(out_channels, out_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.relu = nn.ReLU(inplace=True)

    def pooled(self, x: Tensor) -> Tensor:
        """The pooled sum of the two direction branches, (N, feat_channels, H, W): defined by each subclass
        (``CenterPool``, ``CascadeCornerPool``); this base holds only the shared tail."""
        raise NotImplementedError(f'{type(self).__name__} must define pooled()')

    def forward(self, x: Tensor) -> Tensor:
        """(N, in_channels, H, W) -> (N, out_channels, H, W)."""
        return self.conv2(self.relu(self.aftpool_conv(self.pooled(x)) + self.conv1(x)))


class CenterPool(_PoolModule):
    """Center pooling module (official ``center_pool`` = ``pool_cross(dim, Top, Left, Bottom, Right)``).

    Args:
        in_channels (int): input channels.
        feat_channels (int): channels of the two pooled maps (official 128).
        out_channels (int): output channels (official: ``in_channels``).
        norm_cfg (dict): norm of the conv modules (official BatchNorm).
    """

    def __init__(self, in_channels: int, feat_channels: int = 128, out_channels: int = None,
                 norm_cfg: dict = dict(type='BN', requires_grad=True), init_cfg=None):
        out_channels = in_channels if out_channels is None else out_channels
        super().__init__(in_channels, feat_channels, out_channels, norm_cfg, init_cfg)

    def pooled(self, x: Tensor) -> Tensor:
        return center_pool_max(self.direction1_conv(x), self.direction2_conv(x))


class CascadeCornerPool(_PoolModule):
    """Cascade corner pooling module (official ``pool``: ``tl_pool = pool(dim, TopPool, LeftPool)``,
    ``br_pool = pool(dim, BottomPool, RightPool)``).

    Args:
        in_channels (int): input channels.
        directions (list[str]): the two poolings, ``['top', 'left']`` (top-left corner) or
            ``['bottom', 'right']`` (bottom-right), as in mmdet's ``BiCornerPool``.
        feat_channels (int): channels of the pooled maps (official 128).
        out_channels (int): output channels (official: ``in_channels``).
        norm_cfg (dict): norm of the conv modules (official BatchNorm).

    Branch 1 ends with ``directions[0]`` after a boundary max along ``directions[1]`` of ``look1_conv(x)``;
    branch 2 the other way round. ``look*_conv`` are conv-norm-ReLU (official ``look_conv*``);
    ``look*_mid`` are the plain 3x3 convs without bias between the two poolings (official ``P*_look_conv``).
    """

    def __init__(self, in_channels: int, directions: Sequence[str], feat_channels: int = 128,
                 out_channels: int = None, norm_cfg: dict = dict(type='BN', requires_grad=True), init_cfg=None):
        _check_directions(directions)
        out_channels = in_channels if out_channels is None else out_channels
        super().__init__(in_channels, feat_channels, out_channels, norm_cfg, init_cfg)
        self.directions = tuple(directions)
        self.look1_conv = ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.look2_conv = ConvModule(in_channels, feat_channels, 3, padding=1, norm_cfg=norm_cfg)
        self.look1_mid = nn.Conv2d(feat_channels, feat_channels, 3, padding=1, bias=False)
        self.look2_mid = nn.Conv2d(feat_channels, feat_channels, 3, padding=1, bias=False)

    def pooled(self, x: Tensor) -> Tensor:
        d1, d2 = self.directions
        b1 = cascade_corner_max(self.look1_conv(x), self.direction1_conv(x), boundary=d2, inner=d1,
                                transform=self.look1_mid)
        b2 = cascade_corner_max(self.look2_conv(x), self.direction2_conv(x), boundary=d1, inner=d2,
                                transform=self.look2_mid)
        return b1 + b2
