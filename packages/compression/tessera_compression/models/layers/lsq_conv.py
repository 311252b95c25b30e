"""LSQ-quantized convolution: :class:`QuantConv2d` with LSQ quantizers, configured by bit widths.

Learned Step Size Quantization, Esser et al., ICLR 2020, arXiv:1902.08153 (no official code).

``conv_cfg=dict(type='LSQConv2d', w_bits=4, a_bits=4)`` in any backbone that builds its
convolutions with ``mmcv.cnn.build_conv_layer`` (e.g. tessera-core's ``ResNet``) quantizes the
weights (signed, ``w_bits``) and the input activations (unsigned by default, ``a_bits``) of
every such convolution. It is ``QuantConv2d(weight_quantizer=dict(type='LSQQuantizer',
bits=w_bits, kind='weight'), act_quantizer=dict(type='LSQQuantizer', bits=a_bits,
kind='activation', signed=a_signed))``. Registered in mmengine's root ``MODELS``, which is what
mmcv 2.x's ``build_conv_layer`` searches, and in tessera-compression's ``MODELS``.
"""
from typing import Optional

from mmengine.registry import MODELS as MMCV_CONV_LAYERS  # mmcv 2.x builds conv layers from here

from tessera_compression.registry import MODELS

from ..quantizers import check_bits
from .quant_conv import QuantConv2d

__all__ = ['LSQConv2d']


@MODELS.register_module()
@MMCV_CONV_LAYERS.register_module()
class LSQConv2d(QuantConv2d):
    """``QuantConv2d`` with LSQ weight and input quantizers.

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
        w_bits = check_bits(w_bits, 'w_bits', allow_none=True)
        a_bits = check_bits(a_bits, 'a_bits', allow_none=True)
        super().__init__(
            in_channels, out_channels, kernel_size, stride=stride, padding=padding, dilation=dilation,
            groups=groups, bias=bias, padding_mode=padding_mode,
            weight_quantizer=None if w_bits is None else dict(type='LSQQuantizer', bits=w_bits, kind='weight'),
            act_quantizer=None if a_bits is None else dict(type='LSQQuantizer', bits=a_bits, kind='activation',
                                                           signed=a_signed))
        self.w_bits, self.a_bits = w_bits, a_bits
