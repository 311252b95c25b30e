"""The re-ID model with Camera-based Batch Normalization (CBN) in place of every BatchNorm.

Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization,
Zhuang et al., ECCV 2020, arXiv:2001.08680. Official code: https://github.com/automan000/Camera-based-Person-ReID

Training (the official ``CameraClsTrainer``): a mini-batch is split by camera, a camera with a single sample in the
batch is dropped (``drop_single_camera_samples``), and each camera's group is batch-normalised with its own
statistics in every BN layer. The official code forwards each camera's sub-batch separately; since every other
layer acts per sample, one forward pass with camera-wise BN layers gives the same outputs. Deployment: the
per-camera statistics are re-estimated on the test cameras' images (:class:`CameraBNStatsHook`) and each image is
normalised with its own camera's statistics. Camera ids come from the data samples' ``camid`` (pack it with
``PackClsInputs(meta_keys=(..., 'camid'))``).
"""
from typing import List, Optional

import torch

from tessera_reid.registry import MODELS
from .layers import camera_ids_context, convert_to_camera_bn
from .reid_model import ReIDModel


def camera_ids_of(data_samples, device=None) -> torch.Tensor:
    """(N,) long camera ids from the data samples' ``camid`` metainfo."""
    if data_samples is None:
        raise ValueError('CBNReIDModel needs data samples carrying "camid" (the camera of every image); add '
                         "'camid' to PackClsInputs' meta_keys")
    camids = []
    for i, sample in enumerate(data_samples):
        camid = sample.metainfo.get('camid', None) if hasattr(sample, 'metainfo') else None
        if camid is None:
            raise ValueError(f'data sample {i} has no "camid"; CBNReIDModel normalises by camera: add \'camid\' '
                             "to PackClsInputs' meta_keys")
        camids.append(int(camid))
    return torch.tensor(camids, dtype=torch.long, device=device)


@MODELS.register_module()
class CBNReIDModel(ReIDModel):
    """:class:`ReIDModel` whose BatchNorm layers (backbone, neck and head, e.g. the BNNeck) are camera-based.

    Args:
        num_cameras (int): Camera ids lie in ``[0, num_cameras)`` (train and test cameras share this range; the
            statistics are re-estimated for the test cameras before testing).
        momentum (float, optional): CameraBatchNorm running-statistics factor; ``None`` (official) = cumulative.
        unseen_camera (str): ``'error'`` (default) or ``'average'``, see :class:`CameraBatchNorm`.
        drop_single_camera_samples (bool): In ``mode='loss'``, drop the samples whose camera occurs once in the
            batch (the official trainer keeps only cameras with more than one image).
        **kwargs: :class:`ReIDModel`'s arguments (backbone, head, neck, ...).

    Shapes: inputs (N, C_in, H, W) with N camera ids -> embeddings (N, C).
    """

    def __init__(self, num_cameras: int, momentum: Optional[float] = None, unseen_camera: str = 'error',
                 drop_single_camera_samples: bool = True, **kwargs):
        super().__init__(**kwargs)
        self.num_cameras = num_cameras
        self.drop_single_camera_samples = drop_single_camera_samples
        for name in ('backbone', 'neck', 'head'):
            part = getattr(self, name)
            if part is not None:
                setattr(self, name, convert_to_camera_bn(part, num_cameras, momentum, unseen_camera))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        camids = camera_ids_of(data_samples, device=inputs.device)
        if camids.numel() != inputs.size(0):
            raise ValueError(f'{camids.numel()} data samples for {inputs.size(0)} images')
        if mode == 'loss' and self.drop_single_camera_samples:
            counts = torch.bincount(camids, minlength=int(camids.max()) + 1)
            keep = counts[camids] > 1
            if not keep.any():
                raise ValueError('no camera has two images in this training batch; CBN normalises each camera\'s '
                                 'samples with their own batch statistics')
            if not keep.all():
                index = torch.nonzero(keep).flatten()
                inputs = inputs.index_select(0, index)
                data_samples = [data_samples[i] for i in index.tolist()]
                camids = camids[index]
        with camera_ids_context(self, camids):
            return super().forward(inputs, data_samples, mode)
