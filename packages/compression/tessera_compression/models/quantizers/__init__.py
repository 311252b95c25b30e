from .base import (FULL_PRECISION_BITS, SUPPORTED_BITS, QuantLevels, Quantizer, build_quantizer, check_bits,
                   quantizer_class, registered_quantizers)
from .lsq_quantizer import LSQQuantizer, grad_scale, quant_range, round_pass
from .n2uq_activation_quantizer import N2UQActivationQuantizer
from .n2uq_weight_quantizer import N2UQWeightQuantizer

__all__ = ['FULL_PRECISION_BITS', 'SUPPORTED_BITS', 'QuantLevels', 'Quantizer', 'build_quantizer', 'check_bits',
           'quantizer_class', 'registered_quantizers', 'LSQQuantizer',
           'grad_scale', 'quant_range', 'round_pass', 'N2UQActivationQuantizer', 'N2UQWeightQuantizer']
