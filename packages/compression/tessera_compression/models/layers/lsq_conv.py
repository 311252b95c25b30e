"""LSQ-quantized convolution, usable wherever mmcv builds convolutions from a config.

Learned Step Size Quantization, Esser et al., ICLR 2020, arXiv:1902.08153 (no official code).

``conv_cfg=dict(type='LSQConv2d', w_bits=4, a_bits=4)`` in any backbone that builds its
convolutions with ``mmcv.cnn.build_conv_layer`` (e.g. tessera-core's ``ResNet``) quantizes the
weights (signed, ``w_bits``) and the input activations (unsigned by default, ``a_bits``) of
every such convolution. The layer is registered in mmengine's root ``MODELS`` registry, which is
what mmcv 2.x's ``build_conv_layer`` searches (mmcv 1.x called it ``CONV_LAYERS``), and in
tessera-compression's ``MODELS``.
"""
from typing import Optional

import torch
from mmengine.registry import MODELS as MMCV_CONV_LAYERS  # mmcv 2.x builds conv layers from here
from torch import nn

from tessera_compression.registry import MODELS

from ..quantizers import LSQQuantizer, check_bits

__all__ = ['LSQConv2d']


@MODELS.register_module()
@MMCV_CONV_LAYERS.register_module()
class LSQConv2d(nn.Conv2d):
    """``nn.Conv2d`` on LSQ fake-quantized weights and inputs.

    Args:
        in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias,
            padding_mode: As ``nn.Conv2d``. The bias (if any) stays full precision.
        w_bits (int, optional): Weight bits (2-8), signed range ``[-2^(b-1), 2^(b-1) - 1]``;
            None keeps full-precision weights.
        a_bits (int, optional): Input-activation bits (2-8); None keeps full-precision inputs.
        a_signed (bool): Signed activation range ``[-2^(b-1), 2^(b-1) - 1]`` instead of the
            unsigned ``[0, 2^b - 1]`` of post-ReLU activations.

    Shapes: (N, in_channels, H, W) -> (N, out_channels, H', W') as ``nn.Conv2d``.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = 'zeros', w_bits: Optional[int] = 4,
                 a_bits: Optional[int] = 4, a_signed: bool = False):
        super().__init__(in_channels, out_channels, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups, bias=bias, padding_mode=padding_mode)
        self.w_bits = check_bits(w_bits, 'w_bits', allow_none=True)
        self.a_bits = check_bits(a_bits, 'a_bits', allow_none=True)
        self.weight_quantizer = (LSQQuantizer(w_bits, kind='weight') if w_bits is not None
                                 else nn.Identity())
        self.act_quantizer = (LSQQuantizer(a_bits, kind='activation', signed=a_signed) if a_bits is not None
                              else nn.Identity())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._conv_forward(self.act_quantizer(x), self.weight_quantizer(self.weight), self.bias)
