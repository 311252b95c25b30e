from .quant_resnet import QuantResNet

__all__ = ['QuantResNet']
