"""MAE's pre-training head: normalised-pixel targets and the loss on masked patches only.

Masked Autoencoders Are Scalable Vision Learners, He et al., arXiv:2111.06377, Sec. 3 ("Reconstruction
target"; the loss is computed only on masked patches) and the official ``forward_loss``. Name after
mmpretrain's ``MAEPretrainHead``; loss module ``PixelReconstructionLoss``.

``patchify``: (N, C, H, W) -> (N, L, p * p * C), patches row-major, each flattened as (row, col, channel).
``norm_pix``: each target patch ``t`` becomes ``(t - mean(t)) / sqrt(var(t) + 1e-6)`` (unbiased var, as
``torch.var`` in the official code). Loss: per-patch mean squared error, averaged over masked patches:
``sum_l mask_l * mse_l / sum_l mask_l``.
"""
import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS


@MODELS.register_module()
class PixelReconstructionLoss(nn.Module):
    """Masked mean of a per-patch L2 (or L1) error.

    Args:
        criterion (str): ``'L2'`` or ``'L1'``.
        loss_weight (float): Multiplier.
    """

    def __init__(self, criterion: str = 'L2', loss_weight: float = 1.0):
        super().__init__()
        if criterion not in ('L1', 'L2'):
            raise ValueError(f"criterion must be 'L1' or 'L2', got {criterion!r}")
        self.criterion, self.loss_weight = criterion, loss_weight

    def forward(self, pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        if pred.shape != target.shape:
            raise ValueError(f'prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape')
        err = (pred - target).abs() if self.criterion == 'L1' else (pred - target) ** 2
        err = err.mean(dim=-1)
        return self.loss_weight * (err * mask).sum() / mask.sum().clamp_min(1)


def patchify(imgs: torch.Tensor, patch_size: int) -> torch.Tensor:
    n, c, h, w = imgs.shape
    p = patch_size
    if h % p or w % p:
        raise ValueError(f'patch_size={p} does not divide the image size {h}x{w}')
    x = imgs.reshape(n, c, h // p, p, w // p, p)
    return torch.einsum('nchpwq->nhwpqc', x).reshape(n, (h // p) * (w // p), p * p * c)


def unpatchify(x: torch.Tensor, patch_size: int, grid, channels: int) -> torch.Tensor:
    n = x.shape[0]
    gh, gw = grid
    p = patch_size
    x = x.reshape(n, gh, gw, p, p, channels)
    return torch.einsum('nhwpqc->nchpwq', x).reshape(n, channels, gh * p, gw * p)


@MODELS.register_module()
class MAEPretrainHead(BaseModule):
    """Args:
        loss (dict): Loss config (``PixelReconstructionLoss``).
        norm_pix (bool): Normalise each target patch (MAE's ``norm_pix_loss``; default on in the paper's
            best setting).
        patch_size (int): Patch side p.
    """

    def __init__(self, loss: dict = dict(type='PixelReconstructionLoss', criterion='L2'),
                 norm_pix: bool = True, patch_size: int = 4, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)
        self.norm_pix, self.patch_size = norm_pix, patch_size

    def construct_target(self, imgs: torch.Tensor) -> torch.Tensor:
        target = patchify(imgs, self.patch_size)
        if self.norm_pix:
            mean = target.mean(dim=-1, keepdim=True)
            var = target.var(dim=-1, keepdim=True)
            target = (target - mean) / (var + 1.e-6) ** .5
        return target

    def loss(self, pred: torch.Tensor, imgs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return self.loss_module(pred, self.construct_target(imgs), mask)
