"""MAE's light decoder: visible-token latents + shared mask tokens -> per-patch predictions.

Masked Autoencoders Are Scalable Vision Learners, He et al., arXiv:2111.06377; official code
``models_mae.py`` (``forward_decoder``). Name and arguments after mmpretrain's ``MAEPretrainDecoder``.

Latents (N, 1 + len_keep, D_enc) -> linear to D_dec -> the learned mask token fills the masked
positions, ``ids_restore`` puts every token back in patch order -> fixed sincos positions (its own
width) -> ``decoder_depth`` ViT blocks -> LayerNorm -> linear to ``p * p * C`` pixels (MAE) or to
``predict_feature_dim`` features (SdAE) -> class token dropped: (N, L, out).
"""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS

from .pos_embed import build_2d_sincos_position_embedding
from .vision_transformer import TransformerEncoderLayer, check_patch_grid, mae_init_


@MODELS.register_module()
class MAEPretrainDecoder(BaseModule):
    """Args:
        img_size (int | tuple): Image size of the encoder; with ``patch_size`` gives the patch grid.
        patch_size (int): Patch side p.
        in_chans (int): Image channels C (pixel targets are p * p * C per patch).
        embed_dim (int): Encoder width D_enc.
        decoder_embed_dim (int): Decoder width D_dec.
        decoder_depth (int): Decoder blocks.
        decoder_num_heads (int): Decoder attention heads.
        mlp_ratio (float): Decoder MLP width / D_dec.
        predict_feature_dim (int, optional): Predict features of this width instead of pixels.
    """

    def __init__(self, img_size=28, patch_size: int = 4, in_chans: int = 1, embed_dim: int = 96,
                 decoder_embed_dim: int = 64, decoder_depth: int = 2, decoder_num_heads: int = 4,
                 mlp_ratio: float = 4.0, predict_feature_dim: Optional[int] = None, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        grid = check_patch_grid(img_size, patch_size)
        self.num_patches = grid[0] * grid[1]
        self.decoder_embed = nn.Linear(embed_dim, decoder_embed_dim)
        self.mask_token = nn.Parameter(torch.zeros(1, 1, decoder_embed_dim))
        self.register_buffer('decoder_pos_embed',
                             build_2d_sincos_position_embedding(grid, decoder_embed_dim, cls_token=True))
        self.decoder_blocks = nn.ModuleList([
            TransformerEncoderLayer(decoder_embed_dim, decoder_num_heads, int(decoder_embed_dim * mlp_ratio))
            for _ in range(decoder_depth)])
        self.decoder_norm = nn.LayerNorm(decoder_embed_dim, eps=1e-6)
        out = predict_feature_dim if predict_feature_dim is not None else patch_size ** 2 * in_chans
        self.decoder_pred = nn.Linear(decoder_embed_dim, out)

    def init_weights(self) -> None:
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            super().init_weights()
            return
        nn.init.normal_(self.mask_token, std=0.02)
        mae_init_(self)

    def forward(self, x: torch.Tensor, ids_restore: torch.Tensor) -> torch.Tensor:
        x = self.decoder_embed(x)
        n, length = ids_restore.shape
        if length != self.num_patches:
            raise ValueError(f'ids_restore covers {length} patches, the decoder was built for {self.num_patches}')
        d = x.shape[-1]
        mask_tokens = self.mask_token.expand(n, length + 1 - x.shape[1], -1)
        patches = torch.cat([x[:, 1:], mask_tokens], dim=1)
        patches = torch.gather(patches, 1, ids_restore.unsqueeze(-1).expand(-1, -1, d))
        x = torch.cat([x[:, :1], patches], dim=1) + self.decoder_pos_embed
        for block in self.decoder_blocks:
            x = block(x)
        return self.decoder_pred(self.decoder_norm(x))[:, 1:]
