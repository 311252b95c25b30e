from .vae_data_preprocessor import VAEDataPreprocessor

__all__ = ['VAEDataPreprocessor']
