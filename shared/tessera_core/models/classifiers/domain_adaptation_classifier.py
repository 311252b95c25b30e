"""Image classifier with an extra unsupervised loss on target-domain logits (domain adaptation)."""
from typing import List, Optional, Union

import torch

from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

from .image_classifier import ImageClassifier


@MODELS.register_module()
class DomainAdaptationClassifier(ImageClassifier):
    """``ImageClassifier`` trained on labelled source batches plus unlabelled target batches.

    In ``mode='loss'`` the source batch gives the head's supervised loss, and the target batch
    ``target_inputs`` (N_t, C, H, W) goes through the same network in a separate forward pass
    (so BatchNorm sees each domain's own statistics, as in the official BNM/CDAN code) and its
    logits (N_t, num_classes) feed ``target_loss`` (e.g. ``dict(type='BNMLoss')``), logged as
    ``target_loss_name``. Target labels never reach the model. Prediction is the plain classifier's.

    Args:
        target_loss (dict, optional): Loss on target logits, built from ``MODELS``. ``None`` gives
            source-only training with the same batches (the target forward is skipped).
        target_loss_name (str): Key of the target loss in the loss dict; must start with ``loss``
            for mmengine to add it to the total.
        Other arguments as :class:`ImageClassifier`; ``data_preprocessor`` defaults to
        ``DomainPairDataPreprocessor``.
    """

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 target_loss: Optional[dict] = None, target_loss_name: str = 'loss_target',
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='DomainPairDataPreprocessor')
        if not target_loss_name.startswith('loss'):
            raise ValueError(f'target_loss_name must start with "loss" to count in the total, got {target_loss_name!r}')
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.target_loss = self.registry.build(target_loss) if target_loss is not None else None
        self.target_loss_name = target_loss_name

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor', target_inputs: Optional[torch.Tensor] = None) -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.loss(inputs, data_samples, target_inputs)
        return super().forward(inputs, data_samples, mode)

    def loss(self, inputs: torch.Tensor, data_samples: List[ClsDataSample],
             target_inputs: Optional[torch.Tensor] = None) -> dict:
        """Supervised head loss on the source batch plus ``target_loss`` on the target logits."""
        losses = self.head.loss(self.extract_feat(inputs), data_samples)
        if self.target_loss is None:
            return losses
        if target_inputs is None:
            raise ValueError('DomainAdaptationClassifier with a target_loss needs target_inputs in training: '
                             'use a DomainPairDataset train set with the DomainPairDataPreprocessor')
        target_logits = self.head(self.extract_feat(target_inputs))
        losses[self.target_loss_name] = self.target_loss(target_logits)
        return losses
