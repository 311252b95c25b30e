"""ABS: automatic bit sharing, joint pruning and mixed-precision quantization search (arXiv:2101.04935)."""
from .derived import ABSDerivedModel, derive_network
from .super_bit_conv import FilterGate, SuperBitConv2d, filter_scores
from .super_bit_quantizer import ABSQuantizer, SuperBitQuantizer, check_bits_list
from .supernet import ABSSuperNet

__all__ = ['ABSDerivedModel', 'derive_network', 'FilterGate', 'SuperBitConv2d', 'filter_scores', 'ABSQuantizer',
           'SuperBitQuantizer', 'check_bits_list', 'ABSSuperNet']
