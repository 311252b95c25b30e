"""RSign: sign activation with a learnable channel-wise threshold, trained through ApproxSign.

ReActNet: Towards Precise Binary Neural Network with Generalized Activation Functions,
Liu, Shen, Savvides, Xing and Cheng, ECCV 2020, arXiv:2003.03488.
Official code: https://github.com/liuzechun/ReActNet (``LearnableBias`` + ``BinaryActivation``).

Forward (the paper's RSign, one threshold ``alpha_c`` per channel)::

    x_b = +1  if x > alpha_c
          -1  if x <= alpha_c

Backward: the piecewise-polynomial ApproxSign of Bi-Real Net (Liu et al., ECCV 2018,
arXiv:1808.00278), which ReActNet keeps for the sign itself::

    d x_b / d u = 2 + 2u   for -1 <= u < 0
                  2 - 2u   for  0 <= u < 1          (u = x - alpha_c)
                  0        otherwise
                = max(0, 2 - 2|u|)

so ``d x_b / d x = max(0, 2 - 2|u|)`` and ``d x_b / d alpha_c = -max(0, 2 - 2|u|)`` (the paper's
threshold gradient).
The official code writes the threshold as a learnable bias ``b = -alpha`` added before the sign,
initialised to 0; :class:`RSign` stores ``alpha`` itself (also initialised to 0), so
``threshold = -move.bias`` of the official checkpoints.
"""
import torch
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['ApproxSign', 'approx_sign', 'RSign']


class ApproxSign(torch.autograd.Function):
    """Binary sign (+1 for u > 0, -1 for u <= 0) with the ApproxSign gradient ``max(0, 2 - 2|u|)``."""

    @staticmethod
    def forward(ctx, u: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(u)
        return torch.where(u > 0, torch.ones_like(u), -torch.ones_like(u))

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (u,) = ctx.saved_tensors
        return grad_output * (2 - 2 * u.abs()).clamp_(min=0)


def approx_sign(u: torch.Tensor) -> torch.Tensor:
    """Sign of ``u`` in {-1, +1} (0 maps to -1) with the Bi-Real ApproxSign gradient.

    Args:
        u (Tensor): Any shape.

    Returns:
        Tensor: Same shape as ``u``, values in {-1, +1}.
    """
    return ApproxSign.apply(u)


@MODELS.register_module()
class RSign(nn.Module):
    """ReActNet's RSign: ``sign(x - alpha)`` with a learnable threshold per channel.

    Args:
        num_channels (int): Channels C of the input (dimension 1); one threshold each.

    Attributes:
        threshold (Parameter): ``alpha``, shape (C,), initialised to 0 (plain sign).
        act_bits (int): 1, the bit width of what this module outputs.

    Shapes: (N, C, *) -> (N, C, *), values in {-1, +1}.
    """

    act_bits = 1

    def __init__(self, num_channels: int):
        super().__init__()
        if not isinstance(num_channels, int) or isinstance(num_channels, bool) or num_channels < 1:
            raise ValueError(f'num_channels must be a positive int, got {num_channels!r}')
        self.num_channels = num_channels
        self.threshold = nn.Parameter(torch.zeros(num_channels))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.shape[1] != self.num_channels:
            raise ValueError(f'RSign({self.num_channels}) expects (N, {self.num_channels}, ...) inputs, '
                             f'got shape {tuple(x.shape)}')
        alpha = self.threshold.view(1, -1, *([1] * (x.dim() - 2)))
        return approx_sign(x - alpha)

    def extra_repr(self) -> str:
        return f'{self.num_channels}'
