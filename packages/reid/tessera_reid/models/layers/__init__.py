from .camera_batch_norm import CameraBatchNorm
from .convert_camera_bn import camera_bn_from, camera_bn_layers, camera_ids_context, convert_to_camera_bn

__all__ = ['CameraBatchNorm', 'camera_bn_from', 'camera_bn_layers', 'camera_ids_context', 'convert_to_camera_bn']
