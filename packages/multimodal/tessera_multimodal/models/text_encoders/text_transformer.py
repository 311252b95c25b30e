"""Learning Transferable Visual Models From Natural Language Supervision (CLIP),
Radford et al., ICML 2021, arXiv:2103.00020.
Official repository: https://github.com/openai/CLIP (``clip/model.py``).

CLIP's text encoder (Section 2.4): token + learned position embeddings, a
Transformer of pre-LayerNorm residual blocks with masked (causal)
self-attention, a final LayerNorm, the activations at the ``[EOS]`` (here
``<eot>``) token as the text feature, and a linear projection (no bias) into
the joint embedding space. Initialisation follows ``CLIP.initialize_parameters``.
"""
from typing import Optional

import torch
from mmengine.model import BaseModule
from torch import nn

from tessera_multimodal.registry import MODELS


class QuickGELU(nn.Module):
    """``x * sigmoid(1.702 x)``, the GELU approximation of CLIP's Transformers."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * torch.sigmoid(1.702 * x)


ACTIVATIONS = {'quick_gelu': QuickGELU, 'gelu': nn.GELU}


def build_causal_mask(length: int) -> torch.Tensor:
    """Additive attention mask (L, L): 0 on and below the diagonal, ``-inf`` above,
    so position t attends to positions <= t only."""
    return torch.full((length, length), float('-inf')).triu_(1)


class ResidualAttentionBlock(nn.Module):
    """``x = x + attn(ln_1(x)); x = x + mlp(ln_2(x))`` on (N, L, width)."""

    def __init__(self, width: int, heads: int, mlp_ratio: float = 4.0, act: str = 'quick_gelu'):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width)
        self.attn = nn.MultiheadAttention(width, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(width)
        hidden = int(width * mlp_ratio)
        self.mlp = nn.Sequential()
        self.mlp.add_module('c_fc', nn.Linear(width, hidden))
        self.mlp.add_module('act', ACTIVATIONS[act]())
        self.mlp.add_module('c_proj', nn.Linear(hidden, width))

    def forward(self, x: torch.Tensor, attn_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        y = self.ln_1(x)
        x = x + self.attn(y, y, y, need_weights=False, attn_mask=attn_mask)[0]
        return x + self.mlp(self.ln_2(x))


@MODELS.register_module()
class CLIPTextTransformer(BaseModule):
    """CLIP's causal text Transformer.

    Args:
        vocab_size (int): Token vocabulary size.
        context_length (int): Maximum tokens per text L.
        eot_token_id (int): Id of the end-of-text token, whose final activation
            is the text feature.
        embed_dim (int): Output (joint embedding) dimension E.
        width (int): Transformer width W.
        layers (int): Residual attention blocks.
        heads (int): Attention heads (must divide ``width``).
        mlp_ratio (float): MLP hidden width / W.
        act (str): ``'quick_gelu'`` (CLIP) or ``'gelu'``.

    Shapes: tokens (N, L') with L' <= L, exactly one ``eot_token_id`` per row
    -> features (N, E).
    """

    def __init__(self, vocab_size: int, context_length: int, eot_token_id: int, embed_dim: int = 64,
                 width: int = 64, layers: int = 2, heads: int = 4, mlp_ratio: float = 4.0,
                 act: str = 'quick_gelu', init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        if width % heads:
            raise ValueError(f'width {width} is not divisible by heads {heads}')
        if act not in ACTIVATIONS:
            raise KeyError(f'unknown activation {act!r}; valid: {sorted(ACTIVATIONS)}')
        if not 0 <= eot_token_id < vocab_size:
            raise ValueError(f'eot_token_id {eot_token_id} outside the vocabulary [0, {vocab_size})')
        self.vocab_size, self.context_length, self.eot_token_id = vocab_size, context_length, eot_token_id
        self.width, self.layers = width, layers
        self.token_embedding = nn.Embedding(vocab_size, width)
        self.positional_embedding = nn.Parameter(torch.empty(context_length, width))
        self.blocks = nn.ModuleList(ResidualAttentionBlock(width, heads, mlp_ratio, act) for _ in range(layers))
        self.ln_final = nn.LayerNorm(width)
        self.text_projection = nn.Parameter(torch.empty(width, embed_dim))
        self.register_buffer('attn_mask', build_causal_mask(context_length), persistent=False)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """CLIP's initialisation (``clip/model.py``, ``initialize_parameters``)."""
        nn.init.normal_(self.token_embedding.weight, std=0.02)
        nn.init.normal_(self.positional_embedding, std=0.01)
        proj_std = self.width ** -0.5 * (2 * self.layers) ** -0.5
        attn_std = self.width ** -0.5
        fc_std = (2 * self.width) ** -0.5
        for block in self.blocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.text_projection, std=self.width ** -0.5)

    def _check_tokens(self, tokens: torch.Tensor) -> None:
        if tokens.dim() != 2 or tokens.size(1) > self.context_length or tokens.dtype != torch.long:
            raise ValueError(f'tokens must be a LongTensor (N, L) with L <= context_length={self.context_length}, '
                             f'got {tokens.dtype} {tuple(tokens.shape)}')

    def forward_features(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (N, L) -> per-position activations after ``ln_final`` (N, L, W)."""
        self._check_tokens(tokens)
        length = tokens.size(1)
        x = self.token_embedding(tokens) + self.positional_embedding[:length]
        mask = self.attn_mask[:length, :length].to(x.dtype)
        for block in self.blocks:
            x = block(x, attn_mask=mask)
        return self.ln_final(x)

    def eot_positions(self, tokens: torch.Tensor) -> torch.Tensor:
        """(N, L) -> (N,) index of the single ``<eot>`` of every row."""
        is_eot = tokens == self.eot_token_id
        counts = is_eot.sum(1)
        if (counts != 1).any():
            row = int((counts != 1).nonzero()[0])
            raise ValueError(f'every text needs exactly one <eot> (id {self.eot_token_id}); row {row} has '
                             f'{int(counts[row])}')
        return is_eot.int().argmax(1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens (N, L) -> text features (N, E) (not normalised)."""
        x = self.forward_features(tokens)
        feats = x[torch.arange(x.size(0), device=x.device), self.eot_positions(tokens)]
        return feats @ self.text_projection

    def extra_repr(self) -> str:
        return f'vocab_size={self.vocab_size}, context_length={self.context_length}, ' \
               f'width={self.width}, layers={self.layers}'
