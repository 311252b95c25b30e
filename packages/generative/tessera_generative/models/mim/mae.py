"""MAE: masked autoencoder pre-training of a ViT.

Masked Autoencoders Are Scalable Vision Learners, He et al., CVPR 2022, arXiv:2111.06377;
official code https://github.com/facebookresearch/mae. Structure after mmpretrain's ``MAE``:
``backbone`` (:class:`MAEViT`: encoder on the visible patches), ``neck`` (:class:`MAEPretrainDecoder`:
mask tokens + light decoder -> pixels), ``head`` (:class:`MAEPretrainHead`: normalised pixels, loss on
masked patches only).

``forward(inputs, data_samples, mode)``: ``'loss'`` -> ``dict(loss=...)``; ``'tensor'`` -> the encoder's
features of unmasked images (the backbone's ``out_type``); ``'predict'`` -> (reconstructed images in the
preprocessor's normalised space with the visible patches pasted back (N, C, H, W), mask (N, L)), for
visualisation (with ``norm_pix`` the predictions are per-patch normalised pixels, shown as such).
"""
from typing import List, Optional

import torch
from mmengine.model import BaseModel

from tessera_generative.registry import MODELS

from .mae_head import patchify, unpatchify

MODES = ('loss', 'tensor', 'predict')


@MODELS.register_module()
class MAE(BaseModel):
    """Args:
        backbone (dict): :class:`MAEViT` config.
        neck (dict): :class:`MAEPretrainDecoder` config.
        head (dict): :class:`MAEPretrainHead` config.
        data_preprocessor (dict, optional): Defaults to tessera-core's ``ClsDataPreprocessor``.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict, data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.head = MODELS.build(head)
        if self.neck.num_patches != self.backbone.num_patches:
            raise ValueError(f'neck (decoder) has {self.neck.num_patches} patches, backbone '
                             f'{self.backbone.num_patches}: give both the same img_size and patch_size')

    def extract_feat(self, inputs: torch.Tensor):
        return self.backbone(inputs, mask=False)

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> dict:
        latent, mask, ids_restore, _ = self.backbone(inputs)
        pred = self.neck(latent, ids_restore)
        return dict(loss=self.head.loss(pred, inputs, mask))

    @torch.no_grad()
    def reconstruct(self, inputs: torch.Tensor):
        latent, mask, ids_restore, _ = self.backbone(inputs)
        pred = self.neck(latent, ids_restore)
        p = self.backbone.patch_size
        patches = patchify(inputs, p)
        merged = torch.where(mask.bool().unsqueeze(-1), pred, patches)
        return unpatchify(merged, p, self.backbone.patch_embed.grid_size, inputs.shape[1]), mask

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'predict':
            return self.reconstruct(inputs)
        raise ValueError(f'invalid mode {mode!r}; valid: {MODES}')
