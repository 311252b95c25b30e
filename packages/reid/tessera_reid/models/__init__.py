from .heads import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .layers import CameraBatchNorm, camera_bn_layers, camera_ids_context, convert_to_camera_bn
from .cbn_reid_model import CBNReIDModel, camera_ids_of
from .reid_model import ReIDModel, with_last_stride
from .fanet_reid_model import FANetReIDModel

__all__ = ['ReIDModel', 'CBNReIDModel', 'camera_ids_of', 'CameraBatchNorm', 'camera_bn_layers',
           'camera_ids_context', 'convert_to_camera_bn', 'with_last_stride', 'BNNeckHead', 'TripletLoss', 'CenterLoss', 'euclidean_dist', 'hard_example_mining']
__all__ += ['FANetReIDModel', 'FANetHead', 'TargetAttentionLoss', 'SoftMaskLoss']
