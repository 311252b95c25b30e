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

    Targets: the class indices ``gt_label``, or, when every data sample carries a soft label
    ``gt_score`` (K,) (set by a batch augment such as ``Mixup`` or ``CutMix`` of
    :class:`ClsDataPreprocessor`), those soft labels (N, K). Soft labels need a loss that accepts
    them (``accepts_soft_labels = True``, e.g. ``LabelSmoothLoss``); any other loss is refused
    with the reason. Accuracy is logged for hard labels only (on mixed images it is meaningless).

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

    @property
    def accepts_soft_labels(self) -> bool:
        """Whether the loss takes (N, K) soft labels (what a batch augment produces)."""
        return bool(getattr(self.loss_module, 'accepts_soft_labels', False))

    def get_targets(self, data_samples: List[ClsDataSample], device=None) -> torch.Tensor:
        """(N,) class indices, or (N, K) soft labels when every sample has ``gt_score``."""
        soft = [('gt_score' in s) for s in data_samples]
        if data_samples and all(soft):
            if not self.accepts_soft_labels:
                raise ValueError(
                    f'{type(self).__name__}: the batch carries soft labels (gt_score, from a batch augment '
                    f'such as Mixup/CutMix) but its loss {type(self.loss_module).__name__} does not accept '
                    'soft labels (no accepts_soft_labels=True); use e.g. loss=dict(type=\'LabelSmoothLoss\', '
                    'label_smooth_val=0.0) or remove data_preprocessor.batch_augments')
            return torch.stack([s.gt_score for s in data_samples]).to(device)
        if any(soft):
            raise ValueError(f'{sum(soft)} of {len(soft)} data samples carry gt_score: soft labels must be '
                             'given for the whole batch or for none')
        return torch.cat([s.gt_label for s in data_samples]).to(device)

    def pre_logits(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        return feats[-1]

    def forward(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        return self.pre_logits(feats)

    def loss(self, feats: Tuple[torch.Tensor, ...], data_samples: List[ClsDataSample]) -> dict:
        cls_score = self(feats)
        target = self.get_targets(data_samples, cls_score.device)
        losses = dict(loss=self.loss_module(cls_score, target))
        if target.dim() == 2:  # soft labels of mixed images: no accuracy
            return losses
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
