"""Turning any backbone's BatchNorm layers into Camera-based BatchNorm, and feeding them camera ids.

Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization,
Zhuang et al., ECCV 2020, arXiv:2001.08680. Official code: https://github.com/automan000/Camera-based-Person-ReID

The official code makes every ``BatchNorm1d`` / ``BatchNorm2d`` of its network camera-based (the ResNet-50's and
the BNNeck's); :func:`convert_to_camera_bn` does the same for any module: each ``torch.nn.modules.batchnorm._BatchNorm``
(BatchNorm1d/2d/3d, SyncBatchNorm) becomes a :class:`CameraBatchNorm` with the same ``eps``, the same affine
parameters (the same ``nn.Parameter`` values and ``requires_grad``, e.g. the BNNeck's frozen bias) and the old
running statistics copied into every camera's slot, but no camera marked as having statistics.
"""
from contextlib import contextmanager
from typing import Optional

import torch
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from .camera_batch_norm import CameraBatchNorm


def camera_bn_from(bn: _BatchNorm, num_cameras: int, momentum: Optional[float] = None,
                   unseen_camera: str = 'error') -> CameraBatchNorm:
    """A :class:`CameraBatchNorm` with ``bn``'s channels, eps and affine parameters."""
    cbn = CameraBatchNorm(bn.num_features, num_cameras, eps=bn.eps, momentum=momentum, affine=bn.affine,
                          unseen_camera=unseen_camera)
    if bn.affine:
        cbn.weight = bn.weight
        cbn.bias = bn.bias
    if bn.track_running_stats and bn.running_mean is not None:
        with torch.no_grad():
            cbn.running_mean.copy_(bn.running_mean[None].expand_as(cbn.running_mean))
            cbn.running_var.copy_(bn.running_var[None].expand_as(cbn.running_var))
    return cbn.to(device=bn.weight.device if bn.affine else None)


def convert_to_camera_bn(module: nn.Module, num_cameras: int, momentum: Optional[float] = None,
                         unseen_camera: str = 'error') -> nn.Module:
    """Replace, in place, every BatchNorm of ``module`` (and ``module`` itself if it is one) by a CameraBatchNorm.

    Returns the converted module (a new object only when ``module`` itself is a BatchNorm).
    """
    if isinstance(module, _BatchNorm):
        return camera_bn_from(module, num_cameras, momentum, unseen_camera)
    for name, child in list(module.named_children()):
        new = convert_to_camera_bn(child, num_cameras, momentum, unseen_camera)
        if new is not child:
            setattr(module, name, new)
    return module


def camera_bn_layers(module: nn.Module) -> list:
    """All CameraBatchNorm layers of ``module``, in module order."""
    return [m for m in module.modules() if isinstance(m, CameraBatchNorm)]


@contextmanager
def camera_ids_context(module: nn.Module, camids):
    """Within the block, every CameraBatchNorm of ``module`` normalises sample ``n`` by camera ``camids[n]``.

    Args:
        module (nn.Module): A model containing CameraBatchNorm layers.
        camids (Tensor | Sequence[int]): (N,) camera ids of the batch about to be forwarded.
    """
    layers = camera_bn_layers(module)
    if not layers:
        raise ValueError(f'{type(module).__name__} has no CameraBatchNorm layer; convert it with '
                         'convert_to_camera_bn(module, num_cameras) first')
    camids = torch.as_tensor(camids).long()
    try:
        for layer in layers:
            layer.camids = camids
        yield module
    finally:
        for layer in layers:
            layer.camids = None
