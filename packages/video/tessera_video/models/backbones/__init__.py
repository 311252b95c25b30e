from .resnet3d import ResNet3d
from .resnet_tsm import ResNetTSM

__all__ = ['ResNet3d', 'ResNetTSM']
