from .operation_counts import (BITS_PER_WORD, FULL_PRECISION_BITS, LayerCount, OperationCounts, count_operations,
                               layer_bits)

__all__ = ['BITS_PER_WORD', 'FULL_PRECISION_BITS', 'LayerCount', 'OperationCounts', 'count_operations', 'layer_bits']
from .model_size import model_size  # noqa: E402  (bits-aware model size)

__all__ += ['model_size']
