"""Clip classification head of 3D networks: spatiotemporal average pooling, dropout, linear classifier.

As mmaction2 1.x's ``I3DHead`` (``mmaction/models/heads/i3d_head.py``, https://github.com/open-mmlab/mmaction2;
I3D: Carreira and Zisserman, arXiv:1705.07750): ``AdaptiveAvgPool3d(1)`` over (T, H, W), dropout, ``fc_cls``
initialised N(0, 0.01). Several clips (views) of one video arrive as consecutive rows; at test time their
scores are averaged as mmaction2's ``average_clips``: ``'score'`` averages the logits then applies softmax,
``'prob'`` averages the softmax probabilities. In training each clip is a sample with its video's label.
"""
from typing import List, Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.models.heads import ClsHead
from tessera_core.structures import ClsDataSample
from tessera_video.registry import MODELS

AVERAGE_CLIPS = ('score', 'prob')


@MODELS.register_module()
class I3DHead(ClsHead):
    """Pool (N, C, T, H, W) to (N, C), classify, average the clips of each video in ``predict``.

    Args:
        num_classes (int): Classes.
        in_channels (int): Channels of the backbone's last feature.
        dropout (float): Dropout before the classifier (mmaction2: 0.5).
        init_std (float): Std of the classifier's normal initialisation (0.01).
        average_clips (str): ``'score'`` or ``'prob'``, how ``predict`` fuses the views of one video.
        **kwargs: ``loss`` and ``topk`` of :class:`ClsHead`.

    Shapes: ``feats[-1]`` (N * num_clips, C, T, H, W) (or already pooled (N * num_clips, C)) ->
    (N * num_clips, num_classes) logits; ``predict`` returns one sample per video.
    """

    def __init__(self, num_classes: int, in_channels: int, dropout: float = 0.5, init_std: float = 0.01,
                 average_clips: str = 'prob', init_cfg=None, **kwargs):
        if init_cfg is None:
            init_cfg = dict(type='Normal', layer='Linear', std=init_std)
        super().__init__(init_cfg=init_cfg, **kwargs)
        if num_classes <= 0 or in_channels <= 0:
            raise ValueError(f'num_classes and in_channels must be positive, got {num_classes}, {in_channels}')
        if average_clips not in AVERAGE_CLIPS:
            raise ValueError(f'invalid average_clips {average_clips!r}; valid: {AVERAGE_CLIPS}')
        self.num_classes, self.in_channels, self.average_clips = num_classes, in_channels, average_clips
        self.pool = nn.AdaptiveAvgPool3d(1)
        self.dropout = nn.Dropout(dropout) if dropout > 0 else nn.Identity()
        self.fc_cls = nn.Linear(in_channels, num_classes)
        nn.init.normal_(self.fc_cls.weight, std=init_std)
        nn.init.zeros_(self.fc_cls.bias)

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        x = self.pre_logits(feats)
        if x.dim() == 5:
            x = self.pool(x).flatten(1)
        if x.dim() != 2 or x.size(1) != self.in_channels:
            raise ValueError(f'I3DHead expects (N, {self.in_channels}, T, H, W) or (N, {self.in_channels}) '
                             f'features, got {tuple(x.shape)}')
        return self.fc_cls(self.dropout(x))

    @staticmethod
    def _clips_per_video(num_scores: int, num_videos: int) -> int:
        if num_videos == 0 or num_scores % num_videos:
            raise ValueError(f'{num_scores} clip scores cannot be split evenly over {num_videos} videos')
        return num_scores // num_videos

    def average_clip(self, cls_scores: torch.Tensor, num_clips: int) -> torch.Tensor:
        """(N * num_clips, K) logits -> (N, K) probabilities, fused as ``average_clips`` says."""
        scores = cls_scores.view(-1, num_clips, cls_scores.size(-1))
        if self.average_clips == 'prob':
            return F.softmax(scores, dim=2).mean(dim=1)
        return F.softmax(scores.mean(dim=1), dim=1)

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples: List[ClsDataSample]) -> dict:
        cls_score = self(feats)
        clips = self._clips_per_video(cls_score.size(0), len(data_samples))
        target = torch.cat([s.gt_label for s in data_samples]).to(cls_score.device).repeat_interleave(clips)
        losses = dict(loss=self.loss_module(cls_score, target))
        with torch.no_grad():
            for k in self.topk:
                if k <= cls_score.size(1):
                    hit = cls_score.topk(k, dim=1).indices.eq(target[:, None]).any(dim=1)
                    losses[f'accuracy_top-{k}'] = hit.float().mean() * 100
        return losses

    def predict(self, feats: Tuple[torch.Tensor, ...],
                data_samples: Optional[List[ClsDataSample]] = None, num_clips: int = None) -> List[ClsDataSample]:
        cls_score = self(feats)
        if data_samples is None:
            num_clips = num_clips or 1
            data_samples = [ClsDataSample() for _ in range(cls_score.size(0) // num_clips)]
        clips = self._clips_per_video(cls_score.size(0), len(data_samples))
        scores = self.average_clip(cls_score, clips).detach()
        for sample, score in zip(data_samples, scores):
            sample.set_pred_score(score).set_pred_label(score.argmax())
        return data_samples
