"""Re-estimating Camera-based BatchNorm statistics on the test cameras before validation and testing.

Rethinking the Distribution Gap of Person Re-identification with Camera-based Batch Normalization,
Zhuang et al., ECCV 2020, arXiv:2001.08680. Official code: https://github.com/automan000/Camera-based-Person-ReID
(``test_model.py``, ``FrameEvaluator.collect_sim_bn_info``).

For every camera of the evaluation set, the official code resets all BN statistics, forwards up to
``batch_num_bn_estimatation x test_batch = 50 x 64 = 3,200`` randomly drawn images of that camera (and their
horizontal flips) in train mode, with ``momentum=None`` so that the running statistics become the cumulative
average of the per-batch statistics (incomplete last batch dropped), then extracts that camera's features in eval
mode. Here all cameras' statistics live side by side in each :class:`CameraBatchNorm`, so the hook fills every
camera's slot first and the ordinary test loop then extracts all features, each image with its own camera's
statistics. No label is used: only the images and their camera ids.
"""
from collections import defaultdict
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper
from torch import nn

from tessera_reid.models.layers import CameraBatchNorm, camera_bn_layers
from tessera_reid.registry import HOOKS


def camera_batches(camids, num_per_camera: int, batch_size: int, seed: int = 0) -> Dict[int, List[np.ndarray]]:
    """Per camera, the index batches used for the estimate.

    Up to ``num_per_camera`` indices of each camera drawn without replacement (generator seeded by ``seed``), cut
    into batches of ``batch_size``; an incomplete last batch is dropped (as the official ``drop_last=True``) unless
    it is the camera's only batch.
    """
    if num_per_camera < 2 or batch_size < 2:
        raise ValueError(f'num_per_camera and batch_size must be >= 2, got {num_per_camera}, {batch_size}')
    camids = np.asarray(camids)
    rng = np.random.default_rng(seed)
    batches = {}
    for cam in np.unique(camids).tolist():
        index = np.flatnonzero(camids == cam)
        index = rng.permutation(index)[:num_per_camera]
        if index.size < 2:
            raise ValueError(f'camera {cam} has {index.size} image; estimating its statistics needs at least 2')
        chunks = [index[i:i + batch_size] for i in range(0, index.size, batch_size)]
        if len(chunks) > 1 and chunks[-1].size < batch_size:
            chunks = chunks[:-1]
        batches[int(cam)] = chunks
    return batches


@torch.no_grad()
def estimate_camera_stats(model: nn.Module, dataset, collate_fn, num_per_camera: int = 3200, batch_size: int = 64,
                          flip: bool = True, seed: int = 0, pool_cameras: bool = False) -> Dict[int, int]:
    """Reset and re-estimate every CameraBatchNorm's per-camera statistics on ``dataset``'s images.

    Args:
        model: A :class:`CBNReIDModel` (forward with data samples carrying ``camid``).
        dataset: An mmengine dataset whose ``get_data_info(i)`` has ``camid``; ``dataset[i]`` is a packed sample.
        collate_fn: The evaluation dataloader's collate function.
        num_per_camera, batch_size, seed: See :func:`camera_batches` (official: 3,200, 64).
        flip (bool): Also forward each batch flipped left-right (the official code does).
        pool_cameras (bool): Ablation, not CBN: estimate one set of statistics from all cameras' images (the same
            draw, every batch still from one camera) and give it to every camera (target-domain, camera-agnostic
            re-estimation, in the manner of AdaBN).

    Returns:
        dict: camera id -> number of images used.
    """
    layers = camera_bn_layers(model)
    if not layers:
        raise ValueError(f'{type(model).__name__} has no CameraBatchNorm layer to re-estimate')
    camids = [int(dataset.get_data_info(i)['camid']) for i in range(len(dataset))]
    batches = camera_batches(camids, num_per_camera, batch_size, seed)
    for layer in layers:
        layer.reset_camera_stats()
    was_training = model.training
    model.train()
    try:
        for cam, chunks in batches.items():
            for chunk in chunks:
                data = model.data_preprocessor(collate_fn([dataset[int(i)] for i in chunk]), False)
                inputs, samples = data['inputs'], data['data_samples']
                if pool_cameras:
                    for sample in samples:
                        sample.set_metainfo(dict(camid=0))
                model(inputs, samples, mode='tensor')
                if flip:
                    model(inputs.flip(-1), samples, mode='tensor')
    finally:
        model.train(was_training)
    if pool_cameras:
        with torch.no_grad():
            for layer in layers:
                layer.running_mean.copy_(layer.running_mean[:1].expand_as(layer.running_mean))
                layer.running_var.copy_(layer.running_var[:1].expand_as(layer.running_var))
                layer.num_batches_tracked.fill_(int(layer.num_batches_tracked[0]))
    return {cam: int(sum(c.size for c in chunks)) for cam, chunks in batches.items()}


