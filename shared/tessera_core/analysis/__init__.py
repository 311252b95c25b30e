from .complexity import count_parameters, get_flops

__all__ = ['count_parameters', 'get_flops']
