from .lsq_quantizer import SUPPORTED_BITS, LSQQuantizer, check_bits, grad_scale, quant_range, round_pass

__all__ = ['SUPPORTED_BITS', 'LSQQuantizer', 'check_bits', 'grad_scale', 'quant_range', 'round_pass']
