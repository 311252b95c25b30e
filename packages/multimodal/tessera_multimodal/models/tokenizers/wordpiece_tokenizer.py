"""A WordPiece subword tokenizer trained on the captions (BERT's vocabulary scheme).

BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding, arXiv:1810.04805
(official code: https://github.com/google-research/bert); LaBERT (Length-Controllable Image Captioning, arXiv:2007.09580,
https://github.com/bearcatt/LaBERT) uses BERT's uncased WordPiece vocabulary. Here the vocabulary is
trained on the dataset's own captions (no download) by the trainer's algorithm with deterministic ties
(:meth:`WordPieceTokenizer.train`), encoded by the ``tokenizers`` library's ``WordPiece`` model, and kept as a plain list of strings so it can be written as ``vocab.txt`` and stored inside checkpoints.

Normalisation and splitting are BERT's (lower-case, accents stripped, split on whitespace and punctuation);
word continuation pieces carry the ``##`` prefix. Ids: ``[PAD]=0, [UNK]=1, [CLS]=2, [SEP]=3, [MASK]=4``,
then the learned pieces.

Shapes: :meth:`encode_batch` returns a LongTensor ``(B, length)``: ``[CLS] ids... [SEP] [PAD]...``.
"""
import os
import os.path as osp
from typing import Iterable, List, Optional, Sequence, Union

import torch

from tessera_multimodal.registry import TOKENIZERS

SPECIALS = ('[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]')


def _backend(vocab: Sequence[str]):
    from tokenizers import Tokenizer, models, normalizers, pre_tokenizers
    tok = Tokenizer(models.WordPiece({t: i for i, t in enumerate(vocab)}, unk_token='[UNK]',
                                     max_input_chars_per_word=100))
    tok.normalizer = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True,
                                                strip_accents=True, lowercase=True)
    tok.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    return tok


