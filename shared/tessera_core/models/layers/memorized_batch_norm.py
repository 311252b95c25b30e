"""Memorized Batch Normalization (MBN).

Double Forward Propagation for Memorized Batch Normalization, Guo, Wu, Deng, Chen, Tan, AAAI 2018,
arXiv:2010.04947. No official code was released (none is linked from the arXiv / AAAI pages;
Papers with Code lists none). The paper's full text was not available offline when this was
written: the combination rule and the order of the Double-Forward passes below are reconstructed
from its abstract (memory of recent batches, identical rule in training and inference, a second
forward after the SGD update against the "distribution shift before and after the update for the
considered batch") and should be checked against the paper's equations.

BatchNorm estimates the mean and variance of a layer's input from one mini-batch, which is noisy
for small batches, and normalises differently at inference (moving averages). MBN memorises the
statistics of the ``k`` most recent mini-batches and normalises with their combination, in
training and in inference alike.

Memory and combination rule. For batch ``t`` with per-channel mean ``mu_t`` and (biased) variance
``s2_t`` over its ``n_t = N H W`` values, the layer keeps ``(mu_i, s2_i, n_i)`` of the last ``k``
batches and combines them as the statistics of their union (law of total variance)::

    w_i = n_i / sum_j n_j
    mu  = sum_i w_i mu_i
    s2  = sum_i w_i s2_i  +  sum_i w_i (mu_i - mu)^2      (within-batch + across-batch variance)

so that ``mu`` and ``s2`` equal the mean and the biased variance of the k batches concatenated
(the second term corrects the plain average of the variances for the spread of the batch means;
with equal batch sizes the weights are ``1 / k``). ``y = gamma (x - mu) / sqrt(s2 + eps) + beta``.

- Training forward: ``(mu_t, s2_t, n_t)`` of the current batch is pushed into the memory (a ring
  buffer of size k, replacing the oldest entry), then the memory is pooled: the current batch and
  the ``k - 1`` before it. With ``k = 1`` this is exactly BatchNorm in train mode.
- Training backward (``gradient``; the abstract does not say, this is the reconstruction's choice):

  * ``'renorm'`` (default): the output is written ``gamma (x_hat_t r + d) + beta`` with
    ``x_hat_t = (x - mu_t) / sqrt(s2_t + eps)`` the current batch normalised by its own statistics
    and the corrections ``r = sqrt(s2_t + eps) / sqrt(s2 + eps)``, ``d = (mu_t - mu) / sqrt(s2 + eps)``
    held constant (Batch Renormalization's device, Ioffe 2017): the same output, and BatchNorm's
    gradient through the current batch's statistics, scaled by ``r``. The gradient keeps BN's
    invariance: a shift or scale of the current features gets no gradient.
  * ``'exact'``: the derivative of the pooled formula, the older entries constants, so only the
    current batch's share ``w_t = n_t / sum n_i`` of ``mu, s2`` carries gradient. Measured: at batch
    4 with k = 4 this is the case Ioffe and Szegedy (2015, Sec. 2) warn about -- the gradient
    ignores 3/4 of the normalisation, later batches absorb what it changes -- and training stalls
    (Fashion-MNIST, 3,000 steps: loss 0.85 against 0.55 for BN and for ``'renorm'``).
- Inference: the same rule over the ``k`` memorised batches, i.e. a network evaluated right after
  a training step normalises the last training batch exactly as that step did (the paper's
  "consistent behaviour in training and inference"). Before any training step the memory is
  empty and the input batch's own statistics are used.
- Double-Forward: after the SGD update of batch ``t``
  the parameters change, so the statistics memorised for ``t`` (computed before the update) no
  longer describe the features of the updated network ("distribution shift"). The scheme runs a
  second forward pass of the same batch with the updated parameters, without backward, and
  replaces the newest memory entry by the statistics it measures. :func:`refresh_memorized_statistics`
  switches every MBN layer of a model into that mode; :class:`tessera_core.engine.hooks.MBNDoubleForwardHook`
  does it after every optimizer step of an mmengine runner (``custom_hooks=[dict(type='MBNDoubleForwardHook')]``).

The memory (``memory_mean``, ``memory_var``, ``memory_count``, ``num_memorized``) is made of
buffers: it is saved in checkpoints, so a loaded model evaluates with the statistics it trained
with. MBN keeps no moving averages.
"""
import contextlib
from typing import Iterator, Tuple

import torch
import torch.nn.functional as F
from mmengine.registry import MODELS as MMENGINE_MODELS
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tessera_core.registry import MODELS


