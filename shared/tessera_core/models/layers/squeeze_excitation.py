"""Squeeze-and-Excitation with a hard-sigmoid gate, as used in MobileNetV3 and GhostNet.

Squeeze-and-Excitation Networks, Hu et al., CVPR 2018, arXiv:1709.01507;
hard-sigmoid gate from Searching for MobileNetV3, Howard et al., ICCV 2019, arXiv:1905.02244.
"""
from typing import Optional

import torch
from mmcv.cnn import build_activation_layer
from torch import nn

from tessera_core.models.utils import make_divisible


class SqueezeExcitation(nn.Module):
    """``x * gate(conv_expand(act(conv_reduce(mean_hw(x)))))``.

    Args:
        channels (int): Input and output channels C.
        se_ratio (float): Reduced width is ``make_divisible(C * se_ratio, divisor)``.
        divisor (int): Rounding of the reduced width (4 in GhostNet).
        act_cfg (dict): Activation between the two 1x1 convs (ReLU).
        gate_cfg (dict, optional): Gate activation; None means hard sigmoid
            ``relu6(x + 3) / 6`` (``nn.Hardsigmoid``).

    Shapes: (N, C, H, W) -> (N, C, H, W).
    """

    def __init__(self, channels: int, se_ratio: float = 0.25, divisor: int = 4,
                 act_cfg: dict = dict(type='ReLU', inplace=True), gate_cfg: Optional[dict] = None):
        super().__init__()
        if not 0 < se_ratio <= 1:
            raise ValueError(f'se_ratio must lie in (0, 1], got {se_ratio}')
        self.reduced_channels = make_divisible(channels * se_ratio, divisor)
        self.conv_reduce = nn.Conv2d(channels, self.reduced_channels, 1, bias=True)
        self.act = build_activation_layer(act_cfg)
        self.conv_expand = nn.Conv2d(self.reduced_channels, channels, 1, bias=True)
        self.gate = nn.Hardsigmoid() if gate_cfg is None else build_activation_layer(gate_cfg)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = x.mean(dim=(2, 3), keepdim=True)
        s = self.conv_expand(self.act(self.conv_reduce(s)))
        return x * self.gate(s)
