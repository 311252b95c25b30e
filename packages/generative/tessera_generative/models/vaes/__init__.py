from .conv_vae import ARCH_SETTINGS, ConvVAE

__all__ = ['ConvVAE', 'ARCH_SETTINGS']
