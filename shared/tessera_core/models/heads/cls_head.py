"""Base classification head: loss from config, top-k accuracy, predictions."""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule

from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample


@MODELS.register_module()
class ClsHead(BaseModule):
    """Classifies the last feature of the neck's tuple (identity mapping).

    Subclasses override :meth:`forward` to map features (N, C) to logits (N, K).

    Args:
        loss (dict): Loss config, e.g. ``dict(type='LabelSmoothLoss', label_smooth_val=0.1)``
            or ``dict(type='mmengine.CrossEntropyLoss')``.
        topk (Sequence[int]): Accuracies logged during training.
    """

    def __init__(self, loss: dict = dict(type='LabelSmoothLoss', label_smooth_val=0.0),
                 topk: Sequence[int] = (1,), init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        self.loss_module = MODELS.build(loss)
        self.topk = tuple(topk)

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.pre_logits(feats)

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples: List[ClsDataSample]) -> dict:
        cls_score = self(feats)
        target = torch.cat([s.gt_label for s in data_samples]).to(cls_score.device)
        losses = dict(loss=self.loss_module(cls_score, target))
        with torch.no_grad():
            for k in self.topk:
                if k <= cls_score.size(1):
                    hit = cls_score.topk(k, dim=1).indices.eq(target[:, None]).any(dim=1)
                    losses[f'accuracy_top-{k}'] = hit.float().mean() * 100
        return losses

    def predict(self, feats: Tuple[torch.Tensor, ...],
                data_samples: Optional[List[ClsDataSample]] = None) -> List[ClsDataSample]:
        cls_score = self(feats)
        scores = F.softmax(cls_score, dim=1).detach()
        labels = scores.argmax(dim=1)
        if data_samples is None:
            data_samples = [ClsDataSample() for _ in range(cls_score.size(0))]
        for sample, score, label in zip(data_samples, scores, labels):
            sample.set_pred_score(score).set_pred_label(label)
        return data_samples
