"""CPN detector: a backbone (+ neck) and a :class:`~tessera_detection.models.dense_heads.cpn_head.CPNHead`.

"Corner Proposal Network for Anchor-free, Two-stage Object Detection", Kaiwen Duan, Lingxi Xie, Honggang Qi,
Song Bai, Qingming Huang, Qi Tian, ECCV 2020, arXiv:2007.13816. Official code: github.com/Duankaiwen/CPNDet.

CPN's two stages both live in its head (proposals from the corner heatmaps, the binary and the multi-class RoI
classifiers), so the detector is mmdet's ``CornerNet`` (a ``SingleStageDetector``) that requires a ``CPNHead``.
"""
from mmdet.models.detectors import CornerNet

from tessera_detection.models.dense_heads.cpn_head import CPNHead
from tessera_detection.registry import MODELS


@MODELS.register_module()
class CPN(CornerNet):
    """mmdet's ``CornerNet`` detector with CPN's head (``bbox_head=dict(type='CPNHead', ...)``)."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not isinstance(self.bbox_head, CPNHead):
            raise TypeError(f'CPN: bbox_head must be a CPNHead, got {type(self.bbox_head).__name__}')
