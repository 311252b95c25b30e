"""A plain Vision Transformer sized for 28-32 px grey images, with MAE's initialisation.

An Image is Worth 16x16 Words: Transformers for Image Recognition at Scale, Dosovitskiy et al.,
ICLR 2021, arXiv:2010.11929. Position embeddings and initialisation as in Masked Autoencoders Are
Scalable Vision Learners, He et al., CVPR 2022, arXiv:2111.06377 (official code
https://github.com/facebookresearch/mae: fixed 2-D sincos positions, xavier-uniform linears and
patch projection, class token ~ N(0, 0.02^2)). Interface after mmpretrain's ``VisionTransformer``
(``arch``, ``out_type``, ``frozen_stages``, ``final_norm``).

Layout: an image (N, C, H, W) is cut into ``(H/p) * (W/p)`` non-overlapping p x p patches by a
p x p / stride p convolution (row-major patch order), a learned class token is prepended, fixed
sincos positions are added (zero for the class token), then ``num_layers`` pre-norm blocks
``x + DropPath(MHSA(LN(x)))``, ``x + DropPath(MLP(LN(x)))`` (GELU MLP) and a final LayerNorm.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from tessera_generative.registry import MODELS

from .pos_embed import build_2d_sincos_position_embedding

# arch: embed_dims = token width D, num_layers = blocks, num_heads = attention heads,
# feedforward_channels = hidden width of the MLP (4 D).
ARCH_ZOO = {
    'micro': dict(embed_dims=96, num_layers=6, num_heads=3, feedforward_channels=384),   # 28-32 px, this package
    'mini': dict(embed_dims=128, num_layers=6, num_heads=4, feedforward_channels=512),   # 28-32 px, this package
    'tiny': dict(embed_dims=192, num_layers=12, num_heads=3, feedforward_channels=768),  # DeiT-Ti
    'small': dict(embed_dims=384, num_layers=12, num_heads=6, feedforward_channels=1536),
    'base': dict(embed_dims=768, num_layers=12, num_heads=12, feedforward_channels=3072),
}
OUT_TYPES = ('raw', 'cls_token', 'avg_featmap', 'featmap')


def check_patch_grid(img_size, patch_size: int) -> Tuple[int, int]:
    """(H, W) // patch_size, refusing a patch size that does not divide the image."""
    h, w = (img_size, img_size) if isinstance(img_size, int) else tuple(img_size)
    if not isinstance(patch_size, int) or patch_size < 1:
        raise ValueError(f'patch_size must be a positive int, got {patch_size!r}')
    if h % patch_size or w % patch_size:
        raise ValueError(f'patch_size={patch_size} does not divide img_size={h}x{w} '
                         f'(remainders {h % patch_size}, {w % patch_size})')
    return h // patch_size, w // patch_size


