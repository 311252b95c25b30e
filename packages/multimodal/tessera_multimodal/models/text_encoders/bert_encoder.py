"""BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding,
Devlin et al., NAACL 2019, arXiv:1810.04805. Official repository: https://github.com/google-research/bert.

A BERT-style bidirectional Transformer encoder, used here as the non-autoregressive
caption decoder of LaBERT (Deng et al., ECCV 2020, arXiv:2007.09580, official code
https://github.com/bearcatt/LaBERT, which builds on ``transformers``' ``BertEncoder``)
and as the text tower of later retrieval methods.

Embeddings (BERT Section 3): ``word(ids) + position(pos) + token_type(type)``, then
LayerNorm and dropout. An optional *prefix* of condition tokens (e.g. image grid
features already projected to ``hidden_size``, as LaBERT's region tokens) is placed
before the text; the prefix gets ``prefix_type`` embeddings (LaBERT gives its region
tokens one extra token type) and its own additive position term supplied by the caller.
Layers: post-LN Transformer blocks (``x = LN(x + MHA(x)); x = LN(x + FFN(x))``, GELU).

Shapes: ``input_ids`` (B, L) long, ``prefix`` (B, P, D) float -> hidden (B, P + L, D).
"""
from typing import Optional

import torch
import torch.nn.functional as F
from torch import nn

from tessera_multimodal.registry import MODELS


@MODELS.register_module()
class BertEncoder(nn.Module):
    """Bidirectional Transformer encoder with token/position/type embeddings.

    Args:
        vocab_size (int): Number of token ids.
        hidden_size (int): Width D. BERT-base: 768.
        num_layers (int): Transformer blocks. BERT-base: 12.
        num_heads (int): Attention heads. BERT-base: 12.
        intermediate_size (int, optional): FFN width; default ``4 * hidden_size``.
        max_position (int): Number of text position embeddings. BERT: 512.
        type_vocab_size (int): Number of token types (segments). BERT: 2; LaBERT:
            number of length levels + 2 (0 unused, 1..K levels, K+1 image).
        dropout (float): Hidden and attention dropout. BERT: 0.1.
        pad_id (int): Id of padding tokens (masked out of attention when no mask is given).
    """

    def __init__(self, vocab_size: int, hidden_size: int = 768, num_layers: int = 12, num_heads: int = 12,
                 intermediate_size: Optional[int] = None, max_position: int = 512, type_vocab_size: int = 2,
                 dropout: float = 0.1, pad_id: int = 0):
        super().__init__()
        if hidden_size % num_heads:
            raise ValueError(f'hidden_size {hidden_size} is not divisible by num_heads {num_heads}')
        self.vocab_size, self.hidden_size = vocab_size, hidden_size
        self.max_position, self.type_vocab_size, self.pad_id = max_position, type_vocab_size, pad_id
        self.word_embeddings = nn.Embedding(vocab_size, hidden_size)
        self.position_embeddings = nn.Embedding(max_position, hidden_size)
        self.token_type_embeddings = nn.Embedding(type_vocab_size, hidden_size)
        self.norm = nn.LayerNorm(hidden_size, eps=1e-12)
        self.dropout = nn.Dropout(dropout)
        layer = nn.TransformerEncoderLayer(hidden_size, num_heads, intermediate_size or 4 * hidden_size,
                                           dropout=dropout, activation='gelu', batch_first=True,
                                           norm_first=False, layer_norm_eps=1e-12)
        self.layers = nn.TransformerEncoder(layer, num_layers, enable_nested_tensor=False)
        self.apply(self._init_weights)

    @staticmethod
    def _init_weights(m: nn.Module) -> None:
        # BERT: truncated-normal-like N(0, 0.02) weights, zero biases, unit LayerNorm
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.LayerNorm):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)

    def forward(self, input_ids: torch.Tensor, token_type_ids: Optional[torch.Tensor] = None,
                attention_mask: Optional[torch.Tensor] = None, prefix: Optional[torch.Tensor] = None,
                prefix_type: Optional[int] = None) -> torch.Tensor:
        """Encode; returns hidden states (B, P + L, D).

        Args:
            input_ids: (B, L) long.
            token_type_ids: (B, L) long, default zeros.
            attention_mask: (B, L) bool/0-1, True = attend (default: ``input_ids != pad_id``);
                prefix tokens are always attended.
            prefix: (B, P, D) condition tokens (already in the hidden space).
            prefix_type: token type of the prefix (default ``type_vocab_size - 1``).
        """
        B, L = input_ids.shape
        if L > self.max_position:
            raise ValueError(f'sequence length {L} exceeds max_position {self.max_position}')
        if token_type_ids is None:
            token_type_ids = torch.zeros_like(input_ids)
        pos = torch.arange(L, device=input_ids.device).unsqueeze(0)
        x = self.word_embeddings(input_ids) + self.position_embeddings(pos) + \
            self.token_type_embeddings(token_type_ids)
        keep = (input_ids != self.pad_id) if attention_mask is None else attention_mask.bool()
        if prefix is not None:
            t = self.type_vocab_size - 1 if prefix_type is None else prefix_type
            p = prefix + self.token_type_embeddings.weight[t]
            x = torch.cat([p, x], dim=1)
            keep = torch.cat([keep.new_ones(B, prefix.size(1)), keep], dim=1)
        x = self.dropout(self.norm(x))
        return self.layers(x, src_key_padding_mask=~keep)


@MODELS.register_module()
class BertLMHead(nn.Module):
    """BERT's masked-LM prediction head: dense + GELU + LayerNorm, then a decoder
    whose weight is tied to the word embeddings, plus a bias. (B, L, D) -> (B, L, V)."""

    def __init__(self, word_embeddings: nn.Embedding):
        super().__init__()
        d = word_embeddings.embedding_dim
        self.dense = nn.Linear(d, d)
        self.norm = nn.LayerNorm(d, eps=1e-12)
        self.word_embeddings = word_embeddings  # shared, not a copy
        self.bias = nn.Parameter(torch.zeros(word_embeddings.num_embeddings))

    def forward(self, hidden: torch.Tensor) -> torch.Tensor:
        h = self.norm(F.gelu(self.dense(hidden)))
        return F.linear(h, self.word_embeddings.weight, self.bias)
