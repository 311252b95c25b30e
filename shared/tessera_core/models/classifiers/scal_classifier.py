"""SCAL: structure-conditioned adversarial learning for unsupervised domain adaptation.

Paper: "Unsupervised Domain Adaptation for Image Classification via Structure-Conditioned
Adversarial Learning", Wang, Tian, Li, Zhao, Tian, Wu, Li, arXiv:2103.02808 (2021). No official
code was found; this follows the paper's Sec. 3 and Algorithm 1.

Components: feature extractor G (backbone + neck), source classifier F (``head``), surrogate
classifier F_S (``surrogate_head``, one fully-connected layer) and domain classifier D (one
fully-connected layer behind a gradient reversal layer).

1. Local structures (before every epoch, :class:`~tessera_core.engine.hooks.SCALStructureHook`):
   source class centres ``c_k = mean G(x_s) over class k`` initialise the target centres, and
   spherical k-means with the cosine distance ``(1 - <g, mu> / (|g| |mu|)) / 2`` (Eq. 4-5) on the
   target features gives a cluster (pseudo-label) ``y_hat`` for every target sample.
2. Surrogate approximation (every batch, Eq. 6): ``min_{F_S} CE(F_S(G(x_t)), y_hat)`` -- only F_S
   learns from it (the features are detached: G is frozen in this step, Fig. 3 B).
3. Structure-conditioned adversarial loss (Eq. 7-8)::

       S(x) = G(x) (outer product) softmax(F_S(G(x)))           (N, d * K), flattened
       L_scal = -E_s log D(S(x)) - E_t log(1 - D(S(x)))
       min_{G,F} max_D  L_cls - lambda * L_scal                  (Eq. 1, lambda = 1)

   D descends ``L_scal`` and G ascends it through the GRL. The condition ``softmax(F_S(G(x)))`` is
   detached (F_S is frozen in this step, Fig. 3 C; CDAN's official code detaches its condition the
   same way), so G is moved only through the feature factor of S.

Prediction uses the surrogate classifier ("we choose the output of the surrogate classifier as our
final prediction", Sec. 4.2); ``predict_with='source'`` uses F instead.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F

from tessera_core.models.losses.domain_adversarial_loss import domain_accuracy, domain_adversarial_loss
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

from .domain_adaptation_classifier import DomainAdaptationClassifier

PREDICTORS = ('surrogate', 'source')


def cosine_distance(features: torch.Tensor, centers: torch.Tensor) -> torch.Tensor:
    """Eq. 5, ``(1 - cos(g, mu)) / 2`` for features (N, d) and centres (K, d) -> (N, K), in [0, 1]."""
    return 0.5 * (1.0 - F.normalize(features, dim=1) @ F.normalize(centers, dim=1).T)


def source_class_centers(features: torch.Tensor, labels: torch.Tensor, num_classes: int) -> torch.Tensor:
    """Mean source feature of each class: features (N, d), labels (N,) -> (K, d). A class without
    samples raises (it could not initialise its target cluster)."""
    counts = torch.bincount(labels, minlength=num_classes)
    if (counts == 0).any():
        missing = torch.nonzero(counts == 0).flatten().tolist()
        raise ValueError(f'no source sample of class(es) {missing}: cannot compute their class centres')
    sums = torch.zeros(num_classes, features.size(1), dtype=features.dtype, device=features.device)
    sums.index_add_(0, labels, features)
    return sums / counts[:, None].to(features.dtype)


def spherical_kmeans(features: torch.Tensor, init_centers: torch.Tensor,
                     max_iters: int = 100) -> Tuple[torch.Tensor, torch.Tensor]:
    """Spherical k-means (Eq. 4 with the distance of Eq. 5) from the given centres.

    Each round assigns every feature to its nearest centre in cosine distance, then moves each
    centre to the mean of its members' unit vectors (a centre without members stays put), until the
    assignment no longer changes or after ``max_iters`` rounds.

    Args:
        features: (N, d) target features.
        init_centers: (K, d) initial centres (SCAL: the source class centres).

    Returns:
        labels (N,) long and centres (K, d), unit length.
    """
    if features.dim() != 2 or init_centers.dim() != 2 or features.size(1) != init_centers.size(1):
        raise ValueError(f'features (N, d) and centres (K, d) must share d, got {tuple(features.shape)} '
                         f'and {tuple(init_centers.shape)}')
    units = F.normalize(features, dim=1)
    centers = F.normalize(init_centers, dim=1)
    labels = None
    for _ in range(max_iters):
        new_labels = cosine_distance(units, centers).argmin(dim=1)
        if labels is not None and torch.equal(new_labels, labels):
            break
        labels = new_labels
        sums = torch.zeros_like(centers).index_add_(0, labels, units)
        filled = torch.bincount(labels, minlength=centers.size(0)) > 0
        centers = torch.where(filled[:, None], F.normalize(sums, dim=1), centers)
    return labels, centers


@MODELS.register_module()
class SCALClassifier(DomainAdaptationClassifier):
    """:class:`DomainAdaptationClassifier` trained with SCAL's structure-conditioned adversarial loss.

    Train it with ``custom_hooks=[dict(type='SCALStructureHook')]`` (the per-epoch clustering) and
    ``data_preprocessor=dict(type='DomainPairDataPreprocessor', pass_target_indices=True)`` (the
    pseudo-labels are looked up by target sample index).

    Args:
        surrogate_head (dict, optional): F_S; defaults to a ``LinearClsHead`` like ``head``.
        discriminator (dict): D; ``in_channels`` defaults to ``feat_dim * num_classes``.
        adv_weight (float): lambda of Eq. 1 (paper: 1).
        surrogate_weight (float): Weight of Eq. 6 (1; it only trains F_S).
        kmeans_iters (int): Rounds of spherical k-means per establishment.
        predict_with (str): ``'surrogate'`` (paper) or ``'source'``.

    Logged: ``loss_scal``, ``loss_surrogate``, ``disc_acc`` (%), ``grl_coeff``, ``surrogate_agree``
    (% of target samples on which F_S predicts the pseudo-label).
    """

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 surrogate_head: Optional[dict] = None,
                 discriminator: dict = dict(type='DomainDiscriminator', hidden_dims=()),
                 adv_weight: float = 1.0, surrogate_weight: float = 1.0, kmeans_iters: int = 100,
                 predict_with: str = 'surrogate', data_preprocessor: Optional[dict] = None, init_cfg=None):
        if predict_with not in PREDICTORS:
            raise ValueError(f'unknown predict_with {predict_with!r}; valid: {PREDICTORS}')
        if adv_weight < 0 or surrogate_weight < 0:
            raise ValueError(f'adv_weight and surrogate_weight must be >= 0, got {adv_weight}, {surrogate_weight}')
        if data_preprocessor is None:
            data_preprocessor = dict(type='DomainPairDataPreprocessor', pass_target_indices=True)
        super().__init__(backbone=backbone, head=head, neck=neck, target_loss=None,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if surrogate_head is None:
            surrogate_head = {k: v for k, v in head.items() if k in ('type', 'num_classes', 'in_channels', 'loss')}
        self.surrogate_head = self.registry.build(surrogate_head)
        self.num_classes = self.head.num_classes
        if self.surrogate_head.num_classes != self.num_classes:
            raise ValueError(f'surrogate_head.num_classes={self.surrogate_head.num_classes} differs from the '
                             f'head num_classes={self.num_classes}')
        discriminator = dict(discriminator)
        discriminator.setdefault('in_channels', self.surrogate_head.in_channels * self.num_classes)
        self.discriminator = self.registry.build(discriminator)
        self.adv_weight, self.surrogate_weight = adv_weight, surrogate_weight
        self.kmeans_iters, self.predict_with = kmeans_iters, predict_with
        self.register_buffer('pseudo_labels', torch.empty(0, dtype=torch.long), persistent=False)

    # ---- step 1: local structures -------------------------------------------------------------
    @torch.no_grad()
    def establish_local_structures(self, source_features: torch.Tensor, source_labels: torch.Tensor,
                                   target_features: torch.Tensor) -> torch.Tensor:
        """Source-centre-initialised spherical k-means of the target features (Algorithm 1, lines
        4-6); stores and returns the pseudo-labels (N_t,), indexed like the target dataset."""
        centers = source_class_centers(source_features, source_labels.long(), self.num_classes)
        labels, _ = spherical_kmeans(target_features, centers, self.kmeans_iters)
        self.pseudo_labels = labels.to(self.pseudo_labels.device)
        return labels

    # ---- steps 2 and 3 ------------------------------------------------------------------------
    def structure_conditioned_features(self, features: torch.Tensor) -> torch.Tensor:
        """Eq. 7: features (N, d) -> flattened outer products ``g (x) softmax(F_S(g))`` (N, d * K),
        with the condition detached (F_S frozen in the adversarial step)."""
        condition = F.softmax(self.surrogate_head((features,)), dim=1).detach()
        return torch.einsum('nd,nk->ndk', features, condition).flatten(1)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor', target_inputs: Optional[torch.Tensor] = None,
                target_indices: Optional[torch.Tensor] = None):
        if mode == 'loss':
            return self.loss(inputs, data_samples, target_inputs, target_indices)
        if self.predict_with == 'surrogate' and mode in ('predict', 'tensor'):
            feats = self.extract_feat(inputs)
            if mode == 'predict':
                return self.surrogate_head.predict(feats, data_samples)
            return self.surrogate_head(feats)
        return super().forward(inputs, data_samples, mode)

    def loss(self, inputs: torch.Tensor, data_samples: List[ClsDataSample],
             target_inputs: Optional[torch.Tensor] = None, target_indices: Optional[torch.Tensor] = None) -> dict:
        if target_inputs is None or target_indices is None:
            raise ValueError('SCALClassifier needs target_inputs and target_indices in training: use a '
                             'DomainPairDataset train set with '
                             "dict(type='DomainPairDataPreprocessor', pass_target_indices=True)")
        if self.pseudo_labels.numel() == 0:
            raise RuntimeError('SCALClassifier has no target pseudo-labels yet: add '
                               "custom_hooks=[dict(type='SCALStructureHook')] (it clusters before every epoch)")
        if int(target_indices.max()) >= self.pseudo_labels.numel():
            raise ValueError(f'target index {int(target_indices.max())} outside the {self.pseudo_labels.numel()} '
                             'clustered target samples')
        source_feats = self.extract_feat(inputs)
        target_feats = self.extract_feat(target_inputs)
        losses = self.head.loss(source_feats, data_samples)

        g_s, g_t = source_feats[-1], target_feats[-1]
        pseudo = self.pseudo_labels[target_indices.to(self.pseudo_labels.device)]
        surrogate_logits = self.surrogate_head((g_t.detach(),))
        losses['loss_surrogate'] = self.surrogate_weight * F.cross_entropy(surrogate_logits, pseudo)

        conditioned = self.structure_conditioned_features(torch.cat([g_s, g_t]))
        logit = self.discriminator(conditioned)
        losses['loss_scal'] = self.adv_weight * domain_adversarial_loss(logit, g_s.size(0))
        with torch.no_grad():
            losses['disc_acc'] = domain_accuracy(logit.detach(), g_s.size(0))
            losses['surrogate_agree'] = surrogate_logits.argmax(1).eq(pseudo).float().mean() * 100
            losses['grl_coeff'] = torch.tensor(self.discriminator.coeff)
        return losses
