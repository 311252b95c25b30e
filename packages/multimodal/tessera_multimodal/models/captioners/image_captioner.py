"""An autoregressive image captioner: grid visual encoder + causal transformer decoder.

The autoregressive baseline of Length-Controllable Image Captioning (LaBERT), arXiv:2007.09580,
https://github.com/bearcatt/LaBERT: teacher-forced cross-entropy on the next token, greedy or beam-search
decoding. Image -> :class:`VisualGridEncoder` tokens ``(B, N, dim)`` -> :class:`TransformerCaptionDecoder`.

Tokens: ``[CLS] pieces... [SEP] [PAD]...`` (:class:`WordPieceTokenizer`): ``[CLS]`` starts decoding, ``[SEP]``
ends it. Training: inputs ``ids[:, :-1]``, targets ``ids[:, 1:]``, ``[PAD]`` targets ignored.

Beam search (``beam_size`` K): the K best prefixes by summed log-probability; a finished beam (``[SEP]``)
only extends with ``[PAD]`` at zero cost; at the end the finished hypotheses are ranked by
``logp / ((5 + len) / 6) ** length_penalty`` (GNMT), ``len`` = generated tokens including ``[SEP]``.
``beam_size=1`` is exactly greedy decoding.

The tokenizer vocabulary is stored in the checkpoint (:class:`CheckpointVocabMixin`): loading a checkpoint
restores the vocabulary it was trained with.
"""
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel

from tessera_multimodal.models.tokenizers.checkpoint_vocab import CheckpointVocabMixin
from tessera_multimodal.models.tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from tessera_multimodal.registry import DATASETS, MODELS

DECODINGS = ('greedy', 'beam')


def _sample_get(sample, key, default=None):
    if isinstance(sample, dict):
        return sample.get(key, default)
    return sample.metainfo.get(key, default) if key in sample.metainfo_keys() else sample.get(key, default)


def dataset_captions(dataset: dict) -> List[str]:
    """All training captions of a dataset config (no pipeline run): ``gt_captions``/``captions``/``caption``."""
    cfg = dict(dataset)
    cfg['pipeline'] = []
    ds = DATASETS.build(cfg)
    texts = []
    for i in range(len(ds)):
        info = ds.get_data_info(i)
        caps = info.get('gt_captions') or info.get('captions') or info.get('caption')
        if isinstance(caps, dict):
            caps = list(caps.values())
        texts.extend([caps] if isinstance(caps, str) else list(caps))
    if not texts:
        raise ValueError(f'dataset {cfg.get("type")} has no captions to train a vocabulary on')
    return texts


def build_caption_tokenizer(cfg: Union[dict, WordPieceTokenizer]) -> WordPieceTokenizer:
    """A tokenizer from ``vocab_file=...``, ``vocab=[...]`` or ``train_dataset=dict(...)`` (+ ``vocab_size``,
    ``min_frequency``): a WordPiece vocabulary learned on that dataset's captions (deterministic)."""
    if isinstance(cfg, WordPieceTokenizer):
        return cfg
    cfg = dict(cfg)
    kind = cfg.pop('type', 'WordPieceTokenizer')
    if kind != 'WordPieceTokenizer':
        raise ValueError(f"tokenizer type {kind!r} is not supported here; valid: 'WordPieceTokenizer'")
    if 'vocab_file' in cfg:
        return WordPieceTokenizer.from_file(cfg['vocab_file'])
    if 'vocab' in cfg:
        return WordPieceTokenizer(cfg['vocab'])
    if 'train_dataset' in cfg:
        return WordPieceTokenizer.train(dataset_captions(cfg['train_dataset']), vocab_size=cfg.get('vocab_size', 1000),
                                        min_frequency=cfg.get('min_frequency', 1))
    raise KeyError(f"tokenizer needs one of 'vocab_file', 'vocab', 'train_dataset'; got keys {sorted(cfg)}")


