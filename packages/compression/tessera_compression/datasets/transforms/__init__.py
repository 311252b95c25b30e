from .multi_view import MultiView
from .random_brightness_contrast import RandomBrightnessContrast
from .random_gaussian_blur import RandomGaussianBlur
from .random_horizontal_flip import RandomHorizontalFlip
from .random_resized_crop import RandomResizedCrop, sample_crop

__all__ = ['MultiView', 'RandomBrightnessContrast', 'RandomGaussianBlur', 'RandomHorizontalFlip',
           'RandomResizedCrop', 'sample_crop']
