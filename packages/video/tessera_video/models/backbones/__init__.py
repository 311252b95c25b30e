from .hcn import HCN, HCN_LAYERS
from .resnet3d import ResNet3d
from .resnet3d_cost import ResNet3dCoST
from .resnet_tsm import ResNetTSM

__all__ = ['HCN', 'HCN_LAYERS', 'ResNet3d', 'ResNet3dCoST', 'ResNetTSM']
