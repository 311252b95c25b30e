"""A causal transformer caption decoder (the autoregressive baseline of LaBERT).

Length-Controllable Image Captioning (LaBERT), arXiv:2007.09580, https://github.com/bearcatt/LaBERT compares
its non-autoregressive decoder with autoregressive transformer captioners; this is such a decoder of the same
kind as LaBERT's BERT (learned token + position embeddings, pre-LN ``nn.TransformerDecoderLayer`` blocks with
self-attention under a causal mask and cross-attention to the image tokens, optional tied output projection).

Shapes: tokens ``(B, T)`` and image tokens ``(B, N, dim)`` -> logits ``(B, T, vocab_size)``; position ``t``
sees tokens ``0..t`` only, so ``logits[:, t]`` predicts token ``t + 1``.

Decoding recomputes the whole prefix at every step (no key/value cache): ``O(T^2)`` per caption, exact.
"""
from typing import Optional

import torch
import torch.nn as nn

from tessera_multimodal.registry import MODELS


def causal_mask(t: int, device=None) -> torch.Tensor:
    """``(t, t)`` bool, ``True`` above the diagonal = may not attend (future positions)."""
    return torch.ones(t, t, dtype=torch.bool, device=device).triu(1)


@MODELS.register_module()
class TransformerCaptionDecoder(nn.Module):
    """Args:
        vocab_size (int): Tokens (the tokenizer's ``vocab_size``).
        dim (int): Width; the image tokens must have this width.
        num_layers (int), num_heads (int), ffn_dim (int, default ``4 * dim``), dropout (float).
        max_length (int): Positions (longest token sequence, specials included).
        tie_weights (bool): Output projection shares the token embedding matrix.
        pad_id (int): Padding id (its embedding row is zero-initialised and not updated).
    """

    def __init__(self, vocab_size: int, dim: int = 128, num_layers: int = 2, num_heads: int = 4,
                 ffn_dim: Optional[int] = None, dropout: float = 0.1, max_length: int = 32,
                 tie_weights: bool = True, pad_id: int = 0):
        super().__init__()
        self.vocab_size, self.dim, self.max_length, self.pad_id = vocab_size, dim, max_length, pad_id
        self.token_embed = nn.Embedding(vocab_size, dim, padding_idx=pad_id)
        self.pos_embed = nn.Embedding(max_length, dim)
        self.embed_norm = nn.LayerNorm(dim)
        self.drop = nn.Dropout(dropout)
        layer = nn.TransformerDecoderLayer(dim, num_heads, ffn_dim or 4 * dim, dropout, activation='gelu',
                                           batch_first=True, norm_first=True)
        self.layers = nn.TransformerDecoder(layer, num_layers, norm=nn.LayerNorm(dim), enable_nested_tensor=False) \
            if 'enable_nested_tensor' in nn.TransformerDecoder.__init__.__code__.co_varnames \
            else nn.TransformerDecoder(layer, num_layers, norm=nn.LayerNorm(dim))
        self.head = nn.Linear(dim, vocab_size, bias=True)
        nn.init.normal_(self.token_embed.weight, std=0.02)
        nn.init.normal_(self.pos_embed.weight, std=0.02)
        with torch.no_grad():
            self.token_embed.weight[pad_id].zero_()
        if tie_weights:
            self.head.weight = self.token_embed.weight
        self.tie_weights = tie_weights

    def forward(self, tokens: torch.Tensor, memory: torch.Tensor,
                memory_key_padding_mask: Optional[torch.Tensor] = None) -> torch.Tensor:
        """``(B, T)`` ids, ``(B, N, dim)`` image tokens -> ``(B, T, vocab_size)`` logits."""
        b, t = tokens.shape
        if t > self.max_length:
            raise ValueError(f'{t} tokens exceed the decoder max_length={self.max_length}')
        if memory.shape[-1] != self.dim:
            raise ValueError(f'image tokens have width {memory.shape[-1]}, the decoder dim is {self.dim}')
        pos = torch.arange(t, device=tokens.device)
        x = self.drop(self.embed_norm(self.token_embed(tokens) + self.pos_embed(pos)[None]))
        x = self.layers(x, memory, tgt_mask=causal_mask(t, tokens.device),
                        memory_key_padding_mask=memory_key_padding_mask)
        return self.head(x)
