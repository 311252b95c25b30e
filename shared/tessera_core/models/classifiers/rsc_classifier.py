"""Representation Self-Challenging (RSC) for image classifiers.

Paper: "Self-Challenging Improves Cross-Domain Generalization", Zeyi Huang, Haohan Wang, Eric P. Xing,
Dong Huang, ECCV 2020, arXiv:2007.02454. Official code: https://github.com/DeLightCMU/RSC
(``Domain_Generalization/models/resnet.py``, ``ResNet.forward(x, gt, flag, epoch)``).

At every training step, on the backbone's last feature map ``z`` (N, C, H, W):

1. gradient of the true-class logit w.r.t. ``z`` (computed on a detached copy, neck and head in
   eval mode; no parameter gradient is accumulated);
2. with probability 1/2 (official: ``random.randint(0, 9) <= 4``) a *spatial* challenge: the Grad-CAM
   map ``sum_c z[c] * mean_hw(grad[c])`` ranks the H*W positions and the top ``ceil(H*W / 3)`` are
   zeroed in every channel; otherwise a *channel* challenge: the channels are ranked by
   ``mean_hw(grad)`` and the top ``ceil(C / 3.2)`` are zeroed;
3. only part of the batch is challenged: with ``drop = p_true(z) - p_true(z * mask) - 1e-4`` (softmax
   probabilities of the true class before/after masking), samples whose confidence did not drop
   (``drop <= 0``) keep their features, and of the rest only the ``round(N * batch_percentage)``
   with the largest drop are masked;
4. the loss is the head's usual loss on ``z * mask`` (the mask is a constant).

Official defaults (current master of the official repo): spatial drop 1/3 (ceil), channel drop
1/3.2 (ceil), spatial/channel 50/50, margin 1e-4, batch percentage ``0.3 + 0.2 * floor(epoch / 10)``
(its curriculum; the paper and the first official release use 1/3 throughout, the default here).
The official trainer also doubles each batch with horizontally flipped copies; that is data
augmentation, left to the pipeline. Ties in the rankings are broken by ``topk`` (the official code
thresholds at the (k+1)-th value, which drops fewer entries only under exact ties).
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub

from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

from .image_classifier import ImageClassifier


def _drop_count(total: int, fraction: float) -> int:
    """``ceil(total * fraction)`` robust to float error (ceil(9 * (1/3)) is 3)."""
    return min(total, math.ceil(round(total * fraction, 9)))


def rsc_spatial_mask(features: torch.Tensor, grads: torch.Tensor, drop: float) -> torch.Tensor:
    """Spatial challenge: zero the ``ceil(H*W * drop)`` positions of largest Grad-CAM value.

    Args:
        features: (N, C, H, W) feature map.
        grads: (N, C, H, W) gradient of the true-class score w.r.t. ``features``.
        drop: Fraction of positions to drop, in [0, 1].

    Returns:
        (N, 1, H, W) mask of 0 (dropped) and 1.
    """
    n, c, h, w = features.shape
    cam = (features * grads.mean(dim=(2, 3), keepdim=True)).sum(dim=1).reshape(n, h * w)
    mask = torch.ones_like(cam)
    k = _drop_count(h * w, drop)
    if k:
        mask.scatter_(1, cam.topk(k, dim=1).indices, 0.0)
    return mask.reshape(n, 1, h, w)


def rsc_channel_mask(grads: torch.Tensor, drop: float) -> torch.Tensor:
    """Channel challenge: zero the ``ceil(C * drop)`` channels of largest mean gradient.

    Args:
        grads: (N, C, H, W) gradient of the true-class score w.r.t. the features.
        drop: Fraction of channels to drop, in [0, 1].

    Returns:
        (N, C, 1, 1) mask of 0 (dropped) and 1.
    """
    n, c = grads.shape[:2]
    importance = grads.mean(dim=(2, 3))
    mask = torch.ones_like(importance)
    k = _drop_count(c, drop)
    if k:
        mask.scatter_(1, importance.topk(k, dim=1).indices, 0.0)
    return mask.reshape(n, c, 1, 1)


def rsc_select_samples(confidence_drop: torch.Tensor, percentage: float, margin: float = 1e-4) -> torch.Tensor:
    """Which samples are challenged: among those whose true-class probability dropped by more than
    ``margin``, the ``round(N * percentage)`` with the largest drop.

    Args:
        confidence_drop: (N,) ``p_true(before) - p_true(after masking)``.
        percentage: Fraction of the batch, in [0, 1].
        margin: The official ``1e-4`` subtracted before keeping positive drops.

    Returns:
        (N,) bool, True for the samples whose features are masked.
    """
    n = confidence_drop.numel()
    k = min(n, int(round(n * percentage)))  # Python rounding, as the official int(round(...))
    change = confidence_drop - margin
    chosen = torch.zeros(n, dtype=torch.bool, device=confidence_drop.device)
    if k:
        chosen[change.topk(k).indices] = True
    return chosen & (change > 0)


@MODELS.register_module()
class RSCImageClassifier(ImageClassifier):
    """``ImageClassifier`` trained with Representation Self-Challenging on the backbone's last map.

    Prediction and ``'tensor'`` mode are the plain classifier's; only ``mode='loss'`` in training
    mode challenges. The loss dict also logs ``rsc_challenged`` (% of the batch masked) and
    ``rsc_spatial`` (1 for a spatial challenge, 0 for a channel one).

    Args:
        backbone, head, neck, data_preprocessor, init_cfg: As in :class:`ImageClassifier`; the neck
            (e.g. global average pooling) and head map the last feature map to logits.
        spatial_drop (float): Fraction of the H*W positions dropped by a spatial challenge (1/3).
        channel_drop (float): Fraction of the channels dropped by a channel challenge (1/3.2).
        spatial_prob (float): Probability that a batch gets the spatial challenge (0.5).
        batch_percentage (float): Fraction of the batch challenged (1/3).
        batch_percentage_curriculum (tuple, optional): ``(step, interval)``: the percentage grows by
            ``step`` every ``interval`` epochs (official master: ``batch_percentage=0.3`` with
            ``(0.2, 10)``); the epoch is read from mmengine's message hub, capped at 1.
        confidence_margin (float): Margin the true-class probability must drop by (1e-4).
    """

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None, spatial_drop: float = 1 / 3,
                 channel_drop: float = 1 / 3.2, spatial_prob: float = 0.5, batch_percentage: float = 1 / 3,
                 batch_percentage_curriculum: Optional[Sequence[Union[float, int]]] = None,
                 confidence_margin: float = 1e-4):
        for name, value in (('spatial_drop', spatial_drop), ('channel_drop', channel_drop),
                            ('spatial_prob', spatial_prob), ('batch_percentage', batch_percentage)):
            if not 0 <= value <= 1:
                raise ValueError(f'{name} must lie in [0, 1], got {value}')
        if confidence_margin < 0:
            raise ValueError(f'confidence_margin must be >= 0, got {confidence_margin}')
        if batch_percentage_curriculum is not None:
            if (len(batch_percentage_curriculum) != 2 or batch_percentage_curriculum[0] < 0
                    or int(batch_percentage_curriculum[1]) != batch_percentage_curriculum[1]
                    or batch_percentage_curriculum[1] < 1):
                raise ValueError('batch_percentage_curriculum must be (step >= 0, interval >= 1 epochs), '
                                 f'got {batch_percentage_curriculum!r}')
            batch_percentage_curriculum = (float(batch_percentage_curriculum[0]), int(batch_percentage_curriculum[1]))
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.spatial_drop, self.channel_drop, self.spatial_prob = spatial_drop, channel_drop, spatial_prob
        self.batch_percentage, self.curriculum = batch_percentage, batch_percentage_curriculum
        self.confidence_margin = confidence_margin

    def current_batch_percentage(self) -> float:
        """The batch percentage at the message hub's current epoch."""
        if self.curriculum is None:
            return self.batch_percentage
        step, interval = self.curriculum
        epoch = MessageHub.get_current_instance().get_info('epoch', 0) or 0
        return min(1.0, self.batch_percentage + (epoch // interval) * step)

    def _logits_from_last(self, feats: Tuple[torch.Tensor, ...], last: torch.Tensor) -> torch.Tensor:
        feats = feats[:-1] + (last,)
        if self.neck is not None:
            feats = self.neck(feats)
        return self.head(feats)

    def challenge_mask(self, feats: Tuple[torch.Tensor, ...], labels: torch.Tensor) -> Tuple[torch.Tensor, bool]:
        """The RSC mask of the last feature map (ones for unchallenged samples).

        Args:
            feats: Backbone outputs, the last one (N, C, H, W) is challenged.
            labels: (N,) true classes.

        Returns:
            ``(mask, spatial)``: mask (N, 1, H, W) or (N, C, 1, 1), and whether it is spatial.
        """
        spatial = bool(torch.rand(()) < self.spatial_prob)
        last = feats[-1].detach()
        feats = tuple(f.detach() for f in feats[:-1])
        modules = [m for m in (self.neck, self.head) if m is not None]
        modes = [m.training for m in modules]
        for m in modules:
            m.eval()  # as the official self.eval(): no dropout, no BN statistics update
        try:
            with torch.enable_grad():
                probe = last.clone().requires_grad_(True)
                logits = self._logits_from_last(feats, probe)
                score = logits.gather(1, labels[:, None]).sum()
                (grads,) = torch.autograd.grad(score, probe)
            if spatial:
                mask = rsc_spatial_mask(last, grads, self.spatial_drop)
            else:
                mask = rsc_channel_mask(grads, self.channel_drop)
            with torch.no_grad():
                before = F.softmax(logits.detach(), dim=1).gather(1, labels[:, None])[:, 0]
                after = F.softmax(self._logits_from_last(feats, last * mask), dim=1).gather(1, labels[:, None])[:, 0]
        finally:
            for m, mode in zip(modules, modes):
                m.train(mode)
        chosen = rsc_select_samples(before - after, self.current_batch_percentage(), self.confidence_margin)
        mask = torch.where(chosen.view(-1, 1, 1, 1), mask, torch.ones_like(mask))
        return mask, spatial

    def loss(self, inputs: torch.Tensor, data_samples: List[ClsDataSample]) -> dict:
        feats = self.backbone(inputs)
        if isinstance(feats, torch.Tensor):
            feats = (feats,)
        feats = tuple(feats)
        if feats[-1].dim() != 4:
            raise ValueError('RSC challenges a (N, C, H, W) feature map; the backbone returned '
                             f'{tuple(feats[-1].shape)}')
        stats = {}
        active = (self.current_batch_percentage() > 0
                  and (_drop_count(feats[-1].shape[2] * feats[-1].shape[3], self.spatial_drop) > 0
                       or _drop_count(feats[-1].shape[1], self.channel_drop) > 0))
        if self.training and active:
            labels = torch.cat([s.gt_label for s in data_samples]).to(feats[-1].device)
            mask, spatial = self.challenge_mask(feats, labels)
            challenged = (mask.flatten(1) == 0).any(dim=1).float().mean() * 100
            feats = feats[:-1] + (feats[-1] * mask,)
            stats = dict(rsc_challenged=challenged, rsc_spatial=torch.tensor(float(spatial), device=challenged.device))
        if self.neck is not None:
            feats = self.neck(feats)
        losses = self.head.loss(feats, data_samples)
        losses.update(stats)
        return losses

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        return super().forward(inputs, data_samples, mode)
