"""Center loss, with the strong baseline's separate SGD update of the centers.

A Discriminative Feature Learning Approach for Deep Face Recognition, Wen et al., ECCV 2016 (the loss), as used
by Bag of Tricks and A Strong Baseline for Deep Person Re-identification, Luo et al., arXiv:1903.07071.
Official code: https://github.com/michuanhaohao/reid-strong-baseline (``layers/center_loss.py``, the center
optimizer in ``solver/build.py`` and ``create_supervised_trainer_with_center`` in ``engine/trainer.py``).

For a batch of B features ``x_i`` with identities ``y_i`` and one learned center ``c_j`` per identity:

    L_C = (1 / B) * sum_i ||x_i - c_{y_i}||^2            (the official code's form: no 1/2 factor)

and the total loss carries it with weight ``beta`` (0.0005 in the paper): ``L = L_ID + L_tri + beta * L_C``.
The network's parameters get ``dL/dtheta`` from the main optimizer. The centers have their own optimizer, plain
SGD (no momentum, no weight decay) with lr ``alpha`` (0.5), applied to the gradient of the *unweighted* loss
(the official trainer divides the centers' gradient by ``beta`` before ``optimizer_center.step()``):

    c_j <- c_j - alpha * dL_C/dc_j,   dL_C/dc_j = (2 / B) * sum_{i: y_i = j} (c_j - x_i)

Here the centers are a buffer (saved in checkpoints, invisible to the main optimizer, so no weight decay or
Adam moments touch them). In training, ``forward`` reads them through a leaf copy that requires a gradient; a
hook on that copy applies the SGD step above when ``backward`` reaches it, so ``mim train`` with any main
optimizer reproduces the official two-optimizer update without a custom train step. The update is therefore
applied once per backward (no gradient accumulation or loss scaling is accounted for) and, in distributed runs,
per rank (mmengine's DDP broadcasts buffers from rank 0 at the next forward, so rank 0's update is kept).
Centers start as ``randn(num_classes, feat_dim)`` as in the official code.
"""
import torch
from torch import nn

from tessera_reid.registry import MODELS


@MODELS.register_module()
class CenterLoss(nn.Module):
    """Center loss on (N, feat_dim) features, centers updated by their own SGD.

    Args:
        num_classes (int): Training identities (one center each).
        feat_dim (int): Feature dimension.
        loss_weight (float): ``beta``, the weight of the loss in the total (0.0005 in the strong baseline).
        center_lr (float): ``alpha``, learning rate of the centers' SGD (0.5 in the strong baseline); 0 freezes
            them.
    """

    def __init__(self, num_classes: int, feat_dim: int, loss_weight: float = 0.0005, center_lr: float = 0.5):
        super().__init__()
        if num_classes <= 0 or feat_dim <= 0:
            raise ValueError(f'CenterLoss: num_classes and feat_dim must be positive, got {num_classes}, {feat_dim}')
        if loss_weight <= 0:
            raise ValueError(f'CenterLoss: loss_weight must be > 0 (the centers step on grad / loss_weight), '
                             f'got {loss_weight}')
        if center_lr < 0:
            raise ValueError(f'CenterLoss: center_lr must be >= 0, got {center_lr}')
        self.num_classes, self.feat_dim = num_classes, feat_dim
        self.loss_weight, self.center_lr = loss_weight, center_lr
        self.register_buffer('centers', torch.randn(num_classes, feat_dim))

    def _sgd_step(self, grad: torch.Tensor) -> None:
        # grad is d(total loss)/dc = loss_weight * dL_C/dc; step on the unweighted gradient, as the official code
        with torch.no_grad():
            self.centers.sub_(grad / self.loss_weight, alpha=self.center_lr)

    def forward(self, feats: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """
        Args:
            feats (Tensor): (N, feat_dim) features (the pre-BN pooled feature in the strong baseline).
            labels (Tensor): (N,) identity labels in [0, num_classes).

        Returns:
            Tensor: ``loss_weight * L_C`` (scalar).
        """
        if feats.dim() != 2 or feats.size(1) != self.feat_dim or labels.shape != (feats.size(0),):
            raise ValueError(f'CenterLoss expects (N, {self.feat_dim}) features and (N,) labels, got '
                             f'{tuple(feats.shape)} and {tuple(labels.shape)}')
        if labels.numel() and (int(labels.min()) < 0 or int(labels.max()) >= self.num_classes):
            raise ValueError(f'CenterLoss: label outside [0, {self.num_classes}): min {int(labels.min())}, '
                             f'max {int(labels.max())}')
        centers = self.centers
        if self.training and torch.is_grad_enabled() and self.center_lr > 0:
            centers = centers.detach().clone().requires_grad_(True)
            centers.register_hook(self._sgd_step)
        diff = feats - centers[labels]
        loss = diff.pow(2).sum(dim=1).clamp(min=1e-12, max=1e12).sum() / feats.size(0)
        return self.loss_weight * loss

    def extra_repr(self) -> str:
        return (f'num_classes={self.num_classes}, feat_dim={self.feat_dim}, loss_weight={self.loss_weight}, '
                f'center_lr={self.center_lr}')
