"""GVB-GD: adversarial domain adaptation with Gradually Vanishing Bridges on the generator and the
discriminator.

Paper: "Gradually Vanishing Bridge for Adversarial Domain Adaptation", Cui, Wang, Zhuo, Su, Huang,
Tian, CVPR 2020, arXiv:2003.13183. Official code: https://github.com/cuishuhao/GVB
(``GVB-GD/train_image.py``, ``loss.py``, ``network.py``).

Per step, with source images x_s (labels y_s) and target images x_t forwarded separately::

    y = fc(G(x)) - b_g(G(x))                      generator bridge (GVBClsHead)
    p = softmax(y)                                the discriminator reads the predictions
    (a, b_d) = D(GRL(p))                          domain logit and discriminator bridge
    P(source | x) = sigmoid(a - b_d)              discriminator bridge (GVB-D)
    L = CE(y_s, y_s_true) + trade_off * L_adv + lambda * mean|b_g| + mu * mean|b_d|

``L_adv`` is the entropy-weighted binary cross-entropy of the official code, halved
(:mod:`tessera_core.models.losses.domain_adversarial_loss`); the bridge means run over the source
and target rows together. The GRL makes D descend ``L_adv`` while the network before it ascends
``coeff * L_adv``. The penalties' gradients ``lambda * sign(b_g) / numel`` (and likewise for
``b_d``) shrink the bridges towards zero: early on a bridge absorbs the domain-specific part the
adversarial game cannot remove, and as it vanishes ``y`` has to carry the prediction by itself
(the paper's "gradually vanishing"). The discriminator bridge's penalty reaches the generator
through the GRL, reversed, as in the official code. Defaults are the official ones:
trade_off = lambda = mu = 1, entropy weighting on.
"""
from typing import List, Optional

import torch
import torch.nn.functional as F

from tessera_core.models.losses.domain_adversarial_loss import (domain_accuracy, domain_adversarial_loss,
                                                                 entropy_domain_weights)
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

from .domain_adaptation_classifier import DomainAdaptationClassifier


@MODELS.register_module()
class GVBClassifier(DomainAdaptationClassifier):
    """:class:`DomainAdaptationClassifier` trained adversarially with GVB's two bridges.

    Args:
        discriminator (dict): A :class:`~tessera_core.models.layers.DomainDiscriminator` config;
            ``in_channels`` defaults to the head's ``num_classes`` (it reads softmax outputs), and
            ``with_bridge`` to ``bridge_d_weight != 0``.
        transfer_weight (float): Weight of the adversarial loss (official ``trade_off``, 1).
        bridge_g_weight (float): lambda, weight of ``mean|b_g|`` (official ``GVBG``; 1 in the README
            commands). Needs a head with a bridge (``GVBClsHead``) when non-zero.
        bridge_d_weight (float): mu, weight of ``mean|b_d|`` (official ``GVBD``, 1); 0 drops the
            discriminator bridge (``sigmoid(a)`` alone).
        entropy_weighting (bool): CDAN+E weights ``exp(-H)`` (official GVB-GD: on).
        Other arguments as :class:`DomainAdaptationClassifier` (without ``target_loss``).

    Logged besides the losses: ``disc_acc`` (the discriminator's domain accuracy, %),
    ``bridge_g`` and ``bridge_d`` (unweighted mean absolute bridges), ``grl_coeff``.
    """

    def __init__(self, backbone: dict, head: dict, discriminator: dict = dict(type='DomainDiscriminator'),
                 neck: Optional[dict] = None, transfer_weight: float = 1.0, bridge_g_weight: float = 1.0,
                 bridge_d_weight: float = 1.0, entropy_weighting: bool = True,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(backbone=backbone, head=head, neck=neck, target_loss=None,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not hasattr(self.head, 'forward_with_bridge'):
            raise ValueError(f"GVBClassifier needs a head with a generator bridge (type='GVBClsHead'), "
                             f'got {type(self.head).__name__}')
        if bridge_g_weight != 0 and not self.head.with_bridge:
            raise ValueError(f'bridge_g_weight={bridge_g_weight} needs the head built with with_bridge=True')
        for name, value in (('transfer_weight', transfer_weight), ('bridge_g_weight', bridge_g_weight)):
            if value < 0:
                raise ValueError(f'{name} must be >= 0, got {value}')
        discriminator = dict(discriminator)
        discriminator.setdefault('in_channels', self.head.num_classes)
        discriminator.setdefault('with_bridge', bridge_d_weight != 0)
        self.discriminator = self.registry.build(discriminator)
        if bridge_d_weight != 0 and not self.discriminator.with_bridge:
            raise ValueError(f'bridge_d_weight={bridge_d_weight} needs a discriminator with with_bridge=True')
        self.transfer_weight, self.bridge_g_weight = transfer_weight, bridge_g_weight
        self.bridge_d_weight, self.entropy_weighting = bridge_d_weight, entropy_weighting

    def domain_logits(self, probs: torch.Tensor):
        """probs (N, C) -> (domain logit used in the loss (N,), discriminator bridge (N,) or None)."""
        out = self.discriminator(probs)
        if not isinstance(out, tuple):
            return out, None
        logit, bridge = out
        if self.bridge_d_weight != 0:
            return logit - bridge, bridge
        return logit, bridge

    def loss(self, inputs: torch.Tensor, data_samples: List[ClsDataSample],
             target_inputs: Optional[torch.Tensor] = None) -> dict:
        if target_inputs is None:
            raise ValueError('GVBClassifier needs target_inputs in training: use a DomainPairDataset train set '
                             'with the DomainPairDataPreprocessor')
        source_logits, source_bridge = self.head.forward_with_bridge(self.extract_feat(inputs))
        target_logits, target_bridge = self.head.forward_with_bridge(self.extract_feat(target_inputs))
        labels = torch.cat([s.gt_label for s in data_samples]).to(source_logits.device)
        losses = dict(loss=self.head.loss_module(source_logits, labels))
        with torch.no_grad():
            losses['accuracy_top-1'] = source_logits.argmax(1).eq(labels).float().mean() * 100

        n_s = source_logits.size(0)
        probs = F.softmax(torch.cat([source_logits, target_logits]), dim=1)
        logit, d_bridge = self.domain_logits(probs)
        coeff = self.discriminator.coeff
        weights = entropy_domain_weights(probs, n_s, coeff) if self.entropy_weighting else None
        transfer = 0.5 * domain_adversarial_loss(logit, n_s, weights)  # official: sum(BCE * w) / 2
        losses['loss_transfer'] = self.transfer_weight * transfer
        g_bridge = torch.cat([source_bridge, target_bridge]).abs().mean()
        if self.bridge_g_weight != 0:
            losses['loss_bridge_g'] = self.bridge_g_weight * g_bridge
        if d_bridge is not None and self.bridge_d_weight != 0:
            losses['loss_bridge_d'] = abs(self.bridge_d_weight) * d_bridge.abs().mean()
        with torch.no_grad():
            losses['disc_acc'] = domain_accuracy(logit.detach(), n_s)
            losses['bridge_g'] = g_bridge.detach()
            if d_bridge is not None:
                losses['bridge_d'] = d_bridge.detach().abs().mean()
            losses['grl_coeff'] = torch.tensor(coeff)
        return losses
