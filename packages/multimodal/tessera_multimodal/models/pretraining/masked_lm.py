"""BERT: Pre-training of Deep Bidirectional Transformers for Language Understanding,
Devlin et al., NAACL 2019, arXiv:1810.04805. Official repository: https://github.com/google-research/bert
(``create_pretraining_data.py``, ``run_pretraining.py``).

Masked-language-model pretraining of :class:`BertEncoder` on captions (BERT Section 3.1,
Task #1): choose ``mask_prob`` (15 %) of the non-special positions; of those, 80 % become
[MASK], 10 % a uniformly random token, 10 % stay unchanged; cross-entropy on the chosen
positions only. LaBERT (arXiv:2007.09580) initialises its decoder from a pretrained BERT;
here the checkpoint of this model can be loaded into LaBERT's ``bert`` and ``lm_head``.

Shapes: ids (B, L) long -> logits (B, L, V); labels (B, L) with ``-100`` on unchosen positions.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from tessera_multimodal.registry import MODELS

from ..text_encoders.bert_encoder import BertEncoder, BertLMHead
from ..tokenizers.checkpoint_vocab import CheckpointVocabMixin
from ..tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from .token_ids import TokenIds

IGNORE = -100


def mlm_mask(ids: torch.Tensor, candidates: torch.Tensor, mask_id: int, vocab_size: int,
             mask_prob: float = 0.15, generator: Optional[torch.Generator] = None,
             random_ids: Optional[Tuple[int, int]] = None) -> Tuple[torch.Tensor, torch.Tensor]:
    """BERT's masking rule.

    Per sequence, ``max(1, round(mask_prob * n))`` of its ``n`` candidate positions are
    chosen uniformly (BERT's ``create_pretraining_data.py`` also rounds per sequence);
    80 % of the chosen -> ``mask_id``, 10 % -> a random id in ``random_ids`` (default
    ``[0, vocab_size)``), 10 % unchanged.

    Args:
        ids: (B, L) token ids.
        candidates: (B, L) bool, positions that may be chosen (not padding/specials).
    Returns:
        ``(inputs, labels)``: corrupted ids (B, L) and labels (B, L) equal to ``ids`` on
        chosen positions and ``-100`` elsewhere.
    """
    B, L = ids.shape
    score = torch.rand(B, L, generator=generator, device=ids.device)
    score = score.masked_fill(~candidates, 2.0)
    n = candidates.sum(1)
    k = torch.clamp((n.float() * mask_prob).round().long(), min=1)
    k = torch.minimum(k, n)
    rank = score.argsort(1).argsort(1)
    chosen = (rank < k.unsqueeze(1)) & candidates
    labels = ids.masked_fill(~chosen, IGNORE)
    u = torch.rand(B, L, generator=generator, device=ids.device)
    lo, hi = random_ids if random_ids is not None else (0, vocab_size)
    rnd = torch.randint(lo, hi, (B, L), generator=generator, device=ids.device)
    inputs = ids.clone()
    inputs[chosen & (u < 0.8)] = mask_id
    swap = chosen & (u >= 0.8) & (u < 0.9)
    inputs[swap] = rnd[swap]
    return inputs, labels


@MODELS.register_module()
class MaskedLanguageModel(CheckpointVocabMixin, BaseModel):
    """BERT encoder + tied LM head trained with the masked-LM objective on captions.

    Args:
        tokenizer (dict): Tokenizer config (``TOKENIZERS``), wrapped by :class:`TokenIds`.
        encoder (dict): :class:`BertEncoder` keyword arguments (``vocab_size`` and
            ``pad_id`` are filled from the tokenizer).
        max_length (int): Captions are cut/padded to this many word tokens.
        mask_prob (float): Share of candidate positions chosen. BERT: 0.15.
        data_preprocessor (dict, optional): Passed to ``BaseModel`` (images are ignored).

    Data samples carry the caption in ``caption`` (a meta key).
    """

    def __init__(self, tokenizer: dict, encoder: dict, max_length: int = 16, mask_prob: float = 0.15,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.ids = TokenIds(tokenizer)
        self.max_length, self.mask_prob = max_length, mask_prob
        self.bert = BertEncoder(vocab_size=self.ids.num_embeddings, pad_id=self.ids.pad_id, **encoder)
        if isinstance(self.ids.tokenizer, WordPieceTokenizer):  # a learned vocabulary: kept in checkpoints
            self.register_vocab(self.ids.tokenizer)
        self.lm_head = BertLMHead(self.bert.word_embeddings)

    def use_checkpoint_tokenizer(self, tokenizer: WordPieceTokenizer) -> None:
        tokenizer.check_matches_embedding(self.bert.word_embeddings.num_embeddings, 'this model (bert.word_embeddings)')
        self.ids = TokenIds(tokenizer)

    def encode_captions(self, captions) -> torch.Tensor:
        """Captions -> (B, max_length) word ids padded with [PAD]."""
        out = torch.full((len(captions), self.max_length), self.ids.pad_id, dtype=torch.long)
        for i, c in enumerate(captions):
            w = self.ids.words(c)[:self.max_length]
            out[i, :len(w)] = torch.tensor(w, dtype=torch.long)
        return out.to(self.bert.word_embeddings.weight.device)

    def logits(self, ids: torch.Tensor) -> torch.Tensor:
        return self.lm_head(self.bert(ids))

    def _masked(self, ids):
        cand = torch.ones_like(ids, dtype=torch.bool)
        for s in self.ids.special_ids:
            cand &= ids != s
        return mlm_mask(ids, cand, self.ids.mask_id, self.ids.num_embeddings, self.mask_prob)

    def mlm_loss(self, logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy over positions whose label is not ``-100``."""
        return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=IGNORE)

    def forward(self, inputs=None, data_samples=None, mode: str = 'tensor'):
        captions = [s.get('caption') for s in data_samples]
        ids = self.encode_captions(captions)
        inp, labels = self._masked(ids)
        logits = self.logits(inp)
        if mode == 'loss':
            return dict(loss_mlm=self.mlm_loss(logits, labels))
        if mode == 'predict':
            hit = (logits.argmax(-1) == labels) & (labels != IGNORE)
            for i, s in enumerate(data_samples):
                s.set_metainfo(dict(mlm_correct=int(hit[i].sum()), mlm_total=int((labels[i] != IGNORE).sum())))
            return data_samples
        return logits
