"""Rotated-box mAP as DOTA reports it: VOC-style AP at IoU 0.5 and 0.75 and the 0.5:0.95 average.

The AP of each class and threshold is DOTA_devkit's (``voc_eval``, all-point
interpolation, difficult ground truths ignored, rotated IoU by
``mmcv.ops.box_iou_rotated``): see
:mod:`tessera_detection.evaluation.functional.rotated_voc_map`. ``mAP_50`` /
``mAP_75`` average the classes' AP at one threshold (classes with ground truth
only); ``mAP`` averages the per-threshold mAP over ``0.50, 0.55, ..., 0.95``
(the COCO-style figure, as mmrotate 1.x's ``DOTAMetric`` averages its ``iou_thrs``).
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import MMLogger

from tessera_detection.registry import METRICS

from ..functional.rotated_voc_map import eval_rotated_map

COCO_IOU_THRS = tuple(round(0.5 + 0.05 * i, 2) for i in range(10))


def _numpy(x) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    return np.asarray(x)


@METRICS.register_module()
class DOTAMetric(BaseMetric):
    """DOTA's rotated mAP (module docstring), with a per-class table in the log.

    Reads from every data sample ``pred_instances`` (``bboxes`` ``(N, 5)``
    ``(cx, cy, w, h, angle)``, ``scores``, ``labels``), ``gt_instances``
    (``bboxes`` ``(M, 5)``, ``labels``) and ``ignored_instances`` (the difficult
    ground truths, as ``PackRotatedDetInputs`` packs them).

    Args:
        iou_thrs (Sequence[float]): Thresholds of the ``mAP`` average; ``mAP_50``
            and ``mAP_75`` are reported when 0.5 / 0.75 are among them.
        collect_device (str): ``'cpu'`` or ``'gpu'``.
        prefix (str): Key prefix, default ``'dota'``.
    """
    default_prefix: Optional[str] = 'dota'

    def __init__(self, iou_thrs: Sequence[float] = COCO_IOU_THRS, collect_device: str = 'cpu',
                 prefix: Optional[str] = None):
        super().__init__(collect_device=collect_device, prefix=prefix)
        iou_thrs = tuple(float(t) for t in iou_thrs)
        if not iou_thrs or not all(0 <= t < 1 for t in iou_thrs):
            raise ValueError(f'iou_thrs must be a non-empty list of values in [0, 1), got {iou_thrs}')
        self.iou_thrs = iou_thrs

    @staticmethod
    def _boxes(instances, what: str) -> Dict[str, np.ndarray]:
        boxes = _numpy(instances.get('bboxes', np.zeros((0, 5)))).astype(np.float64)
        if boxes.size == 0:
            boxes = boxes.reshape(0, 5)
        if boxes.ndim != 2 or boxes.shape[1] != 5:
            raise ValueError(f'DOTAMetric evaluates rotated boxes (N, 5) (cx, cy, w, h, angle); {what}.bboxes has '
                             f'shape {tuple(boxes.shape)}')
        out = dict(bboxes=boxes, labels=_numpy(instances.get('labels', np.zeros(0))).astype(np.int64).reshape(-1))
        if 'scores' in instances:
            out['scores'] = _numpy(instances['scores']).astype(np.float64).reshape(-1)
        return out

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'gt_instances' not in sample:
                raise KeyError("DOTAMetric needs the ground truth in the data samples: put "
                               "dict(type='LoadRotatedAnnotations') before PackRotatedDetInputs in the test pipeline")
            pred = self._boxes(sample['pred_instances'], 'pred_instances')
            gt = self._boxes(sample['gt_instances'], 'gt_instances')
            ignored = self._boxes(sample.get('ignored_instances', {}), 'ignored_instances')
            ann = dict(bboxes=np.concatenate([gt['bboxes'], ignored['bboxes']]),
                       labels=np.concatenate([gt['labels'], ignored['labels']]),
                       difficult=np.r_[np.zeros(len(gt['labels']), bool), np.ones(len(ignored['labels']), bool)])
            self.results.append((pred, ann))

    def compute_metrics(self, results: List) -> Dict[str, float]:
        logger = MMLogger.get_current_instance()
        classes = tuple(self.dataset_meta['classes'])
        preds, anns = zip(*results) if results else ((), ())
        out = eval_rotated_map(preds, anns, len(classes), self.iou_thrs)
        ap, has_gt = out['ap'], out['num_gts'] > 0
        per_thr = np.array([np.mean(ap[has_gt, t]) if has_gt.any() else np.nan for t in range(len(self.iou_thrs))])
        metrics = dict(mAP=float(np.mean(per_thr)))
        for name, thr in (('mAP_50', 0.5), ('mAP_75', 0.75)):
            if thr in self.iou_thrs:
                metrics[name] = float(per_thr[self.iou_thrs.index(thr)])
        logger.info('\n' + self.table(classes, out, per_thr))
        return metrics

    def table(self, classes: Sequence[str], out: Dict, per_thr: np.ndarray) -> str:
        """The per-class table: ground truths, detections, AP50, AP75 and AP50:95."""
        from terminaltables import AsciiTable
        thrs = self.iou_thrs
        cols = [(f'AP{int(round(t * 100))}', thrs.index(t)) for t in (0.5, 0.75) if t in thrs]
        avg_name = f'AP{int(round(thrs[0] * 100))}:{int(round(thrs[-1] * 100))}' if len(thrs) > 1 else None
        header = ['class', 'gts', 'dets'] + [c for c, _ in cols] + ([avg_name] if avg_name else [])

        def fmt(v):
            return 'n/a' if np.isnan(v) else f'{v:.3f}'

        rows = [header]
        for c, name in enumerate(classes):
            row = [name, str(out['num_gts'][c]), str(out['num_dets'][c])] + [fmt(out['ap'][c, t]) for _, t in cols]
            if avg_name:
                row.append(fmt(np.mean(out['ap'][c])))
            rows.append(row)
        rows.append(['mAP', '', ''] + [fmt(per_thr[t]) for _, t in cols]
                    + ([fmt(np.mean(per_thr))] if avg_name else []))
        table = AsciiTable(rows)
        table.inner_footing_row_border = True
        return table.table
