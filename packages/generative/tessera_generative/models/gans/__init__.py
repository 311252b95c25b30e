from .base_gan import BaseGAN
from .dcgan_discriminator import DCGANDiscriminator
from .dcgan_generator import DCGANGenerator
from .lccgan import LCCGAN

__all__ = ['BaseGAN', 'DCGANGenerator', 'DCGANDiscriminator', 'LCCGAN']
