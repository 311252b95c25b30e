from .formatting import PackClsInputs
from .processing import RandomShiftCrop
from .segmentation import DigitSegMap, PackSegInputs

__all__ = ['PackClsInputs', 'RandomShiftCrop']
__all__ += ['DigitSegMap', 'PackSegInputs']
