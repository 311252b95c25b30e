from .foreground_mask import EraseMask, RandomShiftCropWithMask
from .pack_reid_inputs import PackReIDInputs
from .random_erasing import RandomErasing

__all__ = ['RandomErasing', 'RandomShiftCropWithMask', 'EraseMask', 'PackReIDInputs']
