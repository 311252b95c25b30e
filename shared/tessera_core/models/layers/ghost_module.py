"""Ghost module: a few intrinsic feature maps from a conv, the rest from cheap depthwise ops.

GhostNet: More Features from Cheap Operations, Han et al., CVPR 2020, arXiv:1911.11907.
Official code: https://github.com/huawei-noah/Efficient-AI-Backbones (ghostnet_pytorch).
"""
import math
from typing import Optional

import torch
from torch import nn

from .conv_bn_act import ConvBnAct


class GhostModule(nn.Module):
    """Ghost module (paper Sec. 3.1, Fig. 2b).

    A primary ``kernel_size`` conv makes ``m = ceil(out_channels / ratio)``
    intrinsic maps; a depthwise ``dw_size`` conv (the "cheap operation", one
    linear op per intrinsic map and ghost: ``ratio - 1`` ghosts each) makes
    ``m * (ratio - 1)`` ghost maps; both are concatenated (the identity is the
    ``ratio``-th map of each group) and cut to ``out_channels``.

    Args:
        in_channels (int): Input channels C_in.
        out_channels (int): Output channels C_out (``n`` in the paper).
        kernel_size (int): Primary conv kernel (1 in GhostNet).
        ratio (int): ``s`` in the paper (2); ``ratio - 1`` ghosts per intrinsic map.
        dw_size (int): Kernel of the cheap depthwise conv (``d = 3``).
        stride (int): Stride of the primary conv.
        with_act (bool): ReLU after both convs (False for the bottleneck's
            second, linear, Ghost module).
        norm_cfg (dict): Norm after each conv.
        act_cfg (dict): Activation used when ``with_act``.

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int = 1, ratio: int = 2,
                 dw_size: int = 3, stride: int = 1, with_act: bool = True,
                 norm_cfg: dict = dict(type='BN'), act_cfg: Optional[dict] = dict(type='ReLU', inplace=True)):
        super().__init__()
        if ratio < 2:
            raise ValueError(f'ratio must be >= 2 (ratio - 1 ghosts per intrinsic map), got {ratio}')
        self.out_channels = out_channels
        self.intrinsic_channels = math.ceil(out_channels / ratio)
        self.ghost_channels = self.intrinsic_channels * (ratio - 1)
        act = act_cfg if with_act else None
        self.primary_conv = ConvBnAct(in_channels, self.intrinsic_channels, kernel_size, stride,
                                      norm_cfg=norm_cfg, act_cfg=act)
        self.cheap_operation = ConvBnAct(self.intrinsic_channels, self.ghost_channels, dw_size, 1,
                                         groups=self.intrinsic_channels, norm_cfg=norm_cfg, act_cfg=act)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        intrinsic = self.primary_conv(x)
        ghosts = self.cheap_operation(intrinsic)
        out = torch.cat([intrinsic, ghosts], dim=1)
        return out if out.shape[1] == self.out_channels else out[:, :self.out_channels]
