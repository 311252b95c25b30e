from .bnneck_head import BNNeckHead
from .fanet_head import FANetHead

__all__ = ['BNNeckHead', 'FANetHead']
