from .ghostnet import GhostNet
from .resnet import ResNet

__all__ = ['GhostNet', 'ResNet']
