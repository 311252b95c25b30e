"""The re-ID strong baseline: backbone -> global average pooling -> BNNeck head.

Bag of Tricks and A Strong Baseline for Deep Person Re-identification, Luo et al., arXiv:1903.07071.
Official code: https://github.com/michuanhaohao/reid-strong-baseline (``modeling/baseline.py``).

Of the paper's tricks this model carries BNNeck, label smoothing (through the head's ``loss_cls``) and the
last-stride trick (``last_stride=1`` removes the down-sampling of the backbone's last stage, 16x instead of
32x output stride on the ImageNet stem). Warm-up is a schedule and random erasing a transform
(:class:`tessera_reid.datasets.transforms.RandomErasing`); center loss is not implemented.
"""
from typing import List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from tessera_core.structures import ClsDataSample
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
class ReIDModel(BaseModel):
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

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = dict(type='GlobalAveragePooling'),
                 last_stride: Optional[int] = None, data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck) if neck is not None else None
        self.head = MODELS.build(head)
        self.last_stride = last_stride
        if last_stride is not None:
            set_last_stride(self.backbone, last_stride)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """inputs (N, C_in, H, W) -> tuple of pooled features, the last (N, C)."""
        if inputs.dim() != 4:
            raise ValueError(f'ReIDModel expects (N, C, H, W) images, got shape {tuple(inputs.shape)}')
        x = self.backbone(inputs)
        if isinstance(x, torch.Tensor):
            x = (x,)
        return self.neck(x) if self.neck is not None else x

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[ClsDataSample]] = None,
                mode: str = 'tensor') -> Union[dict, list, torch.Tensor]:
        if mode == 'loss':
            return self.head.loss(self.extract_feat(inputs), data_samples)
        if mode == 'predict':
            return self.head.predict(self.extract_feat(inputs), data_samples)
        if mode == 'tensor':
            return self.head(self.extract_feat(inputs))
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")
