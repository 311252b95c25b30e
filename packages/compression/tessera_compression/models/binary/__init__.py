from .rsign import ApproxSign, RSign, approx_sign
from .rprelu import RPReLU
from .binary_conv import BINARY_LAYER_BITS, BinaryConv2d, BinaryWeight, binarize_weight
from .reactnet import ReActBlock, ReActNet

__all__ = ['ApproxSign', 'RSign', 'approx_sign', 'RPReLU', 'BINARY_LAYER_BITS', 'BinaryConv2d', 'BinaryWeight',
           'binarize_weight', 'ReActBlock', 'ReActNet']
