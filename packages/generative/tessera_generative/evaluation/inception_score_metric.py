"""Inception Score (Salimans et al., NeurIPS 2016, arXiv:1606.03498) as an mmengine metric.

Official code: https://github.com/openai/improved-gan. The extractor gives class logits (or, with
``input_is_prob=True``, probabilities); by default the digit classifier trained here, so the
maximum is its number of classes (10) and values are comparable only with that checkpoint.
"""
from typing import List

import numpy as np

from tessera_generative.registry import METRICS

from .functional import inception_score
from .generative_metric import GenerativeMetric


@METRICS.register_module('IS')
@METRICS.register_module()
class InceptionScore(GenerativeMetric):
    """Args:
        splits (int): Disjoint chunks the score is averaged over (10 in the paper; fewer if
            there are fewer samples).
        input_is_prob (bool): The extractor returns probabilities, not logits.

    Keys (prefix ``IS``): ``is`` (mean over splits), ``is_std``.
    """
    default_prefix = 'IS'
    feature_output = 'logits'

    def __init__(self, splits: int = 10, input_is_prob: bool = False, **kwargs):
        kwargs.setdefault('need_real', False)
        super().__init__(**kwargs)
        if splits < 1:
            raise ValueError(f'splits must be >= 1, got {splits}')
        self.splits, self.input_is_prob = splits, input_is_prob

    def compute_metrics(self, results: List[dict]) -> dict:
        out = self.gather(results, 'fake')
        if not self.input_is_prob:
            out = np.exp(out - out.max(1, keepdims=True))
            out /= out.sum(1, keepdims=True)
        mean, std = inception_score(out, splits=min(self.splits, len(out)))
        return {'is': mean, 'is_std': std}
