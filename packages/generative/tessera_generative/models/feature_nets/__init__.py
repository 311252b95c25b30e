from .conv_feature_net import ConvFeatureNet

__all__ = ['ConvFeatureNet']
