"""Top-k accuracy metric for classification."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from tessera_core.registry import METRICS


@METRICS.register_module()
class Accuracy(BaseMetric):
    """Top-k accuracy in percent, keys ``accuracy/top1``, ``accuracy/top5``...

    A class count smaller than ``k`` makes top-k undefined: it is skipped.
    """
    default_prefix = 'accuracy'

    def __init__(self, topk: Sequence[int] = (1,), collect_device: str = 'cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if any(k < 1 for k in topk):
            raise ValueError(f'topk values must be >= 1, got {tuple(topk)}')
        self.topk = tuple(topk)

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_score' not in sample or 'gt_label' not in sample:
                raise KeyError('Accuracy needs pred_score and gt_label in every data sample')
            self.results.append(dict(score=sample['pred_score'].cpu(), label=sample['gt_label'].cpu()))

    def compute_metrics(self, results: List[dict]) -> dict:
        scores = torch.stack([r['score'] for r in results])
        labels = torch.cat([r['label'] for r in results])
        metrics = {}
        for k in self.topk:
            if k > scores.size(1):
                continue
            hit = scores.topk(k, dim=1).indices.eq(labels[:, None]).any(dim=1)
            metrics[f'top{k}'] = hit.float().mean().item() * 100
        return metrics
