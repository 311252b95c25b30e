"""A deterministic word-level tokenizer with a fixed vocabulary.

Stands in for CLIP's byte-pair encoder (arXiv:2103.00020, Section 2.4) on the
small closed vocabulary of generated digit captions: same framing of every
text as ``<sot> tokens... <eot>`` padded with zeros to ``context_length``, but
one token per word and no out-of-vocabulary fallback: an unknown word or a
text longer than the context is an error, never silently altered.
"""
import re
from typing import List, Optional, Sequence, Union

import torch

from tessera_multimodal.registry import TOKENIZERS

# Lower-cased words, single decimal digits, or single punctuation marks.
_TOKEN_RE = re.compile(r'[a-z]+|[0-9]|[^\sa-z0-9]')


@TOKENIZERS.register_module()
class WordTokenizer:
    """Args:
        vocab (Sequence[str], optional): The words, each a single token under the
            splitting rule (lower-case letters, one digit, or one punctuation
            mark). Defaults to the digit-caption vocabulary
            :data:`~tessera_multimodal.datasets.digit_captions.DIGIT_CAPTION_VOCAB`.
        context_length (int): Tokens per encoded text, ``<sot>`` and ``<eot>`` included.

    Ids: ``0 = <pad>``, ``1 = <sot>``, ``2 = <eot>``, then the words in the given order.

    Example:
        >>> tok = WordTokenizer(context_length=8)
        >>> tok.decode(tok.encode('A handwritten 7'))
        'a handwritten 7'
    """
    PAD, SOT, EOT = '<pad>', '<sot>', '<eot>'
    SPECIALS = (PAD, SOT, EOT)

    def __init__(self, vocab: Optional[Sequence[str]] = None, context_length: int = 16):
        if vocab is None:
            from tessera_multimodal.datasets.digit_captions import DIGIT_CAPTION_VOCAB
            vocab = DIGIT_CAPTION_VOCAB
        if isinstance(vocab, str):
            raise TypeError('vocab must be a sequence of words, not one string')
        words = list(vocab)
        dup = sorted({w for w in words if words.count(w) > 1})
        if dup:
            raise ValueError(f'duplicate words in the vocabulary: {dup}')
        bad = [w for w in words if _TOKEN_RE.fullmatch(w) is None]
        if bad:
            raise ValueError(f'vocabulary entries {bad} are not single tokens (lower-case letters, one digit '
                             'or one punctuation mark)')
        if context_length < 3:
            raise ValueError(f'context_length must be >= 3 (<sot>, one word, <eot>), got {context_length}')
        self.context_length = context_length
        self.itos: List[str] = list(self.SPECIALS) + words
        self.stoi = {s: i for i, s in enumerate(self.itos)}
        self.pad_id, self.sot_id, self.eot_id = 0, 1, 2

    @property
    def vocab_size(self) -> int:
        return len(self.itos)

    @staticmethod
    def split(text: str) -> List[str]:
        """Lower-case ``text`` and split it into word tokens."""
        if not isinstance(text, str):
            raise TypeError(f'text must be a str, got {type(text).__name__}')
        return _TOKEN_RE.findall(text.lower())

    def encode(self, text: str) -> List[int]:
        """``text`` -> ``[sot, w_1, ..., w_n, eot]`` (no padding)."""
        words = self.split(text)
        unknown = [w for w in words if w not in self.stoi or w in self.SPECIALS]
        if unknown:
            raise ValueError(f'unknown word(s) {unknown} in {text!r}; the vocabulary holds '
                             f'{self.vocab_size - len(self.SPECIALS)} words: {self.itos[len(self.SPECIALS):]}')
        if len(words) + 2 > self.context_length:
            raise ValueError(f'{text!r} is {len(words)} words, {len(words) + 2} tokens with <sot>/<eot>: more than '
                             f'context_length={self.context_length}')
        return [self.sot_id] + [self.stoi[w] for w in words] + [self.eot_id]

    def decode(self, ids: Union[Sequence[int], torch.Tensor]) -> str:
        """Ids (one text, padded or not) -> the normalised text (words joined by spaces)."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        words = []
        for i in ids:
            if not 0 <= i < self.vocab_size:
                raise ValueError(f'token id {i} out of range [0, {self.vocab_size})')
            if i == self.eot_id:
                break
            if i not in (self.pad_id, self.sot_id):
                words.append(self.itos[i])
        return ' '.join(words)

    def __call__(self, texts: Union[str, Sequence[str]]) -> torch.Tensor:
        """Texts -> LongTensor (N, context_length), zero-padded after ``<eot>``."""
        if isinstance(texts, str):
            texts = [texts]
        out = torch.full((len(texts), self.context_length), self.pad_id, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = self.encode(text)
            out[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def __repr__(self) -> str:
        return f'{type(self).__name__}(vocab_size={self.vocab_size}, context_length={self.context_length})'
