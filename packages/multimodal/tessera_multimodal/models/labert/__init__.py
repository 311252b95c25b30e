from .labert import LaBERT, label_smoothed_loss
from .length_levels import LENGTH_BINS, LengthLevels
from .mask_predict import eos_penalty, mask_predict, num_remask

__all__ = ['LENGTH_BINS', 'LaBERT', 'LengthLevels', 'eos_penalty', 'label_smoothed_loss', 'mask_predict', 'num_remask']