@TOKENIZERS.register_module()
class WordPieceTokenizer:
    """Args:
        vocab (list[str]): The tokens; the first five must be the specials
            ``[PAD] [UNK] [CLS] [SEP] [MASK]`` in that order.
        source (str, optional): Where the vocabulary came from (a file), used in error messages.

    Example:
        >>> tok = WordPieceTokenizer.train(['a red apple', 'a penguin'], vocab_size=60)
        >>> tok.decode(tok.encode('A red apple.'))
        'a red apple .'
    """
    SPECIALS = SPECIALS

    def __init__(self, vocab: Sequence[str], source: Optional[str] = None):
        if isinstance(vocab, str):
            raise TypeError('vocab must be a list of tokens, not one string (use WordPieceTokenizer.from_file)')
        vocab = [str(t) for t in vocab]
        where = f' ({source})' if source else ''
        if tuple(vocab[:len(SPECIALS)]) != SPECIALS:
            raise ValueError(f'the vocabulary{where} must start with the specials {list(SPECIALS)}, '
                             f'got {vocab[:len(SPECIALS)]}')
        seen, dup = set(), []
        for t in vocab:
            if t in seen:
                dup.append(t)
            seen.add(t)
        if dup:
            raise ValueError(f'duplicate tokens in the vocabulary{where}: {sorted(set(dup))[:10]}')
        if any(not t or t != t.strip() for t in vocab):
            raise ValueError(f'empty or whitespace-padded token in the vocabulary{where}')
        self.vocab: List[str] = vocab
        self.source = source
        self.stoi = {t: i for i, t in enumerate(vocab)}
        self.pad_id, self.unk_id, self.cls_id, self.sep_id, self.mask_id = range(len(SPECIALS))
        self._tok = _backend(vocab)

    # ------------------------------------------------------------ building
    @classmethod
    def train(cls, texts: Iterable[str], vocab_size: int = 1000, min_frequency: int = 1) -> 'WordPieceTokenizer':
        """Learn a WordPiece vocabulary of at most ``vocab_size`` tokens (specials included) from ``texts``.

        The words come from the ``tokenizers`` library's BERT normaliser and pre-tokeniser; the vocabulary
        is learned as the ``tokenizers`` ``WordPieceTrainer`` does (it is a BPE trainer with the ``##``
        continuation prefix): start from every character (word-initial ``c`` and continuation ``##c``), then
        repeatedly add the most frequent adjacent pair (counted over word frequencies, pairs seen fewer than
        ``min_frequency`` times never merged). Deviation: the library's trainer breaks frequency ties in
        hash-map order, so its vocabulary changes from run to run; here ties go to the lexicographically
        smallest pair, so the same texts (in any order) always give the same vocabulary.
        """
        norm_tok = _backend(SPECIALS)
        counts: dict = {}
        n_texts = 0
        for text in texts:
            n_texts += 1
            normed = norm_tok.normalizer.normalize_str(str(text))
            for word, _ in norm_tok.pre_tokenizer.pre_tokenize_str(normed):
                counts[word] = counts.get(word, 0) + 1
        if not n_texts:
            raise ValueError('WordPieceTokenizer.train needs at least one text')
        if vocab_size <= len(SPECIALS):
            raise ValueError(f'vocab_size must exceed the {len(SPECIALS)} specials, got {vocab_size}')
        words = sorted(counts)
        splits = {w: [w[0]] + ['##' + c for c in w[1:]] for w in words}
        alphabet = sorted({p for w in words for p in splits[w]})
        vocab = list(SPECIALS) + alphabet[:vocab_size - len(SPECIALS)]
        known = set(vocab)
        while len(vocab) < vocab_size:
            pairs: dict = {}
            for w in words:
                sp = splits[w]
                for a, b in zip(sp, sp[1:]):
                    pairs[(a, b)] = pairs.get((a, b), 0) + counts[w]
            best = None
            for pair, n in pairs.items():
                if n >= min_frequency and (best is None or (-n, pair) < (-best[1], best[0])):
                    best = (pair, n)
            if best is None:
                break
            a, b = best[0]
            merged = a + b[2:]
            for w in words:
                sp = splits[w]
                if len(sp) < 2:
                    continue
                out, i = [], 0
                while i < len(sp):
                    if i + 1 < len(sp) and sp[i] == a and sp[i + 1] == b:
                        out.append(merged)
                        i += 2
                    else:
                        out.append(sp[i])
                        i += 1
                splits[w] = out
            if merged not in known:
                known.add(merged)
                vocab.append(merged)
        return cls(vocab)

    @classmethod
    def from_file(cls, path: str) -> 'WordPieceTokenizer':
        """Read a ``vocab.txt`` (one token per line, BERT's format)."""
        if not osp.isfile(path):
            raise FileNotFoundError(f'vocabulary file {path!r} does not exist')
        with open(path, encoding='utf-8') as f:
            vocab = [line.rstrip('\n') for line in f]
        while vocab and vocab[-1] == '':
            vocab.pop()
        return cls(vocab, source=path)

    def save(self, path: str) -> str:
        """Write ``vocab.txt`` (one token per line); returns ``path``."""
        d = osp.dirname(path)
        if d:
            os.makedirs(d, exist_ok=True)
        with open(path, 'w', encoding='utf-8') as f:
            f.write('\n'.join(self.vocab) + '\n')
        return path

    def state_dict(self) -> dict:
        """Plain ``{'vocab': [str, ...]}``: safe to store in a checkpoint's ``meta``."""
        return {'vocab': list(self.vocab)}

    @classmethod
    def from_state_dict(cls, state: dict, source: Optional[str] = None) -> 'WordPieceTokenizer':
        if not isinstance(state, dict) or 'vocab' not in state:
            raise KeyError(f"a tokenizer state must be a dict with key 'vocab', got "
                           f"{type(state).__name__} with keys {sorted(state) if isinstance(state, dict) else '-'}")
        return cls(state['vocab'], source=source)

    # ------------------------------------------------------------ use
    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def check_matches_embedding(self, num_embeddings: int, source: Optional[str] = None) -> None:
        """Raise when this vocabulary's size differs from an embedding table's ``num_embeddings``."""
        if int(num_embeddings) != self.vocab_size:
            raise ValueError(f'vocabulary {self.source or "(in memory)"} has {self.vocab_size} tokens but the '
                             f'embedding of {source or "the model"} has {int(num_embeddings)} rows: the vocabulary '
                             'file does not match the checkpoint')

    def tokenize(self, text: str) -> List[str]:
        if not isinstance(text, str):
            raise TypeError(f'text must be a str, got {type(text).__name__}')
        return self._tok.encode(text, add_special_tokens=False).tokens

    def encode(self, text: str) -> List[int]:
        """``text`` -> piece ids (no specials, no padding); unseen pieces map to ``[UNK]``."""
        if not isinstance(text, str):
            raise TypeError(f'text must be a str, got {type(text).__name__}')
        return list(self._tok.encode(text, add_special_tokens=False).ids)

    def encode_batch(self, texts: Union[str, Sequence[str]], length: int, add_special: bool = True,
                     truncate: bool = False) -> torch.Tensor:
        """Texts -> LongTensor ``(B, length)``: ``[CLS] ids [SEP]`` (``add_special``) then ``[PAD]``.

        A text longer than ``length`` is an error unless ``truncate=True`` (then the ids are cut and
        ``[SEP]`` still ends the row).
        """
        if isinstance(texts, str):
            texts = [texts]
        extra = 2 if add_special else 0
        if length < extra + 1:
            raise ValueError(f'length must be >= {extra + 1}, got {length}')
        out = torch.full((len(texts), length), self.pad_id, dtype=torch.long)
        for row, text in enumerate(texts):
            ids = self.encode(text)
            if len(ids) + extra > length:
                if not truncate:
                    raise ValueError(f'{text!r} is {len(ids)} pieces, {len(ids) + extra} tokens with '
                                     f'[CLS]/[SEP]: more than length={length} (pass truncate=True to cut)')
                ids = ids[:length - extra]
            if add_special:
                ids = [self.cls_id] + ids + [self.sep_id]
            out[row, :len(ids)] = torch.tensor(ids, dtype=torch.long)
        return out

    def decode(self, ids: Union[Sequence[int], torch.Tensor]) -> str:
        """Ids -> text: stops at ``[SEP]``, drops ``[PAD]/[CLS]/[MASK]``, merges ``##`` pieces into words."""
        if isinstance(ids, torch.Tensor):
            ids = ids.tolist()
        words: List[str] = []
        for i in ids:
            i = int(i)
            if not 0 <= i < self.vocab_size:
                raise ValueError(f'token id {i} out of range [0, {self.vocab_size})')
            if i == self.sep_id:
                break
            if i in (self.pad_id, self.cls_id, self.mask_id):
                continue
            tok = self.vocab[i]
            if tok.startswith('##') and words:
                words[-1] += tok[2:]
            else:
                words.append(tok)
        return ' '.join(words)

    def decode_batch(self, ids: torch.Tensor) -> List[str]:
        return [self.decode(row) for row in ids]

    def __repr__(self) -> str:
        return f'{type(self).__name__}(vocab_size={self.vocab_size})'
