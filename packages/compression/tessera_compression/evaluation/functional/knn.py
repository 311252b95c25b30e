"""Weighted k-nearest-neighbour classification of features (the monitor of self-supervised training).

Unsupervised Feature Learning via Non-Parametric Instance Discrimination (InstDisc), Wu, Xiong, Yu and
Lin, CVPR 2018, arXiv:1805.01978, section 3.4 and official code https://github.com/zhirongw/lemniscate.pytorch
(``test.py``, ``kNN``); the same monitor (k = 200 there, 20 in InstDisc's table) runs in MoCo's
official CIFAR demo. With L2-normalised features, test feature ``f`` and its ``k`` most cosine-similar
training features ``f_i`` (similarity ``s_i``, label ``c_i``):

    w_i = exp(s_i / T)                     (T = 0.07)
    score(c) = sum_{i in top-k} w_i [c_i = c],    prediction = argmax_c score(c)
"""
from typing import Tuple

import torch
import torch.nn.functional as F

__all__ = ['weighted_knn_predict', 'knn_top1']


@torch.no_grad()
def weighted_knn_predict(train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
                         num_classes: int, k: int = 20, temperature: float = 0.07,
                         chunk_size: int = 512) -> Tuple[torch.Tensor, torch.Tensor]:
    """Predict labels of ``test_features`` (M, D) from ``train_features`` (N, D) / ``train_labels`` (N,).

    Features are L2-normalised here. Returns ``(labels (M,), scores (M, num_classes))``.
    """
    if train_features.dim() != 2 or test_features.dim() != 2 or train_features.size(1) != test_features.size(1):
        raise ValueError(f'features must be (N, D) and (M, D), got {tuple(train_features.shape)} and '
                         f'{tuple(test_features.shape)}')
    if train_labels.shape != (train_features.size(0),):
        raise ValueError(f'train_labels must be ({train_features.size(0)},), got {tuple(train_labels.shape)}')
    if k < 1 or temperature <= 0:
        raise ValueError(f'need k >= 1 and temperature > 0, got k={k}, temperature={temperature}')
    k = min(k, train_features.size(0))
    bank = F.normalize(train_features.float(), dim=1)
    labels = train_labels.long().to(bank.device)
    preds, all_scores = [], []
    for start in range(0, test_features.size(0), chunk_size):
        query = F.normalize(test_features[start:start + chunk_size].float().to(bank.device), dim=1)
        sim, idx = (query @ bank.t()).topk(k, dim=1)
        weights = (sim / temperature).exp()
        scores = torch.zeros(query.size(0), num_classes, device=bank.device)
        scores.scatter_add_(1, labels[idx], weights)
        preds.append(scores.argmax(dim=1))
        all_scores.append(scores)
    return torch.cat(preds), torch.cat(all_scores)


def knn_top1(train_features: torch.Tensor, train_labels: torch.Tensor, test_features: torch.Tensor,
             test_labels: torch.Tensor, num_classes: int, k: int = 20, temperature: float = 0.07) -> float:
    """Top-1 accuracy (%) of :func:`weighted_knn_predict`."""
    pred, _ = weighted_knn_predict(train_features, train_labels, test_features, num_classes, k, temperature)
    return float((pred.cpu() == test_labels.long().cpu()).float().mean() * 100)
