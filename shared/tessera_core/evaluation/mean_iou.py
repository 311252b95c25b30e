"""Semantic-segmentation metrics: per-class intersection over union and pixel accuracy."""
from typing import List, Sequence

import torch
from mmengine.evaluator import BaseMetric

from tessera_core.registry import METRICS


@METRICS.register_module()
class MeanIoU(BaseMetric):
    """Compares ``pred_sem_seg`` with ``gt_sem_seg`` (H, W) class maps, accumulated over the dataset.

    Keys (prefix ``seg``), in percent: ``mIoU``, the mean over classes of ``|P_c & G_c| / |P_c | G_c|``
    (the mmseg definition, background included); ``mIoU_fg``, the same mean without class
    ``background_index``; ``aAcc``, the fraction of correctly labelled pixels. Pixels labelled
    ``ignore_index`` are skipped; classes absent from both prediction and ground truth are left out
    of the means.

    Args:
        num_classes (int): Classes per pixel, background included.
        background_index (int, optional): Class left out of ``mIoU_fg`` (None: no ``mIoU_fg``).
        ignore_index (int): Ground-truth value to skip.
    """
    default_prefix = 'seg'

    def __init__(self, num_classes: int, background_index=0, ignore_index: int = 255,
                 collect_device: str = 'cpu', prefix=None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not isinstance(num_classes, int) or num_classes < 2:
            raise ValueError(f'num_classes must be an int >= 2, got {num_classes!r}')
        if background_index is not None and not 0 <= background_index < num_classes:
            raise ValueError(f'background_index {background_index!r} outside [0, {num_classes}) (or None)')
        self.num_classes, self.background_index, self.ignore_index = num_classes, background_index, ignore_index

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        k = self.num_classes
        for sample in data_samples:
            if 'pred_sem_seg' not in sample or 'gt_sem_seg' not in sample:
                raise KeyError('MeanIoU needs pred_sem_seg and gt_sem_seg in every data sample')
            pred, gt = sample['pred_sem_seg'].cpu().long().flatten(), sample['gt_sem_seg'].cpu().long().flatten()
            if pred.shape != gt.shape:
                raise ValueError(f'pred_sem_seg and gt_sem_seg differ in size: {pred.numel()} vs {gt.numel()}')
            keep = gt != self.ignore_index
            pred, gt = pred[keep], gt[keep]
            if gt.numel() and (gt.max() >= k or gt.min() < 0):
                raise ValueError(f'gt_sem_seg holds labels outside [0, {k}): {sorted(set(gt.tolist()))[:10]}')
            intersection = torch.bincount(gt[pred == gt], minlength=k)[:k]
            area_pred = torch.bincount(pred.clamp(0, k - 1), minlength=k)[:k]
            area_gt = torch.bincount(gt, minlength=k)[:k]
            self.results.append(dict(intersection=intersection, union=area_pred + area_gt - intersection,
                                     correct=int((pred == gt).sum()), total=int(gt.numel())))

    def compute_metrics(self, results: List[dict]) -> dict:
        intersection = torch.stack([r['intersection'] for r in results]).sum(0).double()
        union = torch.stack([r['union'] for r in results]).sum(0).double()
        present = union > 0
        iou = torch.where(present, intersection / union.clamp(min=1), torch.zeros_like(union))
        metrics = dict(mIoU=iou[present].mean().item() * 100 if present.any() else 0.0)
        if self.background_index is not None:
            fg = present.clone()
            fg[self.background_index] = False
            metrics['mIoU_fg'] = iou[fg].mean().item() * 100 if fg.any() else 0.0
        metrics['aAcc'] = sum(r['correct'] for r in results) / max(1, sum(r['total'] for r in results)) * 100
        return metrics
