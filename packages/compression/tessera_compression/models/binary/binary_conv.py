"""Binary convolution of ReActNet: RSign on the input, sign(W) scaled per output channel.

ReActNet: Towards Precise Binary Neural Network with Generalized Activation Functions,
Liu, Shen, Savvides, Xing and Cheng, ECCV 2020, arXiv:2003.03488.
Official code: https://github.com/liuzechun/ReActNet (``HardBinaryConv``), also used unchanged by
AdamBNN (arXiv:2106.11309, https://github.com/liuzechun/AdamBNN).

Weights (``weight_bits=1``), per output channel c with n = C_in / groups * k_h * k_w weights::

    W_b[c] = a_c * sign(W[c]),   a_c = ||W[c]||_1 / n = mean |W[c]|

``a_c`` carries no gradient (``.detach()`` in the official code) and the real weights get the
gradient of ``clamp(W, -1, 1)``: the straight-through estimator ``dL/dW = dL/dW_b * 1{|W| <= 1}``.
``sign`` maps 0 to +1 here (the official ``torch.sign`` gives 0 for an exactly-zero weight).

Inputs (``act_bits=1``): :class:`RSign`, i.e. ``sign(x - alpha)`` with the ApproxSign gradient.
The two-step recipe (Real-to-Binary, ReActNet, AdamBNN) trains step 1 with binary activations and
real weights (``weight_bits=32``), then step 2 with both binary (``weight_bits=1``) from step 1's
weights; both steps have the same parameters, so step 1's checkpoint loads into step 2 exactly.
``weight_bits=1, act_bits=32`` gives a binary-weight network with real inputs.
"""
from typing import Tuple

import torch
from mmengine.registry import MODELS as MMCV_CONV_LAYERS  # mmcv 2.x builds conv layers from here
from torch import nn

from tessera_compression.registry import MODELS

from .rsign import RSign

__all__ = ['BINARY_LAYER_BITS', 'BinaryWeight', 'binarize_weight', 'BinaryConv2d']

# Bit widths a BinaryConv2d takes for its weights and its inputs: 1 (binary) or 32 (full precision).
BINARY_LAYER_BITS: Tuple[int, ...] = (1, 32)


class BinaryWeight(torch.autograd.Function):
    """``a * sign(W)`` per output channel in the forward pass; ``grad * 1{|W| <= 1}`` backward."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(weight)
        scale = weight.abs().mean(dim=tuple(range(1, weight.dim())), keepdim=True)
        return torch.where(weight >= 0, scale, -scale)

    @staticmethod
    def backward(ctx, grad_output: torch.Tensor) -> torch.Tensor:
        (weight,) = ctx.saved_tensors
        return grad_output * (weight.abs() <= 1).to(grad_output.dtype)


def binarize_weight(weight: torch.Tensor) -> torch.Tensor:
    """Binary weights ``a_c * sign(W[c])`` with ``a_c = mean|W[c]|``, straight-through to ``clamp(W, -1, 1)``.

    Args:
        weight (Tensor): (C_out, C_in / groups, k_h, k_w) real weights (any rank >= 2; the mean
            runs over every dimension but the first).

    Returns:
        Tensor: Same shape; row c holds only the two values ``-a_c`` and ``+a_c``.
    """
    if weight.dim() < 2:
        raise ValueError(f'binarize_weight expects (C_out, ...) weights of rank >= 2, got shape {tuple(weight.shape)}')
    return BinaryWeight.apply(weight)


def _check_bits(bits, name: str) -> int:
    if isinstance(bits, bool) or bits not in BINARY_LAYER_BITS:
        raise ValueError(f'unsupported {name}={bits!r} for BinaryConv2d; valid: '
                         f'{", ".join(map(str, BINARY_LAYER_BITS))} (1 = binary, 32 = full precision)')
    return bits


@MODELS.register_module()
@MMCV_CONV_LAYERS.register_module()
class BinaryConv2d(nn.Conv2d):
    """``nn.Conv2d`` on RSign-binarized inputs and per-channel scaled sign weights (ReActNet).

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, padding_mode:
            As ``nn.Conv2d``.
        bias (bool): Learnable bias (the official binary convolutions have none).
        weight_bits (int): 1 binarizes the weights (step 2), 32 keeps them real (step 1).
        act_bits (int): 1 binarizes the input with a learnable-threshold :class:`RSign`
            (attribute ``rsign``); 32 convolves the input as it is.

    Attributes:
        weight_bits (int), act_bits (int): The bit widths above, read by
            :func:`tessera_compression.analysis.count_operations`.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W') as ``nn.Conv2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = False, padding_mode: str = 'zeros', weight_bits: int = 1,
                 act_bits: int = 1):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode)
        self.weight_bits = _check_bits(weight_bits, 'weight_bits')
        self.act_bits = _check_bits(act_bits, 'act_bits')
        self.rsign = RSign(in_channels) if act_bits == 1 else None

    def effective_weight(self) -> torch.Tensor:
        """The weights the convolution uses: ``binarize_weight(self.weight)`` or the real ones."""
        return binarize_weight(self.weight) if self.weight_bits == 1 else self.weight

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.rsign is not None:
            x = self.rsign(x)
        return self._conv_forward(x, self.effective_weight(), self.bias)

    def extra_repr(self) -> str:
        return f'{super().extra_repr()}, weight_bits={self.weight_bits}, act_bits={self.act_bits}'
