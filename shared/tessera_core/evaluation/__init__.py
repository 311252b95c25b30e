from .accuracy import Accuracy
from .mean_iou import MeanIoU

__all__ = ['Accuracy']
__all__ += ['MeanIoU']
