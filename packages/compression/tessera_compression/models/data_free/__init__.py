from .conv_generator import ConvGenerator
from .data_free_distillation import DataFreeDistillation, noise_from_seeds

__all__ = ['ConvGenerator', 'DataFreeDistillation', 'noise_from_seeds']
