"""The re-ID strong baseline: backbone -> global average pooling -> BNNeck head.

Bag of Tricks and A Strong Baseline for Deep Person Re-identification, Luo et al., arXiv:1903.07071.
Official code: https://github.com/michuanhaohao/reid-strong-baseline (``modeling/baseline.py``).

Of the paper's tricks this model carries BNNeck, label smoothing (through the head's ``loss_cls``) and the
last-stride trick: ``strides=(1, 2, 2, 1)`` on the ResNet backbone removes the down-sampling of its last
stage (16x instead of 32x output stride on the ImageNet stem). Warm-up is a schedule and random erasing a
transform (:class:`tessera_reid.datasets.transforms.RandomErasing`); the optional center loss is the head's
``loss_center`` (:class:`tessera_reid.models.losses.CenterLoss`).
"""
from typing import Optional, Tuple

import torch

from tessera_core.models import ImageClassifier
from tessera_reid.registry import MODELS


def with_last_stride(backbone: dict, last_stride: int) -> dict:
    """A copy of the backbone config whose last stage has stride ``last_stride``.

    The backbone must take per-stage ``strides`` (tessera-core's ``ResNet``, mmdet's ``ResNet``); the other
    stages keep theirs (given, or the default ``(1, 2, 2, 2)`` cut to ``num_stages``).
    """
    if last_stride not in (1, 2):
        raise ValueError(f'last_stride must be 1 or 2, got {last_stride}')
    strides = list(backbone.get('strides', (1, 2, 2, 2)[:backbone.get('num_stages', 4)]))
    strides[-1] = last_stride
    return dict(backbone, strides=tuple(strides))


@MODELS.register_module()
class ReIDModel(ImageClassifier):
    """Re-identification model with mmengine's three forward modes.

    ``mode='loss'`` returns ``loss_cls`` (ID loss on the BNNeck logits), ``loss_triplet`` (on the pooled,
    pre-BN feature) and the training ID accuracy; ``mode='predict'`` attaches the L2-normalised embedding
    ``pred_feature`` (C,) to each data sample; ``mode='tensor'`` returns the embeddings (N, C).

    Args:
        backbone (dict): e.g. ``dict(type='ResNet', depth=50)`` (tessera-core), returning a tuple of maps.
        head (dict): e.g. ``dict(type='BNNeckHead', num_classes=751, in_channels=2048)``.
        neck (dict): Pooling of the last map to (N, C); ``GlobalAveragePooling`` as in the paper.
        last_stride (int, optional): Kept for older configs: 1 or 2 sets the last entry of the backbone's
            ``strides`` (``last_stride=1`` is ``backbone=dict(..., strides=(1, 2, 2, 1))``, the paper's
            last-stride trick, which configs now write directly); ``None`` keeps the backbone config as is.
        data_preprocessor (dict, optional): Defaults to ``ClsDataPreprocessor``.

    Shapes: inputs (N, C_in, H, W) -> embeddings (N, C).
    """

    registry = MODELS

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = dict(type='GlobalAveragePooling'),
                 last_stride: Optional[int] = None, data_preprocessor: Optional[dict] = None, init_cfg=None):
        if last_stride is not None:
            backbone = with_last_stride(backbone, last_stride)
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.last_stride = last_stride

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """inputs (N, C_in, H, W) -> tuple of pooled features, the last (N, C)."""
        if inputs.dim() != 4:
            raise ValueError(f'ReIDModel expects (N, C, H, W) images, got shape {tuple(inputs.shape)}')
        return super().extract_feat(inputs)
