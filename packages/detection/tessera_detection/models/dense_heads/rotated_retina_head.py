"""mmdet's ``RetinaHead`` for rotated boxes: rotated RetinaNet ('obb' / 'rbox' in mmrotate 1.x).

"Focal Loss for Dense Object Detection", Lin et al., ICCV 2017, arXiv:1708.02002, with the rotated box
branch of mmrotate (github.com/open-mmlab/mmrotate, ``configs/rotated_retinanet``), which uses mmdet's
``RetinaHead`` unchanged together with rotated anchors, the rotated delta coder and rotated IoU; its
post-processing works there because mmrotate registers a ``RotatedBoxes`` box type. mmdet 3.3 has no such
type and rotated boxes travel here as plain ``(N, 5)`` tensors, so this head only replaces
``_bbox_post_process`` (rescaling, the minimum-size filter and NMS read ``(cx, cy, w, h, a)``); the layers,
anchors, targets, losses (``reg_decoded_bbox`` for GWD / KLD) and decoding are mmdet's ``AnchorHead``'s.
"""
from typing import Optional

from mmcv.ops import batched_nms
from mmengine.config import ConfigDict
from mmengine.structures import InstanceData
from mmdet.models.dense_heads import RetinaHead

from tessera_detection.registry import MODELS


@MODELS.register_module()
class RotatedRetinaHead(RetinaHead):
    """``RetinaHead`` with rotated-box post-processing; configure it with ``RotatedAnchorGenerator``,
    ``DeltaXYWHTRBBoxCoder``, ``MaxIoUAssigner(iou_calculator=dict(type='RBboxOverlaps2D'))`` and
    ``test_cfg.nms=dict(type='nms_rotated', iou_threshold=...)``. Arguments: mmdet's ``RetinaHead``.
    """

    def _bbox_post_process(self, results: InstanceData, cfg: ConfigDict, rescale: bool = False,
                           with_nms: bool = True, img_meta: Optional[dict] = None) -> InstanceData:
        if results.bboxes.dim() != 2 or results.bboxes.size(-1) != 5:
            raise ValueError(f'RotatedRetinaHead decodes rotated boxes (N, 5); its bbox_coder gave '
                             f'{tuple(results.bboxes.shape)} (use DeltaXYWHTRBBoxCoder)')
        scale_factor = (img_meta or {}).get('scale_factor')
        if rescale and scale_factor is not None and tuple(scale_factor) != (1.0, 1.0):
            sx, sy = scale_factor
            if abs(sx - sy) > 1e-6 * max(sx, sy):
                raise ValueError(f'rescaling rotated boxes needs an isotropic scale_factor, got {scale_factor}')
            boxes = results.bboxes.clone()
            boxes[:, :4] = boxes[:, :4] / sx
            results.bboxes = boxes
        if hasattr(results, 'score_factors'):
            results.scores = results.scores * results.pop('score_factors')
        if cfg.get('min_bbox_size', -1) >= 0:
            valid = (results.bboxes[:, 2] > cfg.min_bbox_size) & (results.bboxes[:, 3] > cfg.min_bbox_size)
            if not valid.all():
                results = results[valid]
        if with_nms and results.bboxes.numel() > 0:
            det, keep = batched_nms(results.bboxes, results.scores, results.labels, cfg.nms)
            results = results[keep]
            results.scores = det[:, -1]
            results = results[:cfg.max_per_img]
        return results