@MODELS.register_module()
class ImageCaptioner(CheckpointVocabMixin, BaseModel):
    """Args:
        visual_encoder (dict): :class:`VisualGridEncoder` config (its ``out_dim`` = the decoder ``dim``).
        decoder (dict): :class:`TransformerCaptionDecoder` config without ``vocab_size``/``pad_id`` (from the tokenizer).
        tokenizer (dict): see :func:`build_caption_tokenizer`.
        max_length (int): Tokens per training caption and per decoded caption, specials included.
        truncate (bool): Cut longer training captions instead of raising.
        label_smoothing (float): Of the cross-entropy.
        decoding (dict): ``type`` ``'greedy'``/``'beam'``, ``beam_size``, ``length_penalty``.
        data_preprocessor (dict, optional): Defaults to ``ClsDataPreprocessor``.
    """

    def __init__(self, visual_encoder: dict, decoder: dict, tokenizer: dict, max_length: int = 32,
                 truncate: bool = False, label_smoothing: float = 0.0, decoding: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.tokenizer = build_caption_tokenizer(tokenizer)
        self.visual_encoder = MODELS.build(visual_encoder)
        dec = dict(decoder)
        dec.setdefault('type', 'TransformerCaptionDecoder')
        dec.update(vocab_size=self.tokenizer.vocab_size, pad_id=self.tokenizer.pad_id)
        dec.setdefault('max_length', max_length)
        self.decoder = MODELS.build(dec)
        if self.decoder.max_length < max_length:
            raise ValueError(f'decoder max_length={self.decoder.max_length} < captioner max_length={max_length}')
        self.max_length, self.truncate, self.label_smoothing = max_length, truncate, label_smoothing
        self.decoding = dict(type='greedy', beam_size=3, length_penalty=0.0)
        self.decoding.update(decoding or {})
        if self.decoding['type'] not in DECODINGS:
            raise ValueError(f"decoding type {self.decoding['type']!r} is not one of {DECODINGS}")
        self.register_vocab(self.tokenizer)

    # ------------------------------------------------------------ checkpoint vocabulary
    def use_checkpoint_tokenizer(self, tokenizer: WordPieceTokenizer) -> None:
        tokenizer.check_matches_embedding(self.decoder.token_embed.num_embeddings, 'this model (decoder.token_embed)')
        self.tokenizer = tokenizer

    # ------------------------------------------------------------ forward
    def encode_images(self, inputs: torch.Tensor) -> torch.Tensor:
        """``(B, C, H, W)`` -> ``(B, N, dim)``."""
        return self.visual_encoder(inputs.float())

    def forward(self, inputs: torch.Tensor, data_samples=None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.encode_images(inputs)
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")

    def target_ids(self, data_samples) -> torch.Tensor:
        caps = [_sample_get(s, 'caption') for s in data_samples]
        if any(not isinstance(c, str) for c in caps):
            raise KeyError("every training data sample needs a 'caption' (str) in its metainfo")
        return self.tokenizer.encode_batch(caps, self.max_length, truncate=self.truncate)

    def loss(self, inputs: torch.Tensor, data_samples) -> dict:
        ids = self.target_ids(data_samples).to(inputs.device)
        logits = self.decoder(ids[:, :-1], self.encode_images(inputs))
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1),
                               ignore_index=self.tokenizer.pad_id, label_smoothing=self.label_smoothing)
        return dict(loss=loss)

    @torch.no_grad()
    def greedy(self, memory: torch.Tensor, max_length: Optional[int] = None) -> torch.Tensor:
        """``(B, N, dim)`` -> ids ``(B, L <= max_length)`` starting with ``[CLS]``, ``[PAD]`` after ``[SEP]``."""
        max_length = max_length or self.max_length
        tok = self.tokenizer
        seqs = torch.full((memory.shape[0], 1), tok.cls_id, dtype=torch.long, device=memory.device)
        done = torch.zeros(memory.shape[0], dtype=torch.bool, device=memory.device)
        for _ in range(max_length - 1):
            nxt = self.decoder(seqs, memory)[:, -1].argmax(-1)
            nxt = torch.where(done, torch.full_like(nxt, tok.pad_id), nxt)
            seqs = torch.cat([seqs, nxt[:, None]], 1)
            done |= nxt == tok.sep_id
            if done.all():
                break
        return seqs

    @torch.no_grad()
    def beam(self, memory: torch.Tensor, beam_size: int = 3, length_penalty: float = 0.0,
             max_length: Optional[int] = None) -> torch.Tensor:
        """Beam search, ``(B, N, dim)`` -> best ids ``(B, L)`` (see the module docstring)."""
        max_length = max_length or self.max_length
        tok, k = self.tokenizer, int(beam_size)
        if k < 1:
            raise ValueError(f'beam_size must be >= 1, got {beam_size}')
        b, dev = memory.shape[0], memory.device
        mem = memory.repeat_interleave(k, 0)
        seqs = torch.full((b * k, 1), tok.cls_id, dtype=torch.long, device=dev)
        scores = torch.full((b, k), float('-inf'), device=dev)
        scores[:, 0] = 0.0
        done = torch.zeros(b * k, dtype=torch.bool, device=dev)
        for _ in range(max_length - 1):
            logp = F.log_softmax(self.decoder(seqs, mem)[:, -1].float(), -1)  # (B*K, V)
            v = logp.shape[-1]
            pad_only = torch.full_like(logp, float('-inf'))
            pad_only[:, tok.pad_id] = 0.0
            logp = torch.where(done[:, None], pad_only, logp)
            cand = (scores.reshape(-1, 1) + logp).reshape(b, k * v)
            top = cand.topk(k, dim=1)
            src = top.indices // v
            nxt = top.indices % v
            rows = (torch.arange(b, device=dev)[:, None] * k + src).reshape(-1)
            seqs = torch.cat([seqs[rows], nxt.reshape(-1, 1)], 1)
            done = done[rows] | (nxt.reshape(-1) == tok.sep_id)
            scores = top.values
            if done.all():
                break
        lengths = ((seqs[:, 1:] != tok.pad_id).sum(1)).float().reshape(b, k)
        ranked = scores / ((5.0 + lengths) / 6.0) ** length_penalty if length_penalty else scores
        best = ranked.argmax(1)
        return seqs.reshape(b, k, -1)[torch.arange(b, device=dev), best]

    def generate(self, inputs: torch.Tensor, decoding: Optional[dict] = None) -> torch.Tensor:
        cfg = dict(self.decoding)
        cfg.update(decoding or {})
        memory = self.encode_images(inputs)
        if cfg['type'] == 'greedy':
            return self.greedy(memory, cfg.get('max_length'))
        if cfg['type'] == 'beam':
            return self.beam(memory, cfg['beam_size'], cfg['length_penalty'], cfg.get('max_length'))
        raise ValueError(f"decoding type {cfg['type']!r} is not one of {DECODINGS}")

    def predict(self, inputs: torch.Tensor, data_samples=None) -> list:
        ids = self.generate(inputs)
        caps = self.tokenizer.decode_batch(ids.cpu())
        if data_samples is None:
            from mmengine.structures import BaseDataElement
            data_samples = [BaseDataElement() for _ in caps]
        for s, c, row in zip(data_samples, caps, ids.cpu()):
            s.set_field(c, 'pred_caption', field_type='metainfo')
            s.set_field(row, 'pred_ids', field_type='data')
        return data_samples
