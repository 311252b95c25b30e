"""Token-id conventions shared by the BERT-style models (MLM pretraining, LaBERT).

Wraps any tokenizer of this package's ``TOKENIZERS`` registry and fixes the ids a
BERT-style model needs: ``pad_id``, ``eos_id`` (LaBERT pads a caption to the
length of its level with [EOS], as the official code), ``mask_id`` and the number
of embeddings. A tokenizer that has a ``mask_id`` (the WordPiece tokenizer) keeps
its own; otherwise (the word-level ``WordTokenizer``) [MASK] is appended as id
``tokenizer.vocab_size``.
"""
from typing import List, Sequence

import torch

from tessera_multimodal.registry import TOKENIZERS


class TokenIds:
    """Caption <-> word ids (no start/end markers) for BERT-style models.

    Args:
        tokenizer (dict | object): Tokenizer config (a ``WordPieceTokenizer`` dict goes through
            ``build_caption_tokenizer``: ``vocab_file`` / ``vocab`` / ``train_dataset``) or instance with ``encode``,
            ``decode``, ``pad_id`` and ``eot_id`` or ``sep_id``.
    """

    def __init__(self, tokenizer):
        if isinstance(tokenizer, dict) and tokenizer.get('type') == 'WordPieceTokenizer':
            # vocab_file= / vocab= / train_dataset= (+ vocab_size): the captioning machinery's builder
            from ..captioners.image_captioner import build_caption_tokenizer  # noqa: PLC0415
            tokenizer = build_caption_tokenizer(tokenizer)
        self.tokenizer = TOKENIZERS.build(tokenizer) if isinstance(tokenizer, dict) else tokenizer
        tok = self.tokenizer
        self.pad_id = tok.pad_id
        self.eos_id = getattr(tok, 'sep_id', None)
        if self.eos_id is None:
            self.eos_id = tok.eot_id
        self.start_ids = {i for i in (getattr(tok, 'sot_id', None), getattr(tok, 'cls_id', None)) if i is not None}
        if getattr(tok, 'mask_id', None) is not None:
            self.mask_id, self.num_embeddings = tok.mask_id, tok.vocab_size
        else:
            self.mask_id, self.num_embeddings = tok.vocab_size, tok.vocab_size + 1
        self.special_ids = {self.pad_id, self.eos_id, self.mask_id} | self.start_ids

    def words(self, text: str) -> List[int]:
        """Word ids of ``text`` without start/end markers."""
        return [i for i in self.tokenizer.encode(text) if i not in self.start_ids and i != self.eos_id]

    def decode(self, ids: Sequence[int]) -> str:
        """Text of ``ids`` up to the first [EOS]; [PAD]/[MASK] dropped."""
        ids = ids.tolist() if isinstance(ids, torch.Tensor) else list(ids)
        out = []
        for i in ids:
            if i == self.eos_id:
                break
            if i not in self.special_ids:
                out.append(i)
        first = next(iter(self.start_ids), None)
        return self.tokenizer.decode(([first] if first is not None else []) + out + [self.eos_id])
