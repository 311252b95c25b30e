from .lsq_conv import LSQConv2d
from .lsq_linear import LSQLinear

__all__ = ['LSQConv2d', 'LSQLinear']
