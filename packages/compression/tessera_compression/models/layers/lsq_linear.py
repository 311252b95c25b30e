"""LSQ-quantized fully connected layer.

Learned Step Size Quantization, Esser et al., ICLR 2020, arXiv:1902.08153 (no official code).
Registered in mmengine's root ``MODELS`` (so ``build_linear_layer``-style builders of mmcv/mmdet
find it from any scope) and in tessera-compression's ``MODELS``.
"""
from typing import Optional

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn

from tessera_compression.registry import MODELS

from ..quantizers import LSQQuantizer, check_bits

__all__ = ['LSQLinear']


@MODELS.register_module()
@MMENGINE_MODELS.register_module()
class LSQLinear(nn.Linear):
    """``nn.Linear`` on LSQ fake-quantized weights and inputs.

    Args:
        in_features, out_features, bias: As ``nn.Linear``. The bias stays full precision.
        w_bits (int, optional): Weight bits (2-8), signed; None keeps full-precision weights.
        a_bits (int, optional): Input-activation bits (2-8); None keeps full-precision inputs.
        a_signed (bool): Signed instead of unsigned (post-ReLU) activation range.

    Shapes: (N, *, in_features) -> (N, *, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, w_bits: Optional[int] = 4,
                 a_bits: Optional[int] = 4, a_signed: bool = False):
        super().__init__(in_features, out_features, bias=bias)
        self.w_bits = check_bits(w_bits, 'w_bits', allow_none=True)
        self.a_bits = check_bits(a_bits, 'a_bits', allow_none=True)
        self.weight_quantizer = (LSQQuantizer(w_bits, kind='weight') if w_bits is not None
                                 else nn.Identity())
        self.act_quantizer = (LSQQuantizer(a_bits, kind='activation', signed=a_signed) if a_bits is not None
                              else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(self.act_quantizer(x), self.weight_quantizer(self.weight), self.bias)
