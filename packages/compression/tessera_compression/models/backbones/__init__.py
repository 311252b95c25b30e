from .lenet5 import LENET5_WIDTHS, LeNet5

__all__ = ['LENET5_WIDTHS', 'LeNet5']
