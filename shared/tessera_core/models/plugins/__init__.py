from .polarized_self_attention import PolarizedSelfAttention

__all__ = ['PolarizedSelfAttention']
