"""How well a predicted soft foreground mask covers the true one (FANet's mask, the evidence that it acts).

Per image, the predicted mask (h, w) in [0, 1] is upsampled bilinearly to the true mask's (H, W) and
thresholded at ``thr``; IoU = |P & T| / |P | T| (1 when both are empty). Also reported: the mean predicted
foreground fraction (of the soft mask) and of the true mask, and the mean soft mask on true foreground and on
true background pixels (their gap says whether the mask separates them at all, thresholds aside).
"""
from typing import List, Sequence

import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric

from tessera_reid.registry import METRICS


@METRICS.register_module()
class ForegroundMaskMetric(BaseMetric):
    """Mean IoU of ``pred_mask`` against ``gt_mask``, in percent, plus mask statistics.

    Args:
        thr (float): Threshold of the upsampled soft mask.
        prefix (str): Metric prefix (default ``'mask'``: ``mask/IoU``, ``mask/pred_area``, ``mask/gt_area``,
            ``mask/mean_on_fg``, ``mask/mean_on_bg``).
    """
    default_prefix = 'mask'

    def __init__(self, thr: float = 0.5, collect_device: str = 'cpu', prefix: str = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not 0 < thr < 1:
            raise ValueError(f'thr must lie in (0, 1), got {thr}')
        self.thr = thr

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for i, sample in enumerate(data_samples):
            missing = [k for k in ('pred_mask', 'gt_mask') if k not in sample]
            if missing:
                raise KeyError(f'ForegroundMaskMetric needs {missing} in data sample {i} (pred_mask from FANetHead, '
                               f"gt_mask packed by PackReIDInputs); got keys {sorted(sample)}")
            gt = sample['gt_mask'].detach().cpu().float()
            soft = F.interpolate(sample['pred_mask'].detach().cpu().float()[None, None], size=gt.shape,
                                 mode='bilinear', align_corners=False)[0, 0]
            pred, true = soft >= self.thr, gt >= 0.5
            union = (pred | true).sum().item()
            fg, bg = true.sum().item(), (~true).sum().item()
            self.results.append(dict(
                iou=1.0 if union == 0 else (pred & true).sum().item() / union,
                pred_area=soft.mean().item(), gt_area=true.float().mean().item(),
                on_fg=soft[true].mean().item() if fg else float('nan'),
                on_bg=soft[~true].mean().item() if bg else float('nan')))

    def compute_metrics(self, results: List[dict]) -> dict:
        def mean(key):
            vals = torch.tensor([r[key] for r in results], dtype=torch.float64)
            vals = vals[~torch.isnan(vals)]
            return float(vals.mean()) if len(vals) else float('nan')
        return {'IoU': 100 * mean('iou'), 'pred_area': mean('pred_area'), 'gt_area': mean('gt_area'),
                'mean_on_fg': mean('on_fg'), 'mean_on_bg': mean('on_bg')}
