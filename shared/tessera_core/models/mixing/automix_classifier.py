"""AutoMix: a classifier trained on mixed images whose masks a Mix Block learns, through a momentum pipeline.

Paper: "AutoMix: Unveiling the Power of Mixup for Stronger Classifiers", Zicheng Liu, Siyuan Li, Di Wu,
Zhiyuan Chen, Lirong Wu, Jianzhu Guo, Stan Z. Li, ECCV 2022, arXiv:2103.13027. Official code:
https://github.com/Westlake-AI/openmixup (``openmixup/models/classifiers/automix.py``, ``AutoMixup``;
momentum schedule ``openmixup/core/hooks/momentum_hook.py``, ``CosineScheduleHook``).

Two copies of the classifier: the encoder ``q`` (backbone, neck, a one-hot head and a mixup head),
trained by SGD, and the momentum encoder ``k``, never trained by gradients but moved after every
step by the EMA rule ``theta_k <- m theta_k + (1 - m) theta_q`` (parameters only, as the official
``momentum_update``). At each training step, with two ratios ``lam_mb, lam_bb ~ Beta(alpha, alpha)``
and two random permutations ``j_mb, j_bb`` of the batch:

1. features ``z = f_k(x)`` at one backbone stage (``mix_feature_index``) of the momentum encoder;
2. the Mix Block (:class:`~tessera_core.models.mixing.MixBlock`) makes two masks from ``z``: ``M_mb``
   for ``(lam_mb, j_mb)`` with gradient and ``M_bb`` for ``(lam_bb, j_bb)`` detached; when
   ``lam_bb <= lam_margin`` or ``1 - lam_bb <= lam_margin`` (0.08), ``M_bb`` is the constant
   ``(lam_bb, 1 - lam_bb)``, i.e. plain Mixup;
3. **Mix Block update** through the momentum encoder: the mixed image ``x_mb = M_mb[0] x + M_mb[1] x_j``
   is classified by ``k``'s mixup head against ``lam_mb y + (1 - lam_mb) y_j``; ``k`` is frozen, so
   this loss trains the Mix Block only, plus ``mask_loss_weight`` (0.1) times the Mix Block's mask
   loss ``max(|1 - mean(M_mb[1]) - lam_mb| - 0.1, 0)``;
4. **encoder update**: ``q``'s mixup head on ``x_bb`` (soft label with ``lam_bb``) and ``q``'s one-hot
   head on the clean ``x``.

Loss = ``w_mix_q l_mix_q + w_one_q l_one_q + w_mix_k l_mix_k + mask_loss_weight l_mask`` with the
official weights 1, 1, 1, 0.1. The momentum ``m`` starts at ``momentum`` (official 0.999) and may be
scheduled by :class:`~tessera_core.models.mixing.AutoMixMomentumHook` (official: cosine to 0.999999
over the last 90 % of the iterations). Prediction uses ``k`` with its one-hot head (the official
``forward_inference``); ``predict_encoder='q'`` uses the trained encoder instead.
"""
import copy
from typing import List, Optional, Tuple

import numpy as np
import torch
import torch.nn.functional as F

from tessera_core.models.classifiers.image_classifier import ImageClassifier
from tessera_core.models.momentum import momentum_update_
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

from .batch_augments import check_beta_alpha, check_mixing_ratio, check_soft_label_support
from .mix_block import MixBlock

DEFAULT_LOSS_WEIGHTS = dict(mix_q=1.0, one_q=1.0, mix_k=1.0)


