from .resnet_tsm import ResNetTSM

__all__ = ['ResNetTSM']
