"""The tokenizer vocabulary kept in a model's checkpoint, so a checkpoint decodes with the vocabulary it
was trained with (a WordPiece vocabulary learned from a dataset is otherwise rebuilt, or lost).

The vocabulary is a plain uint8 buffer ``tokenizer_vocab`` (the tokens joined by newlines, UTF-8), so core's
safe (weights-only) loader accepts it. Loading a checkpoint that has one replaces the model's tokenizer with
that vocabulary; one whose size differs from the model's embedding table is refused, naming both sizes.
Used by :class:`ImageCaptioner` and :class:`LaBERT`.
"""
from typing import List, Sequence

import torch

from .wordpiece_tokenizer import WordPieceTokenizer

BUFFER = 'tokenizer_vocab'


def vocab_to_tensor(vocab: Sequence[str]) -> torch.Tensor:
    """Tokens -> (num_bytes,) uint8."""
    return torch.tensor(list('\n'.join(vocab).encode('utf-8')), dtype=torch.uint8)


def tensor_to_vocab(t: torch.Tensor) -> List[str]:
    """(num_bytes,) uint8 -> tokens."""
    return bytes(t.tolist()).decode('utf-8').split('\n')


class CheckpointVocabMixin:
    """For an ``nn.Module`` whose tokenizer is a :class:`WordPieceTokenizer`.

    Call :meth:`register_vocab` in ``__init__`` and implement :meth:`use_checkpoint_tokenizer` (check the
    vocabulary against the embedding table, then install it)."""

    def register_vocab(self, tokenizer: WordPieceTokenizer) -> None:
        self.register_buffer(BUFFER, vocab_to_tensor(tokenizer.vocab), persistent=True)

    def use_checkpoint_tokenizer(self, tokenizer: WordPieceTokenizer) -> None:
        # the hook each user of the mixin defines (ImageCaptioner, MaskedLanguageModel, LaBERT)
        raise NotImplementedError(f'{type(self).__name__} keeps a tokenizer_vocab buffer but does not define '
                                  'use_checkpoint_tokenizer() to check and install it')

    def _load_from_state_dict(self, state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                              error_msgs):
        key = prefix + BUFFER
        if key in state_dict and hasattr(self, BUFFER):
            vocab = tensor_to_vocab(state_dict.pop(key))
            self.use_checkpoint_tokenizer(WordPieceTokenizer(vocab, source=f'checkpoint {BUFFER}'))
            setattr(self, BUFFER, vocab_to_tensor(vocab))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys,
                                      error_msgs)
        if key in missing_keys:
            missing_keys.remove(key)


__all__ = ['CheckpointVocabMixin', 'vocab_to_tensor', 'tensor_to_vocab']
