"""Split BatchNorm: one process simulating the per-GPU BatchNorm of multi-GPU training.

MoCo's shuffling BN (He et al., arXiv:1911.05722, section 3.3) relies on each GPU normalising its own
part of the batch; the official single-GPU CIFAR-10 demo of https://github.com/facebookresearch/moco
(``colab/moco_cifar10_demo.ipynb``) emulates that with a BatchNorm that normalises ``num_splits``
groups of the batch separately. Here the groups are the samples ``n`` with the same ``n mod
num_splits``; the running statistics are updated with the mean of the groups' statistics. In eval
mode it is an ordinary BatchNorm, and its state dict is that of ``nn.BatchNorm2d`` (the linear probe
loads it into one).
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['SplitBatchNorm2d']


@MODELS.register_module()
class SplitBatchNorm2d(nn.BatchNorm2d):
    """``norm_cfg=dict(type='SplitBatchNorm2d', num_splits=8)`` (MoCo's CIFAR demo: 8).

    Shapes: (N, C, H, W) with N a multiple of ``num_splits`` in training -> same shape.
    """

    def __init__(self, num_features: int, num_splits: int = 8, **kwargs):
        super().__init__(num_features, **kwargs)
        if num_splits < 1:
            raise ValueError(f'num_splits must be >= 1, got {num_splits}')
        self.num_splits = num_splits

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.num_splits == 1:
            return super().forward(x)
        n, c, h, w = x.shape
        s = self.num_splits
        if n % s:
            raise ValueError(f'SplitBatchNorm2d: batch {n} is not a multiple of num_splits={s} '
                             f'(set drop_last=True and a batch size divisible by it)')
        # (N, C, H, W) -> (N/s, s*C, H, W): channel j*C + c of row r is channel c of sample r*s + j,
        # so "channel" j*C + c is normalised over the samples n = j (mod s).
        mean_split = self.running_mean.repeat(s) if self.track_running_stats else None
        var_split = self.running_var.repeat(s) if self.track_running_stats else None
        weight = self.weight.repeat(s) if self.affine else None
        bias = self.bias.repeat(s) if self.affine else None
        if self.track_running_stats:
            self.num_batches_tracked.add_(1)
        momentum = self.momentum if self.momentum is not None else 1.0 / float(self.num_batches_tracked)
        out = F.batch_norm(x.reshape(n // s, s * c, h, w), mean_split, var_split, weight, bias, True, momentum,
                           self.eps).reshape(n, c, h, w)
        if self.track_running_stats:
            with torch.no_grad():
                self.running_mean.copy_(mean_split.view(s, c).mean(0))
                self.running_var.copy_(var_split.view(s, c).mean(0))
        return out

    def extra_repr(self) -> str:
        return super().extra_repr() + f', num_splits={self.num_splits}'
