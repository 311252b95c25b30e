"""Camera-based Batch Normalization (CBN): batch normalisation with one set of statistics per camera.

Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization,
Zhuang et al., ECCV 2020, arXiv:2001.08680. Official code: https://github.com/automan000/Camera-based-Person-ReID

For an input ``x`` (N, C, *) whose sample ``n`` was taken by camera ``k_n``::

    y_n = gamma * (x_n - mu_{k_n}) / sqrt(sigma2_{k_n} + eps) + beta

``gamma``, ``beta`` (C,) are shared by all cameras. In training ``mu_k`` and ``sigma2_k`` are the biased batch
statistics of the samples of camera ``k`` in the mini-batch (over the batch and spatial dims), i.e. every camera's
group is batch-normalised on its own; at deployment they are the running statistics of camera ``k``, re-estimated on
that camera's (unlabelled) images. The running statistics of camera ``k`` are updated from its groups as
``r <- r + f * (b - r)`` with ``f = momentum`` or, for ``momentum=None`` (the official code's setting), the
cumulative average ``f = 1 / t`` over the ``t`` groups seen since the last :meth:`reset_camera_stats`; the variance
recorded is the unbiased one, as in ``torch.nn.BatchNorm``.

The camera ids are not an argument of ``forward`` (so the layer drops into ``nn.Sequential`` backbones): they are
set on the layer for the duration of a forward pass by :func:`tessera_reid.models.layers.camera_ids_context`.
"""
from typing import Optional

import torch
from torch import nn


