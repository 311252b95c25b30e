"""Cross-entropy with label smoothing (Szegedy et al., arXiv:1512.00567)."""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.registry import MODELS


@MODELS.register_module()
class LabelSmoothLoss(nn.Module):
    """``(1 - eps) * CE(p, y) + eps * mean_k(-log p_k)``.

    ``y`` is a class index or a soft label (a probability vector, e.g. the mixed label of Mixup or
    CutMix): ``CE(p, y) = -sum_k y_k log p_k`` (torch's cross-entropy with probability targets,
    smoothing mixes ``y`` with the uniform distribution), so the loss accepts the soft labels that
    batch augments put in ``gt_score`` (``accepts_soft_labels = True``).

    Args:
        label_smooth_val (float): ``eps`` in [0, 1); 0 gives plain cross-entropy.
        loss_weight (float): Multiplier of the loss.
    """

    accepts_soft_labels = True

    def __init__(self, label_smooth_val: float = 0.1, loss_weight: float = 1.0):
        super().__init__()
        if not 0 <= label_smooth_val < 1:
            raise ValueError(f'label_smooth_val must lie in [0, 1), got {label_smooth_val}')
        self.label_smooth_val = label_smooth_val
        self.loss_weight = loss_weight

    def forward(self, cls_score: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        """cls_score: (N, K) logits; label: (N,) class indices or (N, K) soft labels (rows summing
        to one). Returns a scalar."""
        if label.dim() == 2:
            if label.shape != cls_score.shape:
                raise ValueError(f'soft labels of shape {tuple(label.shape)} do not match the scores '
                                 f'{tuple(cls_score.shape)}')
            label = label.to(cls_score.dtype)
        loss = F.cross_entropy(cls_score, label, label_smoothing=self.label_smooth_val)
        return self.loss_weight * loss
