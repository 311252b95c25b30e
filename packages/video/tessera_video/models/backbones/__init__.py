from .resnet3d import ResNet3d
from .resnet3d_cost import ResNet3dCoST
from .resnet_tsm import ResNetTSM

__all__ = ['ResNet3d', 'ResNet3dCoST', 'ResNetTSM']
