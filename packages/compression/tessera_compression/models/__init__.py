from .backbones import QuantResNet
from .layers import LSQConv2d, LSQLinear
from .quantizers import SUPPORTED_BITS, LSQQuantizer, check_bits, grad_scale, quant_range, round_pass

__all__ = ['QuantResNet', 'LSQConv2d', 'LSQLinear', 'SUPPORTED_BITS', 'LSQQuantizer', 'check_bits', 'grad_scale',
           'quant_range', 'round_pass']
