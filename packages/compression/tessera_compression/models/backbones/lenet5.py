"""LeNet-5 and LeNet-5-half: DAFL's MNIST teacher and student.

Gradient-Based Learning Applied to Document Recognition, LeCun et al., Proc. IEEE 1998 (LeNet-5); the
half-width student is that of Data-Free Learning of Student Networks, Chen et al., ICCV 2019,
arXiv:1904.01186, section 4.1 (official code ``lenet.py`` of
https://github.com/huawei-noah/Efficient-Computing/tree/master/Data-Efficient-Model-Compression/DAFL).

Layout on 32 x 32 inputs (the official code resizes MNIST to 32):

    x (N, 1, 32, 32) -> conv1 5x5 -> relu1 -> maxpool 2 -> conv2 5x5 -> relu2 -> maxpool 2 -> conv3 5x5
      -> relu3 (N, c3, 1, 1)  [DAFL's "features": the activation loss reads this]
      -> flatten -> fc1 -> relu4 (N, f1)  [backbone output; the classifier's LinearClsHead is fc2]

Widths (c1, c2, c3, f1): LeNet-5 (6, 16, 120, 84), LeNet-5-half (3, 8, 60, 42). The ReLUs are separate,
non-inplace modules so that a recorder can read ``backbone.relu3``.
"""
from typing import Tuple

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['LeNet5', 'LENET5_WIDTHS']

#: arch -> (conv1, conv2, conv3 channels, fc1 width)
LENET5_WIDTHS = {'full': (6, 16, 120, 84), 'half': (3, 8, 60, 42)}


@MODELS.register_module()
class LeNet5(BaseModule):
    """Args:
        arch (str): ``'full'`` (LeNet-5) or ``'half'`` (LeNet-5-half), see :data:`LENET5_WIDTHS`.
        in_channels (int): Image channels.

    Shapes: (N, in_channels, 32, 32) -> tuple with one (N, f1) tensor.
    """

    def __init__(self, arch: str = 'full', in_channels: int = 1, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if arch not in LENET5_WIDTHS:
            raise ValueError(f'LeNet5: unknown arch {arch!r}; valid: {sorted(LENET5_WIDTHS)}')
        c1, c2, c3, f1 = LENET5_WIDTHS[arch]
        self.arch, self.out_channels = arch, f1
        self.conv1, self.relu1, self.maxpool1 = nn.Conv2d(in_channels, c1, 5), nn.ReLU(), nn.MaxPool2d(2, 2)
        self.conv2, self.relu2, self.maxpool2 = nn.Conv2d(c1, c2, 5), nn.ReLU(), nn.MaxPool2d(2, 2)
        self.conv3, self.relu3 = nn.Conv2d(c2, c3, 5), nn.ReLU()
        self.fc1, self.relu4 = nn.Linear(c3, f1), nn.ReLU()

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        if x.shape[-2:] != (32, 32):
            raise ValueError(f'LeNet5 expects 32 x 32 inputs, got {tuple(x.shape[-2:])} (resize the digits to 32)')
        x = self.maxpool1(self.relu1(self.conv1(x)))
        x = self.maxpool2(self.relu2(self.conv2(x)))
        x = self.relu3(self.conv3(x)).flatten(1)
        return (self.relu4(self.fc1(x)),)