def combine_batch_statistics(means: torch.Tensor, variances: torch.Tensor,
                             counts: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Mean and biased variance of the union of B batches from their own statistics.

    Args:
        means (Tensor): (B, C) per-batch means.
        variances (Tensor): (B, C) per-batch biased variances.
        counts (Tensor): (B,) number of values each batch has per channel (weights ``n_i``).

    Returns:
        tuple[Tensor, Tensor]: mean (C,) ``sum_i w_i mu_i`` and variance (C,)
        ``sum_i w_i (s2_i + (mu_i - mu)^2)`` with ``w_i = n_i / sum_j n_j``.
    """
    weights = (counts / counts.sum()).to(means.dtype)[:, None]
    mean = (weights * means).sum(0)
    var = (weights * (variances + (means - mean) ** 2)).sum(0)
    return mean, var


class _MemorizedNorm(torch.autograd.Function):
    """The ``gradient='exact'`` training forward: ``gamma (x - mu) / sqrt(s2 + eps) + beta`` with
    ``mu, s2`` the statistics pooled over the current batch x (weight ``w_t``) and memorised
    constant batches, differentiated through the current batch's share.

    With ``y_hat = (x - mu) r``, ``r = (s2 + eps)^(-1/2)``, ``d mu / d x_j = w_t / n`` and
    ``d s2 / d x_j = 2 w_t (x_j - mu) / n`` (n = N H W), the input gradient is BatchNorm's with the
    two mean terms scaled by ``w_t``::

        dL/dx = r (g - w_t mean(g) - w_t y_hat mean(g y_hat)),   g = gamma dL/dy
              = w_t * (BatchNorm's train-mode input gradient at mu, r) + (1 - w_t) * r g

    (means over N, H, W per channel); the second line is how it is computed, with PyTorch's fused
    BatchNorm kernels. ``w_t = 1`` is exactly BatchNorm's backward.
    """

    @staticmethod
    def forward(ctx, x, mean, var, current_weight, weight, bias, eps):
        r = torch.rsqrt(var + eps)
        ctx.save_for_backward(x, mean, r, weight)
        ctx.current_weight = current_weight
        return F.batch_norm(x, mean, var, weight, bias, False, 0.0, eps)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out):
        x, mean, r, weight = ctx.saved_tensors
        need_affine = weight is not None and ctx.needs_input_grad[4]
        grad_train, grad_weight, grad_bias = torch.ops.aten.native_batch_norm_backward(
            grad_out, x, weight, None, None, mean, r, True, 0.0, [True, need_affine, need_affine])
        scale = r if weight is None else r * weight
        grad_fixed = grad_out * scale[None, :, None, None]  # gradient at constant statistics
        grad_x = torch.lerp(grad_fixed, grad_train, ctx.current_weight)
        return grad_x, None, None, None, grad_weight, grad_bias, None


@MODELS.register_module('MBN')
@MODELS.register_module()
class MemorizedBatchNorm2d(_BatchNorm):
    """Memorized BatchNorm over (N, C, H, W) inputs (see module doc).

    Registered as ``'MemorizedBatchNorm2d'`` and ``'MBN'`` in tessera-core's ``MODELS`` and as
    ``'MBN'`` in mmengine's root ``MODELS``, where mmcv's ``build_norm_layer`` looks norm types up
    from any scope: ``norm_cfg=dict(type='MBN', memory_size=4)`` in core's ResNet (or any mmcv/mmdet
    model) replaces every BatchNorm. It subclasses ``_BatchNorm`` (abbreviation ``bn``), so
    ``norm_eval``, BN initialisers and the optimizer's ``norm_decay_mult`` treat it as BatchNorm.

    Args:
        num_features (int): Channels C.
        memory_size (int): k, the number of most recent batches whose statistics are combined
            (the current one included in training). 1 is plain BatchNorm in training.
        eps (float): Added to the variance.
        affine (bool): Learnable per-channel scale ``gamma`` and shift ``beta``.
        gradient (str): ``'renorm'`` (default) or ``'exact'``, the training backward (module doc).

    Shapes: (N, C, H, W) -> (N, C, H, W).
    """

    gradients = ('renorm', 'exact')

    def __init__(self, num_features: int, memory_size: int = 4, eps: float = 1e-5, affine: bool = True,
                 gradient: str = 'renorm', device=None, dtype=None):
        if gradient not in self.gradients:
            raise ValueError(f'gradient must be one of {self.gradients}, got {gradient!r}')
        if not isinstance(memory_size, int) or isinstance(memory_size, bool) or memory_size < 1:
            raise ValueError(f'memory_size must be a positive int (the number of memorised batches), '
                             f'got {memory_size!r}')
        super().__init__(num_features, eps=eps, momentum=None, affine=affine, track_running_stats=False,
                         device=device, dtype=dtype)
        self.memory_size = memory_size
        self.gradient = gradient
        factory = dict(device=device, dtype=torch.float32)
        self.register_buffer('memory_mean', torch.zeros(memory_size, num_features, **factory))
        self.register_buffer('memory_var', torch.ones(memory_size, num_features, **factory))
        self.register_buffer('memory_count', torch.zeros(memory_size, **factory))
        self.register_buffer('num_memorized', torch.tensor(0, dtype=torch.long, device=device))
        self.refreshing = False

    def extra_repr(self) -> str:
        return (f'{self.num_features}, memory_size={self.memory_size}, eps={self.eps}, affine={self.affine}, '
                f'gradient={self.gradient!r}')

    def _check_input_dim(self, x: torch.Tensor) -> None:
        if x.dim() != 4 or x.shape[1] != self.num_features:
            raise ValueError(f'MemorizedBatchNorm2d expects input (N, {self.num_features}, H, W), '
                             f'got {tuple(x.shape)}')

    def reset_memory(self) -> None:
        """Forget every memorised batch."""
        self.memory_mean.zero_()
        self.memory_var.fill_(1.0)
        self.memory_count.zero_()
        self.num_memorized.zero_()

    def memorized_statistics(self) -> Tuple[torch.Tensor, torch.Tensor]:
        """Combined mean and variance (C,) of the memorised batches (the inference statistics).

        Empty slots have count 0, hence weight 0, until k batches have been seen.
        """
        if int(self.num_memorized) == 0:
            raise RuntimeError('the memory of this MemorizedBatchNorm2d is empty: no training batch has been seen')
        return combine_batch_statistics(self.memory_mean, self.memory_var, self.memory_count)

    @torch.no_grad()
    def _memorize(self, mean: torch.Tensor, var: torch.Tensor, count: int, replace_newest: bool) -> None:
        total = int(self.num_memorized)
        if replace_newest and total > 0:
            slot = (total - 1) % self.memory_size
        else:
            slot = total % self.memory_size
            self.num_memorized += 1
        self.memory_mean[slot] = mean.detach().to(self.memory_mean.dtype)
        self.memory_var[slot] = var.detach().to(self.memory_var.dtype)
        self.memory_count[slot] = float(count)

    @staticmethod
    def batch_statistics(x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-channel mean and biased variance (C,) of x (N, C, H, W).

        Two passes (mean, then mean squared deviation): several times faster on CPU than
        ``torch.var_mean`` over dims (0, 2, 3), and as accurate.
        """
        mean = x.mean(dim=(0, 2, 3))
        var = (x - mean[None, :, None, None]).square().mean(dim=(0, 2, 3))
        return mean, var

    def _renorm_forward(self, x: torch.Tensor, batch_mean: torch.Tensor, batch_var: torch.Tensor,
                        mean: torch.Tensor, var: torch.Tensor) -> torch.Tensor:
        """``gamma (x_hat_t r + d) + beta`` = ``gamma (x - mu) / sqrt(s2 + eps) + beta`` with constant
        ``r, d`` (module doc): BatchNorm's train-mode kernel on x with scale ``gamma r`` and shift
        ``gamma d + beta``."""
        inv_std = torch.rsqrt(var + self.eps)
        r = (torch.sqrt(batch_var + self.eps) * inv_std).to(x.dtype)
        d = ((batch_mean - mean) * inv_std).to(x.dtype)
        scale = r if self.weight is None else self.weight * r
        shift = d if self.weight is None else self.weight * d
        if self.bias is not None:
            shift = shift + self.bias
        return F.batch_norm(x, None, None, scale, shift, True, 0.0, self.eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x (N, C, H, W) -> (N, C, H, W) normalised with the memorised statistics (module doc).

        In training the gradient flows through the current batch's statistics (``gradient``), the
        memorised ones are constants; in eval mode all statistics are constants.
        """
        self._check_input_dim(x)
        count = x.numel() // self.num_features
        if self.training and not self.refreshing:
            # Memorise the current batch first (it takes the oldest slot), then pool the memory:
            # the current batch and the k - 1 before it, i.e. the inference rule.
            with torch.no_grad():
                batch_mean, batch_var = self.batch_statistics(x)
                self._memorize(batch_mean, batch_var, count, replace_newest=False)
                mean, var = self.memorized_statistics()
                current_weight = count / float(self.memory_count.sum())
            if self.gradient == 'renorm':
                return self._renorm_forward(x, batch_mean, batch_var, mean, var)
            return _MemorizedNorm.apply(x, mean.to(x.dtype), var.to(x.dtype), current_weight, self.weight,
                                        self.bias, self.eps)
        if self.training:  # the second forward of Double-Forward: re-measure the newest batch
            with torch.no_grad():
                self._memorize(*self.batch_statistics(x), count, replace_newest=True)
        if int(self.num_memorized) == 0:  # nothing memorised yet: the input's own statistics
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        mean, var = self.memorized_statistics()
        return F.batch_norm(x, mean.to(x.dtype), var.to(x.dtype), self.weight, self.bias, False, 0.0, self.eps)


@contextlib.contextmanager
def refresh_memorized_statistics(model: nn.Module) -> Iterator[int]:
    """Within this context, a train-mode forward of ``model`` replaces the newest memory entry of
    every :class:`MemorizedBatchNorm2d` by the statistics of its input instead of adding one
    (the second forward pass of the Double-Forward scheme). Yields the number of MBN layers.

    Usage after each optimizer step (what ``MBNDoubleForwardHook`` does)::

        with torch.no_grad(), refresh_memorized_statistics(model):
            model(same_batch)
    """
    layers = [m for m in model.modules() if isinstance(m, MemorizedBatchNorm2d)]
    previous = [m.refreshing for m in layers]
    for m in layers:
        m.refreshing = True
    try:
        yield len(layers)
    finally:
        for m, flag in zip(layers, previous):
            m.refreshing = flag


MMENGINE_MODELS.register_module('MBN', module=MemorizedBatchNorm2d)
