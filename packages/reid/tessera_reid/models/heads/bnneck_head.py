"""BNNeck head of the re-ID strong baseline.

Bag of Tricks and A Strong Baseline for Deep Person Re-identification, Luo et al., arXiv:1903.07071.
Official code: https://github.com/michuanhaohao/reid-strong-baseline (``modeling/baseline.py``, ``neck='bnneck'``).

The pooled feature ``f_t`` (N, C) feeds the triplet loss; a BatchNorm1d whose bias is frozen at zero ("no
shift") turns it into ``f_i``, which feeds a bias-free linear classifier trained with the label-smoothed
ID loss; the optional center loss (``loss_center``) also acts on ``f_t``, as in the official
``make_loss_with_center``. At inference ``f_i`` (``neck_feat='after'``, the paper's choice) or ``f_t``
(``'before'``) is the embedding, L2-normalised so that Euclidean ranking equals cosine ranking
(``TEST.FEAT_NORM='yes'``).
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from tessera_core.structures import ClsDataSample
from tessera_reid.registry import MODELS


@MODELS.register_module()
class BNNeckHead(BaseModule):
    """BNNeck + bias-free ID classifier, with the ID and the triplet loss.

    Args:
        num_classes (int): Training identities.
        in_channels (int): Channels of the pooled feature.
        loss_cls (dict): ID loss on the classifier logits, e.g. ``dict(type='LabelSmoothLoss',
            label_smooth_val=0.1)`` (the paper's label smoothing, epsilon 0.1).
        loss_triplet (dict, optional): Metric loss on the pre-BN feature, e.g. ``dict(type='TripletLoss',
            margin=0.3)``; ``None`` trains with the ID loss alone.
        loss_center (dict, optional): Center loss on the pre-BN feature (the strong baseline's optional trick),
            e.g. ``dict(type='CenterLoss', loss_weight=0.0005, center_lr=0.5)``; ``num_classes`` and
            ``feat_dim`` default to the head's. ``None`` (default) leaves it out.
        neck_feat (str): Inference embedding, ``'after'`` (post-BN, default) or ``'before'`` the BNNeck.
        normalize (bool): L2-normalise the inference embedding.
        topk (Sequence[int]): ID-classification accuracies logged during training.

    Shapes: ``feats[-1]`` (N, in_channels) -> logits (N, num_classes); embedding (N, in_channels).
    """
    neck_feats = ('after', 'before')

    def __init__(self, num_classes: int, in_channels: int,
                 loss_cls: dict = dict(type='LabelSmoothLoss', label_smooth_val=0.1),
                 loss_triplet: Optional[dict] = dict(type='TripletLoss', margin=0.3),
                 loss_center: Optional[dict] = None,
                 neck_feat: str = 'after', normalize: bool = True, topk: Sequence[int] = (1,),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'num_classes and in_channels must be positive, got {num_classes}, {in_channels}')
        if neck_feat not in self.neck_feats:
            raise ValueError(f'invalid neck_feat {neck_feat!r}; valid: {self.neck_feats}')
        self.num_classes, self.in_channels = num_classes, in_channels
        self.neck_feat, self.normalize, self.topk = neck_feat, normalize, tuple(topk)
        self.bottleneck = nn.BatchNorm1d(in_channels)
        self.bottleneck.bias.requires_grad_(False)  # no shift
        self.classifier = nn.Linear(in_channels, num_classes, bias=False)
        self.loss_cls = MODELS.build(loss_cls)
        self.loss_triplet = MODELS.build(loss_triplet) if loss_triplet is not None else None
        self.loss_center = None
        if loss_center is not None:
            loss_center = dict(loss_center)
            loss_center.setdefault('num_classes', num_classes)
            loss_center.setdefault('feat_dim', in_channels)
            self.loss_center = MODELS.build(loss_center)
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # weights_init_kaiming on the BN (weight 1, bias 0), weights_init_classifier on the FC (std 0.001).
        nn.init.ones_(self.bottleneck.weight)
        nn.init.zeros_(self.bottleneck.bias)
        nn.init.normal_(self.classifier.weight, std=0.001)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            self._reset_parameters()

    @staticmethod
    def pre_logits(feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The pooled feature ``f_t`` (N, C): the last element of the neck's tuple."""
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 2:
            raise ValueError(f'BNNeckHead expects pooled (N, C) features, got shape {tuple(x.shape)}; '
                             "pool first, e.g. neck=dict(type='GlobalAveragePooling')")
        return x

    def forward_train(self, feats: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Returns ``(cls_score (N, num_classes), global_feat (N, C))``."""
        global_feat = self.pre_logits(feats)
        return self.classifier(self.bottleneck(global_feat)), global_feat

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Inference embedding (N, C): post- or pre-BN feature, L2-normalised if ``normalize``."""
        global_feat = self.pre_logits(feats)
        feat = self.bottleneck(global_feat) if self.neck_feat == 'after' else global_feat
        return F.normalize(feat, dim=1) if self.normalize else feat

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples: List[ClsDataSample]) -> dict:
        cls_score, global_feat = self.forward_train(feats)
        target = torch.cat([s.gt_label for s in data_samples]).to(cls_score.device)
        if target.max() >= self.num_classes or target.min() < 0:
            raise ValueError(f'identity label {int(target.max())} outside [0, {self.num_classes}): '
                             'train labels must be relabelled to 0..num_classes-1')
        losses = dict(loss_cls=self.loss_cls(cls_score, target))
        if self.loss_triplet is not None:
            losses['loss_triplet'] = self.loss_triplet(global_feat, target)
        if self.loss_center is not None:
            losses['loss_center'] = self.loss_center(global_feat, target)
        with torch.no_grad():
            for k in self.topk:
                if k <= cls_score.size(1):
                    hit = cls_score.topk(k, dim=1).indices.eq(target[:, None]).any(dim=1)
                    losses[f'accuracy_top-{k}'] = hit.float().mean() * 100
        return losses

    def predict(self, feats: Tuple[torch.Tensor, ...],
                data_samples: Optional[List[ClsDataSample]] = None) -> List[ClsDataSample]:
        """Attach ``pred_feature`` (C,) to every data sample."""
        embeddings = self(feats).detach()
        if data_samples is None:
            data_samples = [ClsDataSample() for _ in range(embeddings.size(0))]
        for sample, emb in zip(data_samples, embeddings):
            sample.set_field(emb, 'pred_feature', dtype=torch.Tensor)
        return data_samples
