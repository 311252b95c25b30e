"""Batch augments of the classification data preprocessor: one of several mixing policies per batch.

The interface follows mmpretrain's ``RandomBatchAugment`` (``data_preprocessor=dict(...,
batch_augments=dict(augments=[dict(type='Mixup', alpha=0.8), dict(type='CutMix', alpha=1.0)],
probs=[0.5, 0.5]))``): every batch draws at most one augment (probabilities ``probs``; the rest of
the mass, ``1 - sum(probs)``, leaves the batch unchanged) and returns the mixed inputs together with
soft labels (N, K) whose rows sum to one. The labels reach the loss as ``gt_score`` of each data
sample; ``ClsHead`` uses them when present.
"""
from typing import List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
import torch.nn.functional as F

from tessera_core.registry import MODELS


def check_mixing_ratio(lam: float, name: str = 'lam') -> float:
    """The mixing ratio as a float, refused (ValueError naming it) outside [0, 1]."""
    lam = float(lam)
    if not 0.0 <= lam <= 1.0:  # also refuses NaN
        raise ValueError(f'the mixing ratio {name} must lie in [0, 1], got {lam}')
    return lam


def check_beta_alpha(alpha: float, owner: str) -> float:
    """``alpha`` of the Beta(alpha, alpha) that draws the mixing ratio, refused unless > 0."""
    alpha = float(alpha)
    if not alpha > 0:
        raise ValueError(f'{owner}: alpha (of the Beta(alpha, alpha) drawing the mixing ratio) must be > 0, '
                         f'got {alpha}')
    return alpha


def check_soft_label_support(head, owner: str) -> None:
    """Refuse a head whose loss cannot take the soft labels a mixing policy produces."""
    accepts = getattr(head, 'accepts_soft_labels', None)
    if not accepts:
        loss = getattr(head, 'loss_module', None)
        what = type(loss).__name__ if loss is not None else 'no loss_module'
        raise ValueError(f'{owner} trains on mixed images with soft labels, but the head {type(head).__name__} '
                         f'(loss: {what}) has no soft-label support (accepts_soft_labels is not True); use a '
                         "ClsHead subclass with e.g. loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)")


def targets_as_scores(data_samples: Sequence, num_classes: int, device=None) -> torch.Tensor:
    """(N, K) float labels of a batch: its ``gt_score`` if every sample has one, else one-hot ``gt_label``."""
    if all('gt_score' in s for s in data_samples):
        scores = torch.stack([s.gt_score for s in data_samples]).float()
        if scores.shape[1] != num_classes:
            raise ValueError(f'gt_score has {scores.shape[1]} classes, num_classes is {num_classes}')
        return scores.to(device)
    labels = torch.cat([s.gt_label for s in data_samples]).to(device)
    if labels.numel() != len(data_samples):
        raise ValueError('batch augments need exactly one gt_label per sample (single-label classification), '
                         f'got {labels.numel()} labels for {len(data_samples)} samples')
    if labels.min() < 0 or labels.max() >= num_classes:
        raise ValueError(f'gt_label {int(labels.max())} outside [0, {num_classes}) (num_classes={num_classes})')
    return F.one_hot(labels, num_classes).float()


def set_gt_scores(data_samples: Sequence, scores: torch.Tensor) -> None:
    """Store row ``i`` of (N, K) ``scores`` as ``gt_score`` of sample ``i``."""
    for sample, score in zip(data_samples, scores):
        sample.set_field(score, 'gt_score', dtype=torch.Tensor)


@MODELS.register_module()
class RandomBatchAugment:
    """Applies one of ``augments`` to a batch, chosen with probabilities ``probs``.

    Args:
        augments (dict | list[dict]): Configs (or built objects) of batch augments such as
            ``dict(type='Mixup', alpha=0.2)``, each called as ``augment(inputs, scores)``.
        probs (float | list[float], optional): One probability per augment, summing to at most 1;
            the remainder is the probability of no augment. None: ``1 / len(augments)`` each.

    Call: ``inputs`` (N, C, H, W), ``scores`` (N, K) -> mixed inputs (N, C, H, W), soft labels (N, K).
    ``last`` holds the augment used on the last batch (None for none).
    """

    def __init__(self, augments: Union[dict, List[dict]], probs: Optional[Union[float, List[float]]] = None):
        if isinstance(augments, dict):
            augments = [augments]
        if not augments:
            raise ValueError('batch_augments.augments is empty; give e.g. [dict(type=\'Mixup\', alpha=0.2)]')
        self.augments = [MODELS.build(a) if isinstance(a, dict) else a for a in augments]
        if probs is None:
            probs = [1.0 / len(self.augments)] * len(self.augments)
        elif isinstance(probs, (int, float)):
            probs = [float(probs)]
        probs = [float(p) for p in probs]
        if len(probs) != len(self.augments):
            raise ValueError(f'batch_augments.probs has {len(probs)} entries for {len(self.augments)} augments')
        if any(p < 0 for p in probs) or sum(probs) > 1 + 1e-6:
            raise ValueError(f'batch_augments.probs must be >= 0 and sum to at most 1, got {probs}')
        self.probs = probs
        self.last = None

    def __call__(self, inputs: torch.Tensor, scores: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        choices = self.augments + [None]
        p = self.probs + [max(0.0, 1.0 - sum(self.probs))]
        augment = choices[np.random.choice(len(choices), p=np.asarray(p) / sum(p))]
        self.last = augment
        if augment is None:
            return inputs, scores
        return augment(inputs, scores)

    def __repr__(self) -> str:
        return f'{type(self).__name__}(augments={self.augments!r}, probs={self.probs})'
