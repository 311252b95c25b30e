from .noise_seed_dataset import NoiseSeedDataset
from .transforms import (MultiView, RandomBrightnessContrast, RandomGaussianBlur, RandomHorizontalFlip,
                         RandomResizedCrop)

__all__ = ['NoiseSeedDataset', 'MultiView', 'RandomBrightnessContrast', 'RandomGaussianBlur',
           'RandomHorizontalFlip', 'RandomResizedCrop']
