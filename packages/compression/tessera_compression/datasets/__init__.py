from .bag_of_instances_dataset import BagOfInstancesDataset
from .noise_seed_dataset import NoiseSeedDataset
from .transforms import (MultiView, RandomBrightnessContrast, RandomGaussianBlur, RandomHorizontalFlip,
                         RandomResizedCrop)

__all__ = ['BagOfInstancesDataset', 'NoiseSeedDataset', 'MultiView', 'RandomBrightnessContrast', 'RandomGaussianBlur',
           'RandomHorizontalFlip', 'RandomResizedCrop']
