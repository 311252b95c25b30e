"""Knowledge distillation with temperature: the KL divergence between softened class distributions.

Distilling the Knowledge in a Neural Network, Hinton, Vinyals and Dean, NIPS 2014 Deep Learning
Workshop, arXiv:1503.02531 (no official code). With student logits ``z_s``, teacher logits ``z_t``
(N, K) and temperature ``T``:

    p_t = softmax(z_t / T),   p_s = softmax(z_s / T)
    L_KD = T^2 * (1 / N) * sum_n sum_k p_t[n, k] * (log p_t[n, k] - log p_s[n, k])      (section 2)

The factor ``T^2`` keeps the gradient magnitude of the soft targets independent of ``T`` (the
gradient of the softened cross-entropy scales as ``1 / T^2``). ``loss_weight`` multiplies the result;
a negative weight gives the adversarial objective of a generator that seeks student-teacher
disagreement.
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['KLDivergence', 'kd_loss']

REDUCTIONS = ('batchmean', 'sum', 'mean', 'none')


def kd_loss(preds_S: torch.Tensor, preds_T: torch.Tensor, tau: float = 1.0,
            reduction: str = 'batchmean') -> torch.Tensor:
    """``T^2 * KL(softmax(preds_T / T) || softmax(preds_S / T))``; logits (N, K).

    ``reduction``: ``'batchmean'`` (sum over classes, mean over the batch: the paper's loss),
    ``'sum'``, ``'mean'`` (over all N * K elements) or ``'none'`` (per-sample (N,))."""
    if reduction not in REDUCTIONS:
        raise ValueError(f'unknown reduction {reduction!r}; valid: {list(REDUCTIONS)}')
    if preds_S.shape != preds_T.shape:
        raise ValueError(f'student and teacher logits differ in shape: {tuple(preds_S.shape)} vs '
                         f'{tuple(preds_T.shape)}')
    log_p_s = F.log_softmax(preds_S / tau, dim=1)
    log_p_t = F.log_softmax(preds_T / tau, dim=1)
    elementwise = log_p_t.exp() * (log_p_t - log_p_s)
    if reduction == 'batchmean':
        loss = elementwise.sum() / preds_S.size(0)
    elif reduction == 'sum':
        loss = elementwise.sum()
    elif reduction == 'mean':
        loss = elementwise.mean()
    else:
        loss = elementwise.sum(dim=1)
    return tau ** 2 * loss


@MODELS.register_module()
class KLDivergence(nn.Module):
    """Hinton's KD loss (see the module docstring).

    Args:
        tau (float): Temperature ``T`` (> 0).
        reduction (str): One of ``'batchmean'`` (default), ``'sum'``, ``'mean'``, ``'none'``.
        loss_weight (float): Multiplier of the loss.
        teacher_detach (bool): Stop gradients into the teacher logits (default). A data-free generator
            needs them (``False``) to be trained through the teacher.

    Shapes: ``preds_S``, ``preds_T`` (N, K) -> scalar (or (N,) with ``reduction='none'``).
    """

    def __init__(self, tau: float = 1.0, reduction: str = 'batchmean', loss_weight: float = 1.0,
                 teacher_detach: bool = True):
        super().__init__()
        if tau <= 0:
            raise ValueError(f'tau must be positive, got {tau}')
        if reduction not in REDUCTIONS:
            raise ValueError(f'unknown reduction {reduction!r}; valid: {list(REDUCTIONS)}')
        self.tau, self.reduction = float(tau), reduction
        self.loss_weight, self.teacher_detach = float(loss_weight), teacher_detach

    def forward(self, preds_S: torch.Tensor, preds_T: torch.Tensor) -> torch.Tensor:
        if self.teacher_detach:
            preds_T = preds_T.detach()
        return self.loss_weight * kd_loss(preds_S, preds_T, self.tau, self.reduction)

    def extra_repr(self) -> str:
        return f'tau={self.tau}, reduction={self.reduction!r}, loss_weight={self.loss_weight}'
