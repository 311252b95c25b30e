"""The re-ID strong baseline: backbone -> global average pooling -> BNNeck head.

Bag of Tricks and A Strong Baseline for Deep Person Re-identification, Luo et al., arXiv:1903.07071.
Official code: https://github.com/michuanhaohao/reid-strong-baseline (``modeling/baseline.py``).

Of the paper's tricks this model carries BNNeck, label smoothing (through the head's ``loss_cls``) and the
last-stride trick (``last_stride=1`` removes the down-sampling of the backbone's last stage, 16x instead of
32x output stride on the ImageNet stem). Warm-up is a schedule and random erasing a transform
(:class:`tessera_reid.datasets.transforms.RandomErasing`); center loss is not implemented.
"""
from typing import Optional, Tuple

import torch
from torch import nn

from tessera_core.models import ImageClassifier
from tessera_reid.registry import MODELS


def set_last_stride(backbone: nn.Module, stride: int) -> None:
    """Set the stride of the first block of the backbone's last residual stage to ``stride``.

    Works with any backbone exposing ``res_layers`` (names of its stages, as tessera-core's ``ResNet``) or a
    ``layer4`` attribute (torchvision layout): every convolution of that block whose stride is 2 (the 3x3 conv
    of the residual branch and the 1x1 conv of the shortcut) gets ``stride``.
    """
    if stride not in (1, 2):
        raise ValueError(f'last_stride must be 1 or 2, got {stride}')
    names = getattr(backbone, 'res_layers', None)
    stage = getattr(backbone, names[-1]) if names else getattr(backbone, 'layer4', None)
    if stage is None:
        raise TypeError(f'last_stride needs a ResNet-like backbone with res_layers or layer4; '
                        f'{type(backbone).__name__} has neither')
    first_block = stage[0]
    changed = 0
    for m in first_block.modules():
        if isinstance(m, nn.Conv2d) and m.stride != (1, 1):
            m.stride = (stride, stride)
            changed += 1
    if changed == 0:
        raise ValueError(f'the first block of {type(backbone).__name__}\'s last stage has no strided '
                         'convolution to change')


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
        last_stride (int, optional): 1 applies the paper's last-stride trick; ``None`` keeps the backbone's.
        data_preprocessor (dict, optional): Defaults to ``ClsDataPreprocessor``.

    Shapes: inputs (N, C_in, H, W) -> embeddings (N, C).
    """

    registry = MODELS

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = dict(type='GlobalAveragePooling'),
                 last_stride: Optional[int] = None, data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.last_stride = last_stride
        if last_stride is not None:
            set_last_stride(self.backbone, last_stride)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """inputs (N, C_in, H, W) -> tuple of pooled features, the last (N, C)."""
        if inputs.dim() != 4:
            raise ValueError(f'ReIDModel expects (N, C, H, W) images, got shape {tuple(inputs.shape)}')
        return super().extract_feat(inputs)