@MODELS.register_module()
class AutoMixClassifier(ImageClassifier):
    """AutoMix around any ``ImageClassifier`` whose backbone returns the Mix Block's stage too.

    Args:
        backbone (dict): Backbone config returning a tuple that contains the Mix Block's input at
            ``mix_feature_index`` and the classifier's feature map last, e.g. ResNet with
            ``out_indices=(2, 3)`` (official: stage 3 for the Mix Block, stage 4 for the head).
        head (dict): One-hot head (a ``ClsHead``; its ``num_classes`` is K).
        mix_block (dict): ``dict(type='MixBlock', in_channels=C of that stage, ...)``.
        neck (dict, optional): e.g. ``dict(type='GlobalAveragePooling')``.
        mix_head (dict, optional): Head of the mixed images (its loss must accept soft labels); None
            builds a second head from ``head``'s config (official: a separate ``ClsMixupHead``).
        alpha (float): ``Beta(alpha, alpha)`` of both ratios (official 2.0).
        momentum (float): Base EMA momentum of the momentum encoder in [0, 1] (official 0.999; 1 freezes it).
        mix_feature_index (int): Position of the Mix Block's features in the backbone's outputs (0).
        mask_loss_weight (float): Weight of the mask loss (official 0.1).
        lam_margin (float): Plain Mixup for the encoder update when ``lam_bb`` or ``1 - lam_bb`` is at
            most this (official 0.08); 0 disables.
        loss_weights (dict): ``mix_q``, ``one_q``, ``mix_k`` (official 1, 1, 1).
        predict_encoder (str): ``'k'`` (official inference) or ``'q'``.
        data_preprocessor (dict, optional): Without ``batch_augments`` (AutoMix mixes itself).
    """

    def __init__(self, backbone: dict, head: dict, mix_block: dict, neck: Optional[dict] = None,
                 mix_head: Optional[dict] = None, alpha: float = 2.0, momentum: float = 0.999,
                 mix_feature_index: int = 0, mask_loss_weight: float = 0.1, lam_margin: float = 0.08,
                 loss_weights: Optional[dict] = None, predict_encoder: str = 'k',
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        self.alpha = check_beta_alpha(alpha, 'AutoMixClassifier')
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'AutoMixClassifier: momentum must lie in [0, 1], got {momentum}')
        if not 0.0 <= lam_margin < 0.5:
            raise ValueError(f'AutoMixClassifier: lam_margin must lie in [0, 0.5), got {lam_margin}')
        if mask_loss_weight < 0:
            raise ValueError(f'AutoMixClassifier: mask_loss_weight must be >= 0, got {mask_loss_weight}')
        if predict_encoder not in ('k', 'q'):
            raise ValueError(f"AutoMixClassifier: invalid predict_encoder {predict_encoder!r}; valid: 'k', 'q'")
        weights = dict(DEFAULT_LOSS_WEIGHTS)
        unknown = set(loss_weights or {}) - set(weights)
        if unknown:
            raise KeyError(f'AutoMixClassifier: unknown loss_weights {sorted(unknown)}; valid: {sorted(weights)}')
        weights.update(loss_weights or {})
        if weights['mix_k'] <= 0 or weights['mix_q'] <= 0 or weights['one_q'] < 0:
            raise ValueError(f'AutoMixClassifier: loss_weights mix_q and mix_k must be > 0 (they train the '
                             f'encoder and the Mix Block), one_q >= 0; got {weights}')
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if getattr(self.data_preprocessor, 'batch_augments', None) is not None:
            raise ValueError('AutoMixClassifier mixes its batches itself; remove data_preprocessor.batch_augments')
        self.num_classes = getattr(self.head, 'num_classes', None)
        if not isinstance(self.num_classes, int):
            raise ValueError(f'AutoMixClassifier needs a head with num_classes; {type(self.head).__name__} has none')
        self.mix_head = self.registry.build(copy.deepcopy(head) if mix_head is None else mix_head)
        check_soft_label_support(self.mix_head, 'AutoMixClassifier (mix_head)')
        if getattr(self.mix_head, 'num_classes', None) != self.num_classes:
            raise ValueError(f'AutoMixClassifier: mix_head has {getattr(self.mix_head, "num_classes", None)} '
                             f'classes, head {self.num_classes}')
        self.mix_block = self.registry.build(mix_block)
        if not isinstance(self.mix_block, MixBlock):
            raise TypeError(f'AutoMixClassifier: mix_block must build a MixBlock, got {type(self.mix_block).__name__}')
        self.mix_feature_index = int(mix_feature_index)
        self.mask_loss_weight, self.lam_margin = float(mask_loss_weight), float(lam_margin)
        self.loss_weights, self.predict_encoder = weights, predict_encoder
        self.base_momentum = self.momentum = float(momentum)
        # the momentum encoder: copies of q, no gradients
        self.backbone_k = copy.deepcopy(self.backbone)
        self.neck_k = copy.deepcopy(self.neck)
        self.head_k = copy.deepcopy(self.head)
        self.mix_head_k = copy.deepcopy(self.mix_head)
        for _, k in self.encoder_pairs():
            for p in k.parameters():
                p.requires_grad_(False)

    def encoder_pairs(self) -> List[Tuple[torch.nn.Module, torch.nn.Module]]:
        """``(q module, k module)`` pairs the EMA moves: backbone, neck, one-hot head, mixup head."""
        pairs = [(self.backbone, self.backbone_k), (self.head, self.head_k), (self.mix_head, self.mix_head_k)]
        if self.neck is not None:
            pairs.insert(1, (self.neck, self.neck_k))
        return pairs

    def init_weights(self):
        """Initialise ``q`` (and the rest) as configured, then copy ``q`` into ``k`` (official)."""
        super().init_weights()
        with torch.no_grad():
            for q, k in self.encoder_pairs():
                for pq, pk in zip(q.parameters(), k.parameters()):
                    pk.copy_(pq)

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``theta_k <- m theta_k + (1 - m) theta_q`` for every parameter of ``k`` (buffers untouched)."""
        m = self.momentum
        if m >= 1.0:
            return
        for q, k in self.encoder_pairs():
            momentum_update_(k.parameters(), q.parameters(), m)

    def _features(self, inputs: torch.Tensor, encoder: str) -> Tuple[torch.Tensor, ...]:
        backbone, neck = (self.backbone, self.neck) if encoder == 'q' else (self.backbone_k, self.neck_k)
        x = backbone(inputs)
        x = (x,) if isinstance(x, torch.Tensor) else tuple(x)
        return neck(x) if neck is not None else x

    def extract_feat(self, inputs: torch.Tensor):
        """Features of the encoder that predicts (``predict_encoder``)."""
        return self._features(inputs, self.predict_encoder)

    def _predict_head(self):
        return self.head if self.predict_encoder == 'q' else self.head_k

    def mix_block_features(self, inputs: torch.Tensor) -> torch.Tensor:
        """(N, C, h, w): the momentum encoder's features the Mix Block reads (no gradient)."""
        with torch.no_grad():
            x = self.backbone_k(inputs)
        x = (x,) if isinstance(x, torch.Tensor) else tuple(x)
        if not -len(x) <= self.mix_feature_index < len(x) or len(x) < 2:
            raise ValueError(f'AutoMixClassifier: the backbone returns {len(x)} feature map(s); it needs the Mix '
                             f'Block stage at mix_feature_index={self.mix_feature_index} and the last stage '
                             '(e.g. ResNet out_indices=(2, 3))')
        return x[self.mix_feature_index]

    def loss(self, inputs: torch.Tensor, data_samples: List[ClsDataSample]) -> dict:
        if any('gt_score' in s for s in data_samples):
            raise ValueError('AutoMixClassifier needs hard labels (gt_label); the batch carries soft labels gt_score')
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        onehot = F.one_hot(labels, self.num_classes).to(inputs.dtype)
        n = inputs.size(0)
        lam_mb, lam_bb = (float(v) for v in np.random.beta(self.alpha, self.alpha, 2))
        index_mb = torch.randperm(n, device=inputs.device)
        index_bb = torch.randperm(n, device=inputs.device)
        size = inputs.shape[-2:]

        z = self.mix_block_features(inputs)
        mask_mb = self.mix_block(z, lam_mb, index_mb, size)
        with torch.no_grad():
            mask_bb = self.mix_block(z, lam_bb, index_bb, size)
        if lam_bb <= self.lam_margin or 1 - lam_bb <= self.lam_margin:
            mask_bb = torch.stack([torch.full_like(mask_bb[:, 0], lam_bb),
                                   torch.full_like(mask_bb[:, 1], 1 - lam_bb)], 1)

        # Mix Block update through the frozen momentum encoder
        x_mb = MixBlock.mix(inputs, mask_mb, index_mb)
        score_mb = lam_mb * onehot + (1 - lam_mb) * onehot[index_mb]
        loss_mix_k = self.mix_head_k.loss_module(self.mix_head_k(self._features(x_mb, 'k')), score_mb)
        loss_mask = self.mix_block.mask_loss(mask_mb, lam_mb)

        # encoder update: mixup head on the (detached-mask) mixed images, one-hot head on the clean ones
        x_bb = MixBlock.mix(inputs, mask_bb, index_bb)
        score_bb = lam_bb * onehot + (1 - lam_bb) * onehot[index_bb]
        loss_mix_q = self.mix_head.loss_module(self.mix_head(self._features(x_bb, 'q')), score_bb)
        one = self.head.loss(self._features(inputs, 'q'), data_samples)

        w = self.loss_weights
        losses = dict(loss_mix_q=w['mix_q'] * loss_mix_q, loss_mix_k=w['mix_k'] * loss_mix_k,
                      loss_mask=self.mask_loss_weight * loss_mask)
        if w['one_q'] > 0:
            losses['loss_one_q'] = w['one_q'] * one.pop('loss')
        losses.update({k: v for k, v in one.items() if k != 'loss'})
        with torch.no_grad():
            m_i = mask_mb[:, 0]
            losses.update(
                mask_lam=inputs.new_tensor(lam_mb),  # ratio the Mix Block was asked for
                mask_mean=m_i.mean(),  # mean weight of the sample itself (the mask loss pulls it to lam)
                mask_std=m_i.flatten(1).std(dim=1).mean(),  # spatial spread within a mask (0: plain mixup)
                mask_hard=((m_i < 0.1) | (m_i > 0.9)).float().mean(),  # share of nearly binary pixels
                mask_l1=loss_mask.detach(),  # unweighted mask loss
                momentum=inputs.new_tensor(self.momentum))
        return losses

    def train_step(self, data, optim_wrapper):
        """mmengine's step (preprocess, loss, update ``q`` and the Mix Block), then the EMA of ``k``."""
        log_vars = super().train_step(data, optim_wrapper)
        self.momentum_update()
        return log_vars

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self._predict_head().predict(self.extract_feat(inputs), data_samples)
        if mode == 'tensor':
            return self._predict_head()(self.extract_feat(inputs))
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")
