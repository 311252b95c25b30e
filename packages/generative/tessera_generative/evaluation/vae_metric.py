"""Negative ELBO and reconstruction error of a VAE on a test split."""
import math
from typing import List, Sequence

from mmengine.evaluator import BaseMetric

from tessera_generative.registry import METRICS


@METRICS.register_module()
class VAEMetric(BaseMetric):
    """Per-image averages, in nats, of the quantities a VAE's ``predict`` stores
    in its data samples.

    Keys (prefix ``vae/`` by default):

    * ``nelbo``: negative ELBO ``E_q[-log p(x|z)] + KL(q(z|x) || p(z))``;
    * ``rec_bce``: reconstruction term (Bernoulli BCE summed over pixels);
    * ``kl``: KL term;
    * ``nll_is``: ``-log p(x)`` importance-sampled estimate, when the model
      computes it (``num_importance_samples > 0``);
    * ``nelbo_bpd``: negative ELBO in bits per dimension (``nelbo / (C*H*W ln 2)``).
    """
    default_prefix = 'vae'
    required = ('nelbo', 'rec_loss', 'kl', 'pred_img')

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            missing = [k for k in self.required if k not in sample]
            if missing:
                raise KeyError(f'VAEMetric needs {self.required} in every data sample; missing {missing} '
                               '(is the model a VAE in predict mode?)')
            result = dict(nelbo=float(sample['nelbo']), rec=float(sample['rec_loss']), kl=float(sample['kl']),
                          dims=int(sample['pred_img'].numel()))
            if 'log_likelihood' in sample:
                result['ll'] = float(sample['log_likelihood'])
            self.results.append(result)

    def compute_metrics(self, results: List[dict]) -> dict:
        n = len(results)
        metrics = dict(nelbo=sum(r['nelbo'] for r in results) / n,
                       rec_bce=sum(r['rec'] for r in results) / n,
                       kl=sum(r['kl'] for r in results) / n)
        metrics['nelbo_bpd'] = sum(r['nelbo'] / (r['dims'] * math.log(2)) for r in results) / n
        if all('ll' in r for r in results):
            metrics['nll_is'] = -sum(r['ll'] for r in results) / n
        return metrics
