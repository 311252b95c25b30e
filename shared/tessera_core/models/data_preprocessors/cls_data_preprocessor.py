"""Batching and normalisation of classification inputs, with optional batch augments (Mixup, CutMix)."""
from typing import Optional

from mmengine.model import ImgDataPreprocessor

from tessera_core.registry import MODELS


@MODELS.register_module()
class ClsDataPreprocessor(ImgDataPreprocessor):
    """mmengine's ``ImgDataPreprocessor`` (stack, cast to float, ``(x - mean) / std``,
    optional BGR->RGB) with defaults for grey images in [0, 255]: ``mean=[127.5]``,
    ``std=[127.5]``. ``num_channels`` repeats a grey input to that many channels
    so an RGB backbone can run on grey data.

    ``batch_augments`` (as mmpretrain's ``data_preprocessor``), e.g.
    ``dict(augments=[dict(type='Mixup', alpha=0.2), dict(type='CutMix', alpha=1.0)], probs=[0.5, 0.5])``,
    builds a :class:`~tessera_core.models.mixing.RandomBatchAugment` applied to the normalised
    training batch only: the labels become soft labels, each data sample gets ``gt_score`` (K,)
    (``gt_label`` is kept), which the head's loss must accept (``ClsHead`` refuses a loss that
    does not). ``num_classes`` (K) is then required.
    """

    def __init__(self, mean=(127.5,), std=(127.5,), num_channels=None,
                 batch_augments: Optional[dict] = None, num_classes: Optional[int] = None, **kwargs):
        super().__init__(mean=mean, std=std, **kwargs)
        self.num_channels = num_channels
        self.num_classes = num_classes
        self.batch_augments = None
        if batch_augments is not None:
            from tessera_core.models.mixing.batch_augments import RandomBatchAugment  # no import cycle
            if num_classes is None or int(num_classes) != num_classes or num_classes < 1:
                raise ValueError('data_preprocessor.batch_augments makes soft labels and needs '
                                 f'data_preprocessor.num_classes (a positive int), got {num_classes!r}')
            if isinstance(batch_augments, RandomBatchAugment):
                self.batch_augments = batch_augments
            elif isinstance(batch_augments, dict):
                self.batch_augments = RandomBatchAugment(**batch_augments)
            else:
                raise TypeError('data_preprocessor.batch_augments must be a dict(augments=[...], probs=...), '
                                f'got {type(batch_augments).__name__}')

    def forward(self, data: dict, training: bool = False) -> dict:
        data = super().forward(data, training)
        inputs = data['inputs']
        if self.num_channels is not None and inputs.size(1) != self.num_channels:
            if inputs.size(1) != 1:
                raise ValueError(f'cannot expand {inputs.size(1)}-channel inputs to {self.num_channels}')
            data['inputs'] = inputs.expand(-1, self.num_channels, -1, -1).contiguous()
        if training and self.batch_augments is not None:
            from tessera_core.models.mixing.batch_augments import set_gt_scores, targets_as_scores
            samples = data.get('data_samples')
            if not samples:
                raise ValueError('data_preprocessor.batch_augments needs data samples with gt_label')
            scores = targets_as_scores(samples, self.num_classes, data['inputs'].device)
            data['inputs'], scores = self.batch_augments(data['inputs'], scores)
            set_gt_scores(samples, scores)
        return data