class DropPath(nn.Module):
    """Stochastic depth: zero a sample's residual branch with probability ``p``, scale the rest by 1/(1-p)."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.dim() - 1)).bernoulli_(keep)
        return x * mask / keep


class PatchEmbed(nn.Module):
    """(N, C, H, W) -> (N, H/p * W/p, D) by a p x p, stride p convolution."""

    def __init__(self, img_size, patch_size: int, in_channels: int, embed_dims: int):
        super().__init__()
        self.grid_size = check_patch_grid(img_size, patch_size)
        self.img_size = (self.grid_size[0] * patch_size, self.grid_size[1] * patch_size)
        self.patch_size = patch_size
        self.num_patches = self.grid_size[0] * self.grid_size[1]
        self.projection = nn.Conv2d(in_channels, embed_dims, kernel_size=patch_size, stride=patch_size)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if tuple(x.shape[-2:]) != self.img_size:
            raise ValueError(f'PatchEmbed was built for {self.img_size[0]}x{self.img_size[1]} images, '
                             f'got {x.shape[-2]}x{x.shape[-1]}')
        return self.projection(x).flatten(2).transpose(1, 2)


class MultiheadSelfAttention(nn.Module):
    """Softmax attention with a fused qkv projection (with bias) and an output projection."""

    def __init__(self, embed_dims: int, num_heads: int):
        super().__init__()
        if embed_dims % num_heads:
            raise ValueError(f'embed_dims={embed_dims} is not divisible by num_heads={num_heads}')
        self.num_heads = num_heads
        self.qkv = nn.Linear(embed_dims, embed_dims * 3)
        self.proj = nn.Linear(embed_dims, embed_dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, length, d = x.shape
        qkv = self.qkv(x).reshape(n, length, 3, self.num_heads, d // self.num_heads).permute(2, 0, 3, 1, 4)
        out = F.scaled_dot_product_attention(qkv[0], qkv[1], qkv[2])
        return self.proj(out.transpose(1, 2).reshape(n, length, d))


class TransformerEncoderLayer(nn.Module):
    """Pre-norm ViT block."""

    def __init__(self, embed_dims: int, num_heads: int, feedforward_channels: int, drop_path_rate: float = 0.0):
        super().__init__()
        self.ln1 = nn.LayerNorm(embed_dims, eps=1e-6)
        self.attn = MultiheadSelfAttention(embed_dims, num_heads)
        self.ln2 = nn.LayerNorm(embed_dims, eps=1e-6)
        self.ffn = nn.Sequential(nn.Linear(embed_dims, feedforward_channels), nn.GELU(),
                                 nn.Linear(feedforward_channels, embed_dims))
        self.drop_path = DropPath(drop_path_rate)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.ln1(x)))
        return x + self.drop_path(self.ffn(self.ln2(x)))


def resolve_arch(arch) -> dict:
    if isinstance(arch, str):
        if arch not in ARCH_ZOO:
            raise ValueError(f'unknown ViT arch {arch!r}; valid: {sorted(ARCH_ZOO)}')
        return dict(ARCH_ZOO[arch])
    if isinstance(arch, dict):
        need = {'embed_dims', 'num_layers', 'num_heads', 'feedforward_channels'}
        if set(arch) != need:
            raise ValueError(f'a custom ViT arch dict needs exactly the keys {sorted(need)}, got {sorted(arch)}')
        return dict(arch)
    raise TypeError(f'arch must be a name in {sorted(ARCH_ZOO)} or a dict, got {type(arch).__name__}')


def mae_init_(module: nn.Module) -> None:
    """MAE's init of linears (xavier-uniform, zero bias) and LayerNorms (1, 0)."""
    for m in module.modules():
        if isinstance(m, nn.Linear):
            nn.init.xavier_uniform_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)


