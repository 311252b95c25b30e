from .lsq_conv import LSQConv2d
from .lsq_linear import LSQLinear
from .quant_conv import QuantConv2d
from .quant_linear import QuantLinear

__all__ = ['LSQConv2d', 'LSQLinear', 'QuantConv2d', 'QuantLinear']
