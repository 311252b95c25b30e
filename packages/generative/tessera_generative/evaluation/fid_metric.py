"""Frechet Inception Distance (Heusel et al., NeurIPS 2017, arXiv:1706.08500) as an mmengine metric.

Official code: https://github.com/bioinf-jku/TTUR. With an Inception-v3 pool3 extractor it is the
standard FID; by default the features are those of the digit classifier trained here
(:class:`TrainedFeatureExtractor`), so values are comparable only with that checkpoint.
"""
from typing import List

from tessera_generative.registry import METRICS

from .functional import frechet_distance, gaussian_stats
from .generative_metric import GenerativeMetric


@METRICS.register_module('FID')
@METRICS.register_module()
class FrechetInceptionDistance(GenerativeMetric):
    """Keys (prefix ``FID``): ``fid``, ``mean`` (the ``||mu_r - mu_g||^2`` part), ``cov`` (the trace part)."""
    default_prefix = 'FID'

    def compute_metrics(self, results: List[dict]) -> dict:
        mu_r, s_r = gaussian_stats(self.gather(results, 'real'))
        mu_g, s_g = gaussian_stats(self.gather(results, 'fake'))
        fid = frechet_distance(mu_r, s_r, mu_g, s_g)
        mean = float(((mu_r - mu_g) ** 2).sum())
        return dict(fid=fid, mean=mean, cov=fid - mean)
