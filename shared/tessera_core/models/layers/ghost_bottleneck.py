"""Ghost bottleneck: expanding Ghost module, optional stride-2 depthwise conv and SE, linear Ghost module.

GhostNet: More Features from Cheap Operations, Han et al., CVPR 2020, arXiv:1911.11907.
Official code: https://github.com/huawei-noah/Efficient-AI-Backbones (ghostnet_pytorch).
"""
from typing import Optional

import torch
from torch import nn

from .conv_bn_act import ConvBnAct
from .ghost_module import GhostModule
from .squeeze_excitation import SqueezeExcitation


class GhostBottleneck(nn.Module):
    """G-bneck (paper Sec. 3.2, Fig. 3).

    ``ghost1`` (Ghost module with ReLU, C_in -> C_mid) -> ``conv_dw`` (depthwise
    k x k conv + BN, only when ``stride > 1``) -> ``se`` (only when
    ``se_ratio > 0``) -> ``ghost2`` (Ghost module without ReLU, C_mid -> C_out),
    plus a shortcut: identity when ``stride == 1`` and ``C_in == C_out``, else
    depthwise k x k conv (stride) + BN + 1x1 conv + BN. No activation after the sum.

    Args:
        in_channels (int): C_in.
        mid_channels (int): C_mid, the expansion width ("#exp" in the paper's Table 1).
        out_channels (int): C_out.
        dw_kernel_size (int): k of the depthwise convs (3 or 5).
        stride (int): 1 or 2.
        se_ratio (float): SE reduction ratio on C_mid; 0 disables SE.
        norm_cfg (dict): Norm config.
        act_cfg (dict): Activation config (ReLU).

    Shapes: (N, C_in, H, W) -> (N, C_out, ceil(H / stride), ceil(W / stride)).
    """

    def __init__(self, in_channels: int, mid_channels: int, out_channels: int, dw_kernel_size: int = 3,
                 stride: int = 1, se_ratio: float = 0.0, norm_cfg: dict = dict(type='BN'),
                 act_cfg: Optional[dict] = dict(type='ReLU', inplace=True)):
        super().__init__()
        if stride not in (1, 2):
            raise ValueError(f'GhostBottleneck stride must be 1 or 2, got {stride}')
        self.stride = stride
        self.ghost1 = GhostModule(in_channels, mid_channels, with_act=True, norm_cfg=norm_cfg, act_cfg=act_cfg)
        self.conv_dw = (ConvBnAct(mid_channels, mid_channels, dw_kernel_size, stride, groups=mid_channels,
                                  norm_cfg=norm_cfg, act_cfg=None) if stride > 1 else None)
        self.se = SqueezeExcitation(mid_channels, se_ratio, divisor=4) if se_ratio > 0 else None
        self.ghost2 = GhostModule(mid_channels, out_channels, with_act=False, norm_cfg=norm_cfg, act_cfg=act_cfg)
        if stride == 1 and in_channels == out_channels:
            self.shortcut = None
        else:
            self.shortcut = nn.Sequential(
                ConvBnAct(in_channels, in_channels, dw_kernel_size, stride, groups=in_channels,
                          norm_cfg=norm_cfg, act_cfg=None),
                ConvBnAct(in_channels, out_channels, 1, norm_cfg=norm_cfg, act_cfg=None))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.ghost1(x)
        if self.conv_dw is not None:
            y = self.conv_dw(y)
        if self.se is not None:
            y = self.se(y)
        y = self.ghost2(y)
        return y + (x if self.shortcut is None else self.shortcut(x))