@MODELS.register_module()
class VisionTransformer(BaseModule):
    """ViT backbone.

    Args:
        arch (str | dict): A name of :data:`ARCH_ZOO` or a dict with its four keys.
        img_size (int | tuple): Input size; ``patch_size`` must divide it.
        patch_size (int): Patch side p (4 for 28-32 px: 7x7 or 8x8 patches).
        in_channels (int): Image channels.
        out_type (str): ``'cls_token'`` (N, D) (the final-normed class token), ``'avg_featmap'`` (N, D)
            (mean of the final-normed patch tokens), ``'featmap'`` (N, D, H/p, W/p), ``'raw'`` (N, 1 + L, D).
        final_norm (bool): Apply the last LayerNorm.
        drop_path_rate (float): Stochastic depth, linearly increasing to this over the blocks.
        frozen_stages (int): Freeze (``requires_grad=False``, eval mode) the patch embedding, the class token
            and the first ``frozen_stages`` blocks (and the final norm when all blocks are frozen); -1: none.
        init_cfg (dict, optional): e.g. ``dict(type='Pretrained', checkpoint=..., prefix='backbone.')``;
            without a ``Pretrained`` init the MAE initialisation is used.

    ``forward`` returns a one-element tuple (the mmengine backbone convention).
    """

    def __init__(self, arch='micro', img_size=28, patch_size: int = 4, in_channels: int = 1,
                 out_type: str = 'cls_token', final_norm: bool = True, drop_path_rate: float = 0.0,
                 frozen_stages: int = -1, init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        settings = resolve_arch(arch)
        self.embed_dims = settings['embed_dims']
        self.num_layers = settings['num_layers']
        if out_type not in OUT_TYPES:
            raise ValueError(f'out_type must be one of {OUT_TYPES}, got {out_type!r}')
        if not -1 <= frozen_stages <= self.num_layers:
            raise ValueError(f'frozen_stages must be in [-1, {self.num_layers}], got {frozen_stages}')
        self.out_type, self.final_norm, self.frozen_stages = out_type, final_norm, frozen_stages
        self.patch_embed = PatchEmbed(img_size, patch_size, in_channels, self.embed_dims)
        self.patch_size = patch_size
        self.num_patches = self.patch_embed.num_patches
        self.cls_token = nn.Parameter(torch.zeros(1, 1, self.embed_dims))
        self.register_buffer('pos_embed', build_2d_sincos_position_embedding(
            self.patch_embed.grid_size, self.embed_dims, cls_token=True))
        dpr = torch.linspace(0, drop_path_rate, self.num_layers).tolist()
        self.layers = nn.ModuleList([
            TransformerEncoderLayer(self.embed_dims, settings['num_heads'], settings['feedforward_channels'], dpr[i])
            for i in range(self.num_layers)])
        self.ln1 = nn.LayerNorm(self.embed_dims, eps=1e-6) if final_norm else nn.Identity()
        self._freeze()

    # -- initialisation and freezing ---------------------------------------------------------
    def init_weights(self) -> None:
        if isinstance(self.init_cfg, dict) and self.init_cfg.get('type') == 'Pretrained':
            super().init_weights()
            return
        w = self.patch_embed.projection.weight.data
        nn.init.xavier_uniform_(w.view(w.shape[0], -1))  # as a linear layer on flattened patches
        nn.init.zeros_(self.patch_embed.projection.bias)
        nn.init.normal_(self.cls_token, std=0.02)
        mae_init_(self.layers)
        mae_init_(self.ln1)

    def _frozen_modules(self):
        if self.frozen_stages < 0:
            return []
        mods = [self.patch_embed] + list(self.layers[:self.frozen_stages])
        if self.frozen_stages == self.num_layers:
            mods.append(self.ln1)
        return mods

    def _freeze(self) -> None:
        if self.frozen_stages >= 0:
            self.cls_token.requires_grad_(False)
        for m in self._frozen_modules():
            m.eval()
            for p in m.parameters():
                p.requires_grad_(False)

    def train(self, mode: bool = True):
        super().train(mode)
        for m in self._frozen_modules():
            m.eval()
        return self

    # -- forward -------------------------------------------------------------------------------
    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """(N, C, H, W) -> (N, L, D) patch tokens with their positions (no class token)."""
        return self.patch_embed(x) + self.pos_embed[:, 1:]

    def cls_tokens(self, n: int) -> torch.Tensor:
        return (self.cls_token + self.pos_embed[:, :1]).expand(n, -1, -1)

    def encode(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, k, D) positioned patch tokens -> (N, 1 + k, D): class token prepended, blocks, final norm."""
        x = torch.cat([self.cls_tokens(tokens.shape[0]), tokens], dim=1)
        for layer in self.layers:
            x = layer(x)
        return self.ln1(x)

    def forward_views(self, x: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        """Encode subsets of each image's patches as separate views (SdAE's teacher).

        Args:
            x (Tensor): (N, C, H, W) images.
            ids (Tensor): (N, V, k) patch ids, V views of k patches each.

        Returns:
            Tensor: (N, V, k, D) patch outputs (class token dropped); every view attends only to its own
            k patches and its class token.
        """
        n, v, k = ids.shape
        tokens = self.embed(x)
        d = tokens.shape[-1]
        sel = torch.gather(tokens, 1, ids.reshape(n, v * k, 1).expand(-1, -1, d)).reshape(n * v, k, d)
        return self.encode(sel)[:, 1:].reshape(n, v, k, d)

    def format_output(self, x: torch.Tensor) -> torch.Tensor:
        if self.out_type == 'raw':
            return x
        if self.out_type == 'cls_token':
            return x[:, 0]
        if self.out_type == 'avg_featmap':
            return x[:, 1:].mean(dim=1)
        h, w = self.patch_embed.grid_size
        return x[:, 1:].transpose(1, 2).reshape(x.shape[0], -1, h, w)

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor]:
        return (self.format_output(self.encode(self.embed(x))),)


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


__all__ = ['VisionTransformer', 'ARCH_ZOO', 'PatchEmbed', 'TransformerEncoderLayer', 'DropPath',
           'check_patch_grid', 'mae_init_', 'count_parameters']
