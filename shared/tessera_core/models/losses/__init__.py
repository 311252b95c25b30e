from .label_smooth_loss import LabelSmoothLoss

__all__ = ['LabelSmoothLoss']
