from .gen_data_preprocessor import GenDataPreprocessor
from .vae_data_preprocessor import VAEDataPreprocessor

__all__ = ['GenDataPreprocessor', 'VAEDataPreprocessor']
