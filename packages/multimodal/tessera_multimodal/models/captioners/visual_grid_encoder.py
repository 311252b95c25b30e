"""Grid visual features for captioning: a backbone's last feature map as a sequence of tokens.

Length-Controllable Image Captioning (LaBERT), arXiv:2007.09580, https://github.com/bearcatt/LaBERT
conditions its decoder on a set of image region features; here (no detector offline) the regions are the
cells of a backbone's last feature map ("grid features"), projected to the decoder width and given 2-D
positions, as grid-feature captioners do.

Shapes: images ``(B, C_img, H_img, W_img)`` -> backbone map ``(B, in_channels, H, W)`` ->
tokens ``(B, N = H * W, out_dim)`` (row-major: ``n = y * W + x``).

Positions (``pos``):

============  ==============================================================================
``sincos``    fixed 2-D sine-cosine: first half of the channels encodes ``y``, second half ``x``
``learned``   learned row + column embeddings (``max_grid`` x ``out_dim`` each), summed
``none``      no positions
============  ==============================================================================
"""
import math
from typing import Optional

import torch
import torch.nn as nn

from tessera_multimodal.registry import MODELS


def sincos_2d(h: int, w: int, dim: int, temperature: float = 10000.0) -> torch.Tensor:
    """Fixed 2-D positions ``(h * w, dim)``: ``[sin(y f), cos(y f), sin(x f), cos(x f)]``, ``dim % 4 == 0``."""
    if dim % 4:
        raise ValueError(f'sincos positions need out_dim divisible by 4, got {dim}')
    q = dim // 4
    freq = 1.0 / temperature ** (torch.arange(q, dtype=torch.float32) / q)
    ys, xs = torch.meshgrid(torch.arange(h, dtype=torch.float32), torch.arange(w, dtype=torch.float32),
                            indexing='ij')
    y = ys.reshape(-1, 1) * freq
    x = xs.reshape(-1, 1) * freq
    return torch.cat([y.sin(), y.cos(), x.sin(), x.cos()], dim=1)


@MODELS.register_module()
class VisualGridEncoder(nn.Module):
    """Args:
        backbone (dict): Any core backbone config returning a tuple of ``(B, C, H, W)`` maps (the last is used).
        out_dim (int): Token width.
        in_channels (int, optional): Channels of the backbone's last map; read from its ``out_channels``
            when omitted.
        pos (str): ``'sincos'``, ``'learned'`` or ``'none'`` (see the module table).
        max_grid (int): Largest ``H`` / ``W`` for learned positions.
        norm (bool): LayerNorm after the projection.
    """
    POS = ('sincos', 'learned', 'none')

    def __init__(self, backbone: dict, out_dim: int, in_channels: Optional[int] = None, pos: str = 'sincos',
                 max_grid: int = 32, norm: bool = True):
        super().__init__()
        if pos not in self.POS:
            raise ValueError(f'pos={pos!r} is not one of {self.POS}')
        self.backbone = MODELS.build(backbone) if isinstance(backbone, dict) else backbone
        if in_channels is None:
            oc = getattr(self.backbone, 'out_channels', None)
            if oc is None:
                raise ValueError(f'cannot read the feature width of {type(self.backbone).__name__}: pass in_channels')
            in_channels = int(oc[-1] if isinstance(oc, (list, tuple)) else oc)
        self.in_channels, self.out_dim, self.pos, self.max_grid = in_channels, out_dim, pos, max_grid
        self.proj = nn.Linear(in_channels, out_dim)
        self.norm = nn.LayerNorm(out_dim) if norm else nn.Identity()
        if pos == 'sincos' and out_dim % 4:
            raise ValueError(f'sincos positions need out_dim divisible by 4, got {out_dim}')
        if pos == 'learned':
            self.row_embed = nn.Parameter(torch.randn(max_grid, out_dim) * 0.02)
            self.col_embed = nn.Parameter(torch.randn(max_grid, out_dim) * 0.02)

    def positions(self, h: int, w: int, device=None) -> Optional[torch.Tensor]:
        """``(h * w, out_dim)`` or ``None`` for ``pos='none'``."""
        if self.pos == 'none':
            return None
        if self.pos == 'sincos':
            return sincos_2d(h, w, self.out_dim).to(device)
        if h > self.max_grid or w > self.max_grid:
            raise ValueError(f'feature grid {h}x{w} exceeds max_grid={self.max_grid} of the learned positions')
        return (self.row_embed[:h, None, :] + self.col_embed[None, :w, :]).reshape(h * w, self.out_dim)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(B, C_img, H_img, W_img)`` -> ``(B, H * W, out_dim)``."""
        feats = self.backbone(images)
        if isinstance(feats, (list, tuple)):
            feats = feats[-1]
        if feats.dim() != 4:
            raise ValueError(f'the backbone must return (B, C, H, W) maps, got {tuple(feats.shape)}')
        b, c, h, w = feats.shape
        if c != self.in_channels:
            raise ValueError(f'backbone map has {c} channels, VisualGridEncoder expects in_channels={self.in_channels}')
        tokens = self.norm(self.proj(feats.flatten(2).transpose(1, 2)))
        pos = self.positions(h, w, tokens.device)
        return tokens if pos is None else tokens + pos.to(tokens.dtype)
