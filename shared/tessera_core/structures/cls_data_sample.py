"""Data sample of one image for classification: ground truth and prediction."""
from typing import Sequence, Union

import numpy as np
import torch
from mmengine.structures import BaseDataElement


def _as_label_tensor(value: Union[int, Sequence[int], np.ndarray, torch.Tensor]) -> torch.Tensor:
    if isinstance(value, torch.Tensor):
        return value.long().reshape(-1)
    return torch.as_tensor(np.asarray(value), dtype=torch.long).reshape(-1)


class ClsDataSample(BaseDataElement):
    """Fields: ``gt_label`` (LongTensor (1,)), ``pred_label`` (LongTensor (1,)),
    ``pred_score`` (FloatTensor (num_classes,))."""

    def set_gt_label(self, value) -> 'ClsDataSample':
        self.set_field(_as_label_tensor(value), 'gt_label', dtype=torch.Tensor)
        return self

    def set_pred_label(self, value) -> 'ClsDataSample':
        self.set_field(_as_label_tensor(value), 'pred_label', dtype=torch.Tensor)
        return self

    def set_pred_score(self, value: torch.Tensor) -> 'ClsDataSample':
        self.set_field(value, 'pred_score', dtype=torch.Tensor)
        return self
