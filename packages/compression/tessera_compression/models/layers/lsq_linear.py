"""LSQ-quantized fully connected layer: :class:`QuantLinear` with LSQ quantizers, configured by bit widths.

Learned Step Size Quantization, Esser et al., ICLR 2020, arXiv:1902.08153 (no official code).
Registered in mmengine's root ``MODELS`` (so ``build_linear_layer``-style builders of mmcv/mmdet
find it from any scope) and in tessera-compression's ``MODELS``.
"""
from typing import Optional

from mmengine.registry import MODELS as MMENGINE_MODELS

from tessera_compression.registry import MODELS

from ..quantizers import check_bits
from .quant_linear import QuantLinear

__all__ = ['LSQLinear']


@MODELS.register_module()
@MMENGINE_MODELS.register_module()
class LSQLinear(QuantLinear):
    """``QuantLinear`` with LSQ weight and input quantizers.

    Args:
        in_features, out_features, bias: As ``nn.Linear``. The bias stays full precision.
        w_bits (int, optional): Weight bits (2-8), signed; None keeps full-precision weights.
        a_bits (int, optional): Input-activation bits (2-8); None keeps full-precision inputs.
        a_signed (bool): Signed instead of unsigned (post-ReLU) activation range.

    Shapes: (N, *, in_features) -> (N, *, out_features).
    """

    def __init__(self, in_features: int, out_features: int, bias: bool = True, w_bits: Optional[int] = 4,
                 a_bits: Optional[int] = 4, a_signed: bool = False):
        w_bits = check_bits(w_bits, 'w_bits', allow_none=True)
        a_bits = check_bits(a_bits, 'a_bits', allow_none=True)
        super().__init__(
            in_features, out_features, bias=bias,
            weight_quantizer=None if w_bits is None else dict(type='LSQQuantizer', bits=w_bits, kind='weight'),
            act_quantizer=None if a_bits is None else dict(type='LSQQuantizer', bits=a_bits, kind='activation',
                                                           signed=a_signed))
        self.w_bits, self.a_bits = w_bits, a_bits
