"""Base of the metrics that compare generated with real images through a feature network."""
from typing import Callable, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from torch import nn

from .feature_extractor import build_feature_extractor

DEFAULT_FEATURE_NET = 'tessera_generative::feature_nets/featnet-w32_embedded-digits.py'


def _get(sample, key: str):
    return sample.get(key) if isinstance(sample, dict) else getattr(sample, key, None)


class GenerativeMetric(BaseMetric):
    """Collects features of ``fake_img`` and ``gt_img`` of every data sample of a GAN's
    ``val_step`` (images (C, H, W) in [0, 255]) and computes a metric from them.

    Args:
        feature_extractor (dict | callable, optional): Images (N, C, H, W) float in [0, 255] ->
            (N, D). Default: ``TrainedFeatureExtractor`` on the digit classifier of
            ``configs/feature_nets/featnet-w32_embedded-digits.py`` (``output`` = :attr:`feature_output`).
        sample_model (str): Which generator's images to read when the samples hold both
            (``ema.fake_img`` / ``orig.fake_img``); ignored otherwise.
        fake_key, real_key (str): Data-sample fields of generated and real images.
        need_real (bool): Whether real images are required (every subclass but IS).
        collect_device, prefix: see ``BaseMetric``.
    """
    feature_output = 'features'

    def __init__(self, feature_extractor: Union[dict, Callable, nn.Module, None] = None,
                 sample_model: str = 'ema', fake_key: str = 'fake_img', real_key: str = 'gt_img',
                 need_real: bool = True, collect_device: str = 'cpu', prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if feature_extractor is None:
            feature_extractor = dict(type='TrainedFeatureExtractor', config=DEFAULT_FEATURE_NET,
                                     output=self.feature_output)
        if sample_model not in ('ema', 'orig'):
            raise ValueError(f"sample_model must be 'ema' or 'orig', got {sample_model!r}")
        self.feature_extractor = build_feature_extractor(feature_extractor)
        self.sample_model, self.fake_key, self.real_key, self.need_real = sample_model, fake_key, real_key, need_real

    def _fake(self, sample):
        nested = _get(sample, self.sample_model) if self.sample_model in ('ema', 'orig') else None
        img = _get(nested, self.fake_key) if nested is not None else None
        return img if img is not None else _get(sample, self.fake_key)

    def _features(self, images: List[torch.Tensor]) -> np.ndarray:
        batch = torch.stack([img.detach().float().cpu() for img in images])
        with torch.no_grad():
            feats = self.feature_extractor(batch)
        feats = torch.as_tensor(feats)
        if feats.dim() != 2 or feats.size(0) != batch.size(0):
            raise ValueError(f'{type(self).__name__}: the feature extractor must map images {tuple(batch.shape)} to '
                             f'({batch.size(0)}, D) features, got {tuple(feats.shape)}')
        return feats.double().cpu().numpy()

    def process(self, data_batch, data_samples: Sequence) -> None:
        fakes = [self._fake(s) for s in data_samples]
        if any(f is None for f in fakes):
            raise KeyError(f'{type(self).__name__} needs {self.fake_key!r} in every data sample '
                           '(the predictions of a GAN val_step)')
        result = dict(fake=self._features(fakes))
        if self.need_real:
            reals = [_get(s, self.real_key) for s in data_samples]
            if any(r is None for r in reals):
                raise KeyError(f'{type(self).__name__} needs the real images {self.real_key!r} in every data sample '
                               '(BaseGAN stores the val batch there)')
            result['real'] = self._features(reals)
        self.results.append(result)

    def gather(self, results: List[dict], key: str) -> np.ndarray:
        return np.concatenate([r[key] for r in results], axis=0)
