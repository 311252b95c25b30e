from .formatting import PackClsInputs
from .processing import RandomShiftCrop

__all__ = ['PackClsInputs', 'RandomShiftCrop']
