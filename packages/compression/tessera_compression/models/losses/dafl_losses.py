"""DAFL's generator losses: what the fixed teacher says about the generated images.

Data-Free Learning of Student Networks, Chen et al., ICCV 2019, arXiv:1904.01186; official code
https://github.com/huawei-noah/Efficient-Computing/tree/master/Data-Efficient-Model-Compression/DAFL
(``DAFL-train.py``). The teacher ``N_T`` is the fixed discriminator; on a batch of ``n`` generated
images with teacher logits ``y_T^i`` (n, K) and teacher features ``f_T^i`` (n, C, the input of the last
fully connected layer), the generator minimises ``L_oh + alpha * L_a + beta * L_ie`` (eq. 5):

    t^i  = argmax_k y_T^i[k]                                  (pseudo labels, no gradient)
    L_oh = (1/n) sum_i CE(y_T^i, t^i)                           one-hot loss, eq. 2
    L_a  = -(1/(n C)) sum_i ||f_T^i||_1                         activation loss, eq. 3
    L_ie = -H_info((1/n) sum_i softmax(y_T^i))
         = sum_k p_k log_b p_k,   p = mean_i softmax(y_T^i)     information-entropy loss, eq. 4

``L_oh`` is small when the teacher is confident on each image, ``L_a`` when its features fire
strongly, and ``L_ie`` reaches its minimum ``-log_b K`` exactly when the batch-mean prediction is
uniform (the classes are balanced over the batch). MNIST weights of the official code:
``alpha = 0.1``, ``beta = 5`` (CIFAR-10: one-hot 0.05, ``alpha = 0.01``, ``beta = 5``).

Two details come from the official code, where the paper's formulas leave them open:

- ``L_a`` is ``-features.abs().mean()``: the mean over the batch *and* the feature channels (the paper
  writes ``(1/n) sum_i ||f||_1``, i.e. not divided by ``C``); ``reduction='batchmean'`` gives the paper's.
- ``L_ie`` uses ``log10`` (``log_base=10``), so ``beta = 5`` weighs ``-H / ln 10``; ``log_base=math.e``
  gives the natural-log entropy.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['OnehotLikeLoss', 'ActivationLoss', 'InformationEntropyLoss', 'onehot_like_loss', 'activation_loss',
           'information_entropy_loss']

ACTIVATION_REDUCTIONS = ('mean', 'batchmean')


def _check_logits(preds_T: torch.Tensor, what: str) -> None:
    if preds_T.dim() != 2:
        raise ValueError(f'{what}: teacher logits must be (N, K), got shape {tuple(preds_T.shape)}')


def onehot_like_loss(preds_T: torch.Tensor) -> torch.Tensor:
    """``L_oh``: cross-entropy of the teacher logits (N, K) against their own argmax (detached)."""
    _check_logits(preds_T, 'onehot_like_loss')
    return F.cross_entropy(preds_T, preds_T.detach().argmax(dim=1))


def activation_loss(feats_T: torch.Tensor, reduction: str = 'mean') -> torch.Tensor:
    """``L_a``: minus the mean absolute teacher feature (N, C) (``'mean'``: over all N * C entries, the
    official code; ``'batchmean'``: the L1 norm of each row averaged over the batch, the paper)."""
    if reduction not in ACTIVATION_REDUCTIONS:
        raise ValueError(f'unknown reduction {reduction!r}; valid: {list(ACTIVATION_REDUCTIONS)}')
    feats_T = feats_T.flatten(1)
    if reduction == 'mean':
        return -feats_T.abs().mean()
    return -feats_T.abs().sum(dim=1).mean()


def information_entropy_loss(preds_T: torch.Tensor, log_base: float = 10.0) -> torch.Tensor:
    """``L_ie = -H(p)`` with ``p`` (K,) the batch mean of ``softmax(preds_T)``, entropy in base ``log_base``."""
    _check_logits(preds_T, 'information_entropy_loss')
    p = F.softmax(preds_T, dim=1).mean(dim=0)
    return torch.special.xlogy(p, p).sum() / math.log(log_base)


@MODELS.register_module()
class OnehotLikeLoss(nn.Module):
    """DAFL's one-hot loss (eq. 2). Shapes: ``preds_T`` (N, K) -> scalar.

    Args:
        loss_weight (float): Multiplier (DAFL MNIST: 1).
    """

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = float(loss_weight)

    def forward(self, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * onehot_like_loss(preds_T)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}'


@MODELS.register_module()
class ActivationLoss(nn.Module):
    """DAFL's activation loss (eq. 3). Shapes: ``feats_T`` (N, C) (or (N, C, ...), flattened) -> scalar.

    Args:
        loss_weight (float): Multiplier ``alpha`` (DAFL MNIST: 0.1).
        reduction (str): ``'mean'`` (official code, default) or ``'batchmean'`` (the paper's formula).
    """

    def __init__(self, loss_weight: float = 0.1, reduction: str = 'mean'):
        super().__init__()
        if reduction not in ACTIVATION_REDUCTIONS:
            raise ValueError(f'ActivationLoss: unknown reduction {reduction!r}; valid: {list(ACTIVATION_REDUCTIONS)}')
        self.loss_weight, self.reduction = float(loss_weight), reduction

    def forward(self, feats_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * activation_loss(feats_T, self.reduction)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, reduction={self.reduction!r}'


@MODELS.register_module()
class InformationEntropyLoss(nn.Module):
    """DAFL's information-entropy loss (eq. 4). Shapes: ``preds_T`` (N, K) -> scalar in ``[-log_b K, 0]``
    (times ``loss_weight``).

    Args:
        loss_weight (float): Multiplier ``beta`` (DAFL MNIST: 5).
        log_base (float): Base of the logarithm (official code: 10).
    """

    def __init__(self, loss_weight: float = 5.0, log_base: float = 10.0):
        super().__init__()
        if not log_base > 1:
            raise ValueError(f'InformationEntropyLoss: log_base must be > 1, got {log_base}')
        self.loss_weight, self.log_base = float(loss_weight), float(log_base)

    def forward(self, preds_T: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * information_entropy_loss(preds_T, self.log_base)

    def extra_repr(self) -> str:
        return f'loss_weight={self.loss_weight}, log_base={self.log_base}'
