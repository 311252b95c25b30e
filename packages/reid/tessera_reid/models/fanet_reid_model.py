"""FANet: the re-ID model whose head masks the backbone map into foreground and background branches.

An End-to-End Foreground-Aware Network for Person Re-Identification, Liu, Zhou, Liu, Qi, Tian, Li,
IEEE TIP 30:2060-2071, 2021 (arXiv:1910.11547). No official code is published. The mechanism (soft mask,
foreground / background branches, target attention loss, optional mask supervision) is
:class:`tessera_reid.models.heads.FANetHead`; this model feeds it the unpooled last map of the backbone.
"""
from typing import Optional

import torch

from tessera_reid.registry import MODELS

from .reid_model import ReIDModel


@MODELS.register_module()
class FANetReIDModel(ReIDModel):
    """:class:`ReIDModel` without a pooling neck: backbone -> ``FANetHead`` (mask, two branches).

    ``mode='loss'`` returns the foreground branch's ``loss_cls`` / ``loss_triplet`` (/ ``loss_center``), the
    background branch's ``loss_camera``, ``loss_tal`` and, with mask supervision, ``loss_mask``;
    ``mode='predict'`` attaches ``pred_feature`` (C,) and ``pred_mask`` (h, w); ``mode='tensor'`` returns the
    foreground embeddings (N, C).

    Args:
        backbone, head, last_stride, data_preprocessor, init_cfg: As :class:`ReIDModel`; ``head`` is e.g.
            ``dict(type='FANetHead', num_classes=751, in_channels=2048, num_cameras=6)``.
        neck: Must be ``None`` (the head pools the masked maps itself).

    Shapes: inputs (N, C_in, H, W) -> mask (N, 1, h, w), embeddings (N, C).
    """

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None, last_stride: Optional[int] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if neck is not None:
            raise ValueError(f'FANetReIDModel pools inside its head; got neck={neck!r}, set neck=None')
        super().__init__(backbone=backbone, head=head, neck=None, last_stride=last_stride,
                         data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not hasattr(self.head, 'mask_logits'):
            raise ValueError('FANetReIDModel needs a head with a soft mask (FANetHead), got '
                             f'{type(self.head).__name__}')

    def soft_mask(self, inputs: torch.Tensor) -> torch.Tensor:
        """The soft foreground mask M (N, 1, h, w) in [0, 1] of preprocessed inputs (N, C_in, H, W)."""
        return torch.sigmoid(self.head.mask_logits(self.extract_feat(inputs)))