class CameraBatchNorm(nn.Module):
    """Batch normalisation with per-camera statistics and shared affine parameters.

    Args:
        num_features (int): Channels ``C`` (dim 1 of the input).
        num_cameras (int): Cameras ``K``; camera ids must lie in ``[0, K)``.
        eps (float): Added to the variance.
        momentum (float, optional): Running-statistics factor; ``None`` (default, as the official code) is the
            cumulative average over the groups seen since the last reset.
        affine (bool): Learn the shared ``weight`` / ``bias`` (C,).
        unseen_camera (str): What eval mode does with a camera that has no statistics (no group seen since the
            last reset): ``'error'`` (default) raises, naming the camera and the cameras with statistics;
            ``'average'`` uses the mean of the running means and of the running variances of the cameras that
            have statistics.

    Buffers: ``running_mean``, ``running_var`` (K, C); ``num_batches_tracked`` (K,), groups seen per camera.

    Shapes: input (N, C) or (N, C, *) with camera ids (N,) -> output of the input's shape.
    """
    unseen_choices = ('error', 'average')

    def __init__(self, num_features: int, num_cameras: int, eps: float = 1e-5, momentum: Optional[float] = None,
                 affine: bool = True, unseen_camera: str = 'error'):
        super().__init__()
        if num_features <= 0 or num_cameras <= 0:
            raise ValueError(f'num_features and num_cameras must be positive, got {num_features}, {num_cameras}')
        if unseen_camera not in self.unseen_choices:
            raise ValueError(f'invalid unseen_camera {unseen_camera!r}; valid: {self.unseen_choices}')
        if momentum is not None and not 0 < momentum <= 1:
            raise ValueError(f'momentum must be None or in (0, 1], got {momentum}')
        self.num_features, self.num_cameras = num_features, num_cameras
        self.eps, self.momentum, self.affine, self.unseen_camera = eps, momentum, affine, unseen_camera
        if affine:
            self.weight = nn.Parameter(torch.ones(num_features))
            self.bias = nn.Parameter(torch.zeros(num_features))
        else:
            self.register_parameter('weight', None)
            self.register_parameter('bias', None)
        self.register_buffer('running_mean', torch.zeros(num_cameras, num_features))
        self.register_buffer('running_var', torch.ones(num_cameras, num_features))
        self.register_buffer('num_batches_tracked', torch.zeros(num_cameras, dtype=torch.long))
        self.camids: Optional[torch.Tensor] = None

    def reset_camera_stats(self) -> None:
        """Forget all cameras' statistics (means 0, variances 1, nothing tracked)."""
        self.running_mean.zero_()
        self.running_var.fill_(1)
        self.num_batches_tracked.zero_()

    @property
    def cameras_with_stats(self) -> list:
        return torch.nonzero(self.num_batches_tracked > 0).flatten().tolist()

    def _check_input(self, x: torch.Tensor) -> torch.Tensor:
        if x.dim() < 2 or x.size(1) != self.num_features:
            raise ValueError(f'CameraBatchNorm({self.num_features}) expects (N, {self.num_features}, *) inputs, '
                             f'got shape {tuple(x.shape)}')
        camids = self.camids
        if camids is None:
            raise RuntimeError('CameraBatchNorm needs the camera id of every sample: run the forward pass inside '
                               'camera_ids_context(model, camids) (CBNReIDModel does this from the data samples\' '
                               '"camid")')
        camids = torch.as_tensor(camids, device=x.device).long()
        if camids.shape != (x.size(0),):
            raise ValueError(f'camera ids of shape {tuple(camids.shape)} for a batch of {x.size(0)} samples')
        if camids.numel() and (camids.min() < 0 or camids.max() >= self.num_cameras):
            bad = camids[(camids < 0) | (camids >= self.num_cameras)][0].item()
            raise ValueError(f'camera id {bad} outside [0, {self.num_cameras}) (num_cameras={self.num_cameras})')
        return camids

    def _shape(self, x: torch.Tensor) -> tuple:
        return (1, self.num_features) + (1,) * (x.dim() - 2)

    def _affine(self, y: torch.Tensor) -> torch.Tensor:
        if not self.affine:
            return y
        return y * self.weight.view(self._shape(y)) + self.bias.view(self._shape(y))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        camids = self._check_input(x)
        if self.training:
            return self._affine(self._forward_train(x, camids))
        return self._affine(self._forward_eval(x, camids))

    def _forward_train(self, x: torch.Tensor, camids: torch.Tensor) -> torch.Tensor:
        dims = [0] + list(range(2, x.dim()))
        shape = self._shape(x)
        parts, order = [], []
        for cam in torch.unique(camids).tolist():
            index = torch.nonzero(camids == cam).flatten()
            group = x.index_select(0, index)
            count = group.numel() // self.num_features
            if count < 2:
                raise ValueError(f'camera {cam} has {count} value per channel in this batch; CameraBatchNorm needs at '
                                 'least 2 (CBNReIDModel drops a camera\'s single sample from a training batch)')
            mean = group.mean(dim=dims)
            var = group.var(dim=dims, unbiased=False)
            parts.append((group - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps))
            order.append(index)
            with torch.no_grad():
                self.num_batches_tracked[cam] += 1
                factor = (1.0 / self.num_batches_tracked[cam].item() if self.momentum is None else self.momentum)
                self.running_mean[cam].add_(factor * (mean.detach() - self.running_mean[cam]))
                unbiased = var.detach() * count / (count - 1)
                self.running_var[cam].add_(factor * (unbiased - self.running_var[cam]))
        out = torch.cat(parts, 0)
        inverse = torch.empty_like(camids)
        inverse[torch.cat(order)] = torch.arange(camids.numel(), device=camids.device)
        return out.index_select(0, inverse)

    def camera_statistics(self, camids: torch.Tensor):
        """Running ``(mean, var)`` (N, C) for each sample's camera, by the ``unseen_camera`` rule."""
        seen = self.num_batches_tracked > 0
        unseen = sorted(set(torch.unique(camids).tolist()) - set(self.cameras_with_stats))
        mean, var = self.running_mean[camids], self.running_var[camids]
        if unseen:
            if self.unseen_camera == 'error' or not seen.any():
                raise ValueError(f'camera(s) {unseen} have no CameraBatchNorm statistics (cameras with statistics: '
                                 f'{self.cameras_with_stats}); re-estimate them on the test cameras first '
                                 "(CameraBNStatsHook), or set unseen_camera='average'")
            fallback = torch.isin(camids, torch.tensor(unseen, device=camids.device))
            mean = torch.where(fallback[:, None], self.running_mean[seen].mean(0)[None], mean)
            var = torch.where(fallback[:, None], self.running_var[seen].mean(0)[None], var)
        return mean, var

    def _forward_eval(self, x: torch.Tensor, camids: torch.Tensor) -> torch.Tensor:
        mean, var = self.camera_statistics(camids)
        shape = (x.size(0), self.num_features) + (1,) * (x.dim() - 2)
        return (x - mean.view(shape)) / torch.sqrt(var.view(shape) + self.eps)

    def extra_repr(self) -> str:
        return (f'{self.num_features}, num_cameras={self.num_cameras}, eps={self.eps}, momentum={self.momentum}, '
                f'affine={self.affine}, unseen_camera={self.unseen_camera!r}')
