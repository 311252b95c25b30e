"""Classification head for backbones that output logits plus auxiliary logits.

The auxiliary-tower loss of the DARTS evaluation networks: DARTS: Differentiable Architecture
Search, Liu, Simonyan and Yang, ICLR 2019, arXiv:1806.09055, official code
https://github.com/quark0/darts (``cnn/train.py``: ``loss += args.auxiliary_weight * loss_aux``
with ``auxiliary_weight=0.4``); the auxiliary tower itself comes from Inception (Szegedy et al.,
arXiv:1512.00567).
"""
from typing import List, Tuple

import torch
from tessera_core.models.heads import ClsHead
from tessera_core.structures import ClsDataSample

from tessera_nas.registry import MODELS

__all__ = ['AuxiliaryClsHead']


@MODELS.register_module()
class AuxiliaryClsHead(ClsHead):
    """Identity head over ``(..., logits_aux, logits)`` that adds the weighted auxiliary loss.

    The backbone (e.g. :class:`~tessera_nas.models.DARTSNetwork` with ``num_classes``) already
    produces logits: the last element of the feature tuple is classified (predictions, accuracy,
    main loss), and when the tuple has two or more elements the one before it is the auxiliary
    logits, whose loss (same loss module) is added as ``loss_aux = aux_weight * loss(logits_aux)``.
    The auxiliary logits are only present in training mode, as in the official code.

    Args:
        aux_weight (float): Weight of the auxiliary loss (0.4 in DARTS, PC-DARTS, P-DARTS).
        loss (dict): Loss config shared by both outputs.
        topk (Sequence[int]): Training accuracies logged for the main logits.

    Shapes: feats ``(logits,)`` or ``(logits_aux, logits)``, each (N, K).
    """

    def __init__(self, aux_weight: float = 0.4, **kwargs):
        super().__init__(**kwargs)
        if aux_weight < 0:
            raise ValueError(f'aux_weight must be >= 0, got {aux_weight}')
        self.aux_weight = aux_weight

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples: List[ClsDataSample]) -> dict:
        losses = super().loss(feats, data_samples)
        if len(feats) >= 2 and self.aux_weight > 0:
            logits_aux = feats[-2]
            if logits_aux.shape != feats[-1].shape:
                raise ValueError(f'auxiliary logits {tuple(logits_aux.shape)} and logits '
                                 f'{tuple(feats[-1].shape)} differ in shape')
            target = torch.cat([s.gt_label for s in data_samples]).to(logits_aux.device)
            losses['loss_aux'] = self.aux_weight * self.loss_module(logits_aux, target)
        return losses
