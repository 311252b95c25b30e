"""RPReLU: PReLU with learnable shifts of its input and output, per channel.

ReActNet: Towards Precise Binary Neural Network with Generalized Activation Functions,
Liu, Shen, Savvides, Xing and Cheng, ECCV 2020, arXiv:2003.03488.
Official code: https://github.com/liuzechun/ReActNet (``LearnableBias`` + ``nn.PReLU`` + ``LearnableBias``).

The paper's RPReLU, for channel c::

    f(x) = x - gamma_c + zeta_c            if x > gamma_c
           beta_c * (x - gamma_c) + zeta_c if x <= gamma_c

``gamma`` and ``zeta`` start at 0 and the slope ``beta`` at 0.25 (``nn.PReLU``'s default, as the
official code), so a fresh RPReLU is a plain PReLU.
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['RPReLU']


@MODELS.register_module()
class RPReLU(nn.Module):
    """ReActNet's RPReLU: ``PReLU(x - gamma; beta) + zeta`` per channel.

    Args:
        num_channels (int): Channels C of the input (dimension 1).
        init_slope (float): Initial ``beta`` (0.25 as ``nn.PReLU``).

    Attributes:
        shift_in (Parameter): ``gamma``, shape (C,), initialised to 0.
        slope (Parameter): ``beta``, shape (C,), the negative-side slope.
        shift_out (Parameter): ``zeta``, shape (C,), initialised to 0.

    Shapes: (N, C, *) -> (N, C, *).
    """

    def __init__(self, num_channels: int, init_slope: float = 0.25):
        super().__init__()
        if not isinstance(num_channels, int) or isinstance(num_channels, bool) or num_channels < 1:
            raise ValueError(f'num_channels must be a positive int, got {num_channels!r}')
        self.num_channels = num_channels
        self.shift_in = nn.Parameter(torch.zeros(num_channels))
        self.slope = nn.Parameter(torch.full((num_channels,), float(init_slope)))
        self.shift_out = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f'RPReLU({self.num_channels}) expects (N, {self.num_channels}, ...) inputs, '
                             f'got shape {tuple(x.shape)}')
        view = (1, -1, *([1] * (x.dim() - 2)))
        return F.prelu(x - self.shift_in.view(view), self.slope) + self.shift_out.view(view)

    def extra_repr(self) -> str:
        return f'{self.num_channels}'
