"""Improved precision and recall of generated samples (Kynkaanniemi et al., NeurIPS 2019,
arXiv:1904.06991) as an mmengine metric.

Official code: https://github.com/kynkaat/improved-precision-and-recall-metric (VGG-16 fc2
features, k = 3, equal numbers of real and generated samples). Features here come from the
extractor given (by default the digit classifier trained here).
"""
from typing import List

from tessera_generative.registry import METRICS

from .functional import precision_recall
from .generative_metric import GenerativeMetric


@METRICS.register_module('PR')
@METRICS.register_module()
class PrecisionAndRecall(GenerativeMetric):
    """Args:
        k (int): Neighbourhood size of the k-NN manifolds (3 in the paper).

    Keys (prefix ``PR``): ``precision``, ``recall``.
    """
    default_prefix = 'PR'

    def __init__(self, k: int = 3, **kwargs):
        super().__init__(**kwargs)
        if k < 1:
            raise ValueError(f'k must be >= 1, got {k}')
        self.k = k

    def compute_metrics(self, results: List[dict]) -> dict:
        precision, recall = precision_recall(self.gather(results, 'real'), self.gather(results, 'fake'), self.k)
        return dict(precision=precision, recall=recall)