def camera_mean_spread(layer: CameraBatchNorm) -> float:
    """Spread of the per-camera means relative to the within-camera std, averaged over channels:
    ``mean_c std_k(mu_kc) / mean_c sqrt(mean_k sigma2_kc)`` over the cameras with statistics (0 for one camera)."""
    cams = layer.cameras_with_stats
    if len(cams) < 2:
        return 0.0
    mean, var = layer.running_mean[cams], layer.running_var[cams]
    return float(mean.std(0, unbiased=False).mean() / var.mean(0).sqrt().mean())


@HOOKS.register_module()
class CameraBNStatsHook(Hook):
    """Before every validation and test epoch, re-estimate the CBN statistics on the evaluation set's cameras.

    Args:
        num_per_camera (int): Images drawn per camera (official: 50 batches x 64 = 3,200).
        batch_size (int): Estimation batch size (official: 64).
        flip (bool): Also forward the flipped images (official: True).
        seed (int): Seed of the image draw.
        log_layers (int): Number of CBN layers (first, evenly spaced, last) whose per-camera mean spread is
            logged, the evidence that the per-camera statistics differ; 0 logs none.
        pool_cameras (bool): Ablation only (default False): one pooled set of statistics for all cameras, see
            :func:`estimate_camera_stats`.
    """
    priority = 'HIGH'

    def __init__(self, num_per_camera: int = 3200, batch_size: int = 64, flip: bool = True, seed: int = 0,
                 log_layers: int = 4, pool_cameras: bool = False):
        self.pool_cameras = pool_cameras
        self.num_per_camera, self.batch_size, self.flip, self.seed = num_per_camera, batch_size, flip, seed
        self.log_layers = log_layers

    def _estimate(self, runner, loader, mode: str) -> None:
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        counts = estimate_camera_stats(model, loader.dataset, loader.collate_fn, self.num_per_camera,
                                       self.batch_size, self.flip, self.seed, self.pool_cameras)
        msg = (f'CameraBNStatsHook ({mode}): re-estimated per-camera statistics of '
               f'{len(camera_bn_layers(model))} CBN layers on cameras {sorted(counts)} '
               f'({sum(counts.values())} images: {counts}, flip={self.flip}'
               + (', pooled over cameras)' if self.pool_cameras else ')'))
        if self.log_layers > 0:
            names = [(n, m) for n, m in model.named_modules() if isinstance(m, CameraBatchNorm)]
            picks = sorted(set(np.linspace(0, len(names) - 1, min(self.log_layers, len(names))).round().astype(int)))
            spreads = ', '.join(f'{names[i][0]} {camera_mean_spread(names[i][1]):.3f}' for i in picks)
            msg += f'; spread of per-camera means / within-camera std: {spreads}'
        runner.logger.info(msg)

    def before_val_epoch(self, runner) -> None:
        self._estimate(runner, runner.val_dataloader, 'val')

    def before_test_epoch(self, runner) -> None:
        self._estimate(runner, runner.test_dataloader, 'test')
