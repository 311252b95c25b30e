from .conv_generator import ConvGenerator
from .data_free_distillation import DataFreeDistillation, noise_from_seeds
from .dafl import DAFL
from .noise_images import NoiseImages

__all__ = ['ConvGenerator', 'DAFL', 'DataFreeDistillation', 'NoiseImages', 'noise_from_seeds']
