"""A classifier's whole inference path as one module: raw image pixels -> class scores.

What mmengine runs in ``test_step`` is split in two: the data preprocessor (channel flip,
``(x - mean) / std``, padding, grey -> RGB repeat) and ``model(inputs, mode='predict')``
(backbone, neck, head, softmax). :class:`ClassifierInferenceGraph` puts both in one
``forward`` on a stacked tensor, which is what an exported graph needs: the deployed model
takes the images as the dataset delivers them and returns the scores ``ClsHead.predict`` gives.
"""
import math

import torch
import torch.nn.functional as F
from mmengine.model import ImgDataPreprocessor
from torch import nn


class ClassifierInferenceGraph(nn.Module):
    """``softmax(classifier(preprocess(image)))`` for an mmengine image classifier.

    Args:
        classifier (nn.Module): A ``BaseModel`` classifier (e.g. ``ImageClassifier``) whose
            ``forward(inputs, mode='tensor')`` gives logits (N, K) and whose
            ``data_preprocessor`` is an ``ImgDataPreprocessor`` (``ClsDataPreprocessor``
            with its ``num_channels`` repeat included).
        softmax (bool): Return softmax scores (as ``ClsHead.predict``) or raw logits.

    Shapes: image (N, C_in, H, W) float, pixel values as the test pipeline delivers them
    (0-255 for the datasets here) -> scores (N, K).

    Raises:
        TypeError: If the classifier's data preprocessor is not an ``ImgDataPreprocessor``.
    """
    # Module paths inside this wrapper start with 'classifier.'; errors report them without it.
    path_prefix = 'classifier.'

    def __init__(self, classifier: nn.Module, softmax: bool = True):
        super().__init__()
        preprocessor = getattr(classifier, 'data_preprocessor', None)
        if not isinstance(preprocessor, ImgDataPreprocessor):
            raise TypeError('ClassifierInferenceGraph reproduces an ImgDataPreprocessor (ClsDataPreprocessor); '
                            f'this classifier has {type(preprocessor).__name__}')
        self.classifier = classifier
        self.softmax = softmax
        self.channel_flip = bool(preprocessor._channel_conversion)
        self.normalize = bool(preprocessor._enable_normalize)
        if self.normalize:
            self.register_buffer('mean', preprocessor.mean.detach().clone(), persistent=False)
            self.register_buffer('std', preprocessor.std.detach().clone(), persistent=False)
        self.pad_size_divisor = preprocessor.pad_size_divisor
        self.pad_value = float(preprocessor.pad_value)
        self.num_channels = getattr(preprocessor, 'num_channels', None)

    def preprocess(self, image: torch.Tensor) -> torch.Tensor:
        """image (N, C_in, H, W) -> network input (N, C, H', W'), as the data preprocessor computes it."""
        x = image
        if self.channel_flip:
            x = x[:, [2, 1, 0]]
        x = x.float()
        if self.normalize:
            x = (x - self.mean) / self.std
        h, w = x.shape[-2:]
        pad_h = math.ceil(h / self.pad_size_divisor) * self.pad_size_divisor - h
        pad_w = math.ceil(w / self.pad_size_divisor) * self.pad_size_divisor - w
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), 'constant', self.pad_value)
        if self.num_channels is not None and x.size(1) != self.num_channels:
            if x.size(1) != 1:
                raise ValueError(f'cannot expand {x.size(1)}-channel inputs to {self.num_channels}')
            x = x.expand(-1, self.num_channels, -1, -1)
        return x

    def forward(self, image: torch.Tensor) -> torch.Tensor:
        """image (N, C_in, H, W) -> scores (N, K) (softmax) or logits (N, K)."""
        logits = self.classifier(self.preprocess(image), mode='tensor')
        return F.softmax(logits, dim=1) if self.softmax else logits
