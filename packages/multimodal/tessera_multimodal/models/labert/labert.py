"""Length-Controllable Image Captioning (LaBERT), Deng et al., ECCV 2020, arXiv:2007.09580.
Official repository: https://github.com/bearcatt/LaBERT (``modeling.py``, ``dataset.py``,
``train.py``, ``inference.py``).

A non-autoregressive BERT decoder over ``[image tokens ; caption tokens]``:

* image tokens: the backbone's last feature map (B, C, h, w) flattened to (B, h*w, C),
  embedded by ``Linear-ReLU-Linear`` (official ``region_embed``) plus a learned grid
  position embedding (official: an MLP of box + class features of detector regions),
  token type ``K + 1``;
* caption tokens: word + position + token type = the caption's **length level** k in
  1..K (the length embedding is the type embedding, as the official code);
* training (official ``dataset.py``/``train.py``): a caption of ``n`` tokens in level ``k``
  is padded with [EOS] to ``high_k``; ``m ~ U{max(1, int(0.1 high_k)), .., high_k}``
  positions are replaced by [MASK]; loss = label-smoothed (0.1) cross-entropy on the
  masked positions with the [EOS] target weighted 0.5 (weighted mean);
* inference: for the requested level, :func:`mask_predict` at exactly ``high_k`` positions
  with the level's number of steps; the caption is the text before the first [EOS].

Shapes: inputs (B, C, H, W) -> logits (B, high_k, V).
"""
from typing import Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from tessera_multimodal.registry import MODELS

from ..pretraining.token_ids import TokenIds
from ..tokenizers.checkpoint_vocab import CheckpointVocabMixin
from ..tokenizers.wordpiece_tokenizer import WordPieceTokenizer
from ..text_encoders.bert_encoder import BertEncoder, BertLMHead
from .length_levels import LengthLevels
from .mask_predict import mask_predict


def label_smoothed_loss(logits: torch.Tensor, target: torch.Tensor, smoothing: float = 0.1,
                        weight: Optional[torch.Tensor] = None) -> torch.Tensor:
    """Official ``LabelSmoothingLoss``: target prob ``1 - s``, others ``s / (V - 1)``,
    per-target class weight, ``sum(w_i l_i) / sum(w_i)``. logits (N, V), target (N,)."""
    V = logits.size(-1)
    logp = logits.log_softmax(-1)
    true = torch.full_like(logp, smoothing / (V - 1)).scatter_(1, target.unsqueeze(1), 1.0 - smoothing)
    loss = -(true * logp).sum(-1)
    w = torch.ones_like(loss) if weight is None else weight[target]
    return (loss * w).sum() / w.sum()


@MODELS.register_module()
class LaBERT(CheckpointVocabMixin, BaseModel):
    """Length-level-conditioned non-autoregressive captioner.

    Args:
        image_backbone (dict): Backbone returning a tuple of maps; the last is used.
        tokenizer (dict): Tokenizer config, wrapped by :class:`TokenIds`.
        bert (dict): :class:`BertEncoder` kwargs (sizes); vocab/type sizes are filled.
        length_bins (str | list): :class:`LengthLevels` bins. Official: ``'coco'``.
        steps (int | list): mask-predict passes per level. Official: (10, 15, 20, 20).
        eos_decay (float | list): per-level [EOS] penalty. Official: (1.0, 0.88, 0.95, 1.0).
        grid_size (int): Maximum number of image tokens (grid position embeddings).
        label_smoothing (float): Official 0.1.
        eos_weight (float): Loss weight of [EOS] targets. Official 0.5.
        min_mask_ratio (float): Lower end of the masked share. Official 0.1.
        test_levels (list, optional): levels generated at predict time (default all).
        skip_out_of_bins (bool): drop training captions whose length is in no bin (the official
            dataset drops captions longer than the last bin); False raises on them.
        init_bert (str, optional): a :class:`MaskedLanguageModel` checkpoint whose
            ``bert.*``/``lm_head.*`` initialise this model (core's safe loader).
    """

    def __init__(self, image_backbone: dict, tokenizer: dict, bert: dict, length_bins='digits',
                 steps: Union[int, Sequence[int]] = 10, eos_decay: Union[float, Sequence[float]] = 1.0,
                 grid_size: int = 64, label_smoothing: float = 0.1, eos_weight: float = 0.5,
                 min_mask_ratio: float = 0.1, test_levels: Optional[Sequence[int]] = None,
                 init_bert: Optional[str] = None, skip_out_of_bins: bool = False, data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.levels = LengthLevels(length_bins)
        K = len(self.levels)
        self.steps = self._per_level(steps, 'steps', int)
        self.eos_decay = self._per_level(eos_decay, 'eos_decay', float)
        self.ids = TokenIds(tokenizer)
        self.backbone = MODELS.build(image_backbone)
        self.bert = BertEncoder(vocab_size=self.ids.num_embeddings, pad_id=self.ids.pad_id,
                                type_vocab_size=K + 2, max_position=max(self.levels.max_length,
                                                                        bert.pop('max_position', 0)), **bert)
        if isinstance(self.ids.tokenizer, WordPieceTokenizer):  # a learned vocabulary: kept in checkpoints
            self.register_vocab(self.ids.tokenizer)
        D = self.bert.hidden_size
        feat = self._infer_channels(self.backbone, image_backbone.get('in_channels', 3))
        self.region_embed = nn.Sequential(nn.Linear(feat, feat), nn.ReLU(inplace=True), nn.Linear(feat, D))
        self.grid_pos = nn.Parameter(torch.zeros(grid_size, D))
        nn.init.normal_(self.grid_pos, std=0.02)
        self.lm_head = BertLMHead(self.bert.word_embeddings)
        self.label_smoothing, self.min_mask_ratio = label_smoothing, min_mask_ratio
        self.skip_out_of_bins = skip_out_of_bins
        w = torch.ones(self.ids.num_embeddings)
        w[self.ids.eos_id] = eos_weight
        self.register_buffer('class_weight', w, persistent=False)
        self.test_levels = list(test_levels) if test_levels is not None else list(range(1, K + 1))
        for lv in self.test_levels:
            self.levels.check(lv)
        if init_bert is not None:
            self.load_bert(init_bert)

    def use_checkpoint_tokenizer(self, tokenizer: WordPieceTokenizer) -> None:
        tokenizer.check_matches_embedding(self.bert.word_embeddings.num_embeddings, 'this model (bert.word_embeddings)')
        self.ids = TokenIds(tokenizer)

    def _per_level(self, v, name, cast):
        K = len(self.levels)
        if isinstance(v, (int, float)):
            return [cast(v)] * K
        v = [cast(x) for x in v]
        if len(v) != K:
            raise ValueError(f'{name} has {len(v)} entries but there are {K} length levels ({self.levels.valid()})')
        return v

    @staticmethod
    def _infer_channels(backbone: nn.Module, c: int) -> int:
        was = backbone.training
        backbone.eval()
        with torch.no_grad():
            out = backbone(torch.zeros(1, c, 32, 32))
        backbone.train(was)
        return out[-1].shape[1]

    def load_bert(self, path: str) -> None:
        """Initialise ``bert`` / ``lm_head`` from a :class:`MaskedLanguageModel` checkpoint."""
        from tessera_core.engine import safe_load  # noqa: PLC0415
        ckpt = safe_load(path, map_location="cpu")
        state = ckpt.get('state_dict', ckpt)
        sub = {k: v for k, v in state.items() if k.startswith(('bert.', 'lm_head.'))
               and not k.startswith('bert.token_type_embeddings')}
        if not sub:
            raise KeyError(f'{path} holds no bert.* / lm_head.* weights (a MaskedLanguageModel checkpoint)')
        emb = sub.get('bert.word_embeddings.weight')
        if emb is not None and emb.shape[0] != self.ids.num_embeddings:
            raise ValueError(f'{path}: word embedding has {emb.shape[0]} rows but the tokenizer gives '
                             f'{self.ids.num_embeddings} ids; use the vocabulary the checkpoint was trained with')
        own = self.state_dict()
        own.update(sub)
        self.load_state_dict(own)

    # ---------------------------------------------------------------- parts
    def image_tokens(self, inputs: torch.Tensor) -> torch.Tensor:
        """(B, C, H, W) -> (B, N, D) embedded grid features."""
        fmap = self.backbone(inputs)[-1]
        grid = fmap.flatten(2).transpose(1, 2)
        if grid.size(1) > self.grid_pos.size(0):
            raise ValueError(f'the backbone gives {grid.size(1)} grid cells but grid_size={self.grid_pos.size(0)}')
        return self.region_embed(grid) + self.grid_pos[:grid.size(1)]

    def logits(self, image: torch.Tensor, ids: torch.Tensor, level: Union[int, torch.Tensor]) -> torch.Tensor:
        """image tokens (B, N, D), caption ids (B, L), level(s) -> logits (B, L, V)."""
        B, L = ids.shape
        types = (torch.full_like(ids, level) if isinstance(level, int)
                 else level.view(B, 1).expand(B, L).to(ids))
        keep = ids != self.ids.pad_id
        h = self.bert(ids, types, attention_mask=keep, prefix=image, prefix_type=len(self.levels) + 1)
        return self.lm_head(h[:, image.size(1):])

    def encode_targets(self, captions: Sequence[str]):
        """Captions -> (targets (B, Lmax) padded with [EOS] to their level's high then [PAD],
        levels (B,))."""
        rows, levels = [], []
        for c in captions:
            w = self.ids.words(c)
            k = self.levels.level_of(len(w))
            if k == 0:
                raise ValueError(f'caption {c!r} has {len(w)} tokens, in none of the length bins '
                                 f'{self.levels.valid()}; widen length_bins')
            hi = self.levels.bins[k - 1][1]
            rows.append(w + [self.ids.eos_id] * (hi - len(w)))
            levels.append(k)
        Lmax = max(len(r) for r in rows)
        t = torch.full((len(rows), Lmax), self.ids.pad_id, dtype=torch.long)
        for i, r in enumerate(rows):
            t[i, :len(r)] = torch.tensor(r)
        dev = self.grid_pos.device
        return t.to(dev), torch.tensor(levels, device=dev)

    def random_masks(self, targets: torch.Tensor, generator=None) -> torch.Tensor:
        """(B, L) bool: per caption ``m ~ U{max(1, int(r*high)), .., high}`` positions of its
        ``high`` (non-pad) positions, chosen uniformly (official ``dataset.py``)."""
        valid = targets != self.ids.pad_id
        high = valid.sum(1)
        lo = torch.clamp((high.float() * self.min_mask_ratio).long(), min=1)
        u = torch.rand(high.shape, generator=generator, device=targets.device)
        m = lo + (u * (high - lo + 1).float()).long().clamp(max=(high - lo))
        score = torch.rand(targets.shape, generator=generator, device=targets.device).masked_fill(~valid, 2.0)
        rank = score.argsort(1).argsort(1)
        return (rank < m.unsqueeze(1)) & valid

    def _captions_for_training(self, data_samples):
        """One caption per sample (uniform over ``captions`` if given, else ``caption``);
        returns the captions and the indices of the samples they belong to."""
        out, keep = [], []
        for i, s in enumerate(data_samples):
            caps = s.get('captions')
            if isinstance(caps, dict) and caps:
                caps = [caps[k] for k in sorted(caps)]
            elif s.get('caption') is not None:
                caps = [s.get('caption')]
            else:
                raise KeyError(f"data sample {i} has no 'caption' / 'captions'; pack them as meta keys")
            if self.skip_out_of_bins:
                caps = [c for c in caps if self.levels.level_of(len(self.ids.words(c)))]
                if not caps:
                    continue
            out.append(caps[int(torch.randint(len(caps), ()).item())])
            keep.append(i)
        return out, keep

    # ---------------------------------------------------------------- modes
    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        captions, keep = self._captions_for_training(data_samples)
        if not captions:
            return dict(loss_mlm=sum(p.sum() for p in self.parameters()) * 0.0)
        targets, levels = self.encode_targets(captions)
        masked = self.random_masks(targets)
        ids = targets.masked_fill(masked, self.ids.mask_id)
        logits = self.logits(self.image_tokens(inputs[keep]), ids, levels)
        loss = label_smoothed_loss(logits[masked], targets[masked], self.label_smoothing, self.class_weight)
        return dict(loss_mlm=loss)

    @torch.no_grad()
    def generate(self, inputs: torch.Tensor, level: int, image: Optional[torch.Tensor] = None,
                 history=None) -> torch.Tensor:
        """Mask-predict at level ``level``: ids (B, high_level)."""
        lo, hi = self.levels.check(level)
        image = self.image_tokens(inputs) if image is None else image
        return mask_predict(lambda ids: self.logits(image, ids, level).softmax(-1), image.size(0), hi,
                            self.steps[level - 1], self.ids.mask_id, device=image.device,
                            eos_id=self.ids.eos_id, eos_from=lo - 1, eos_decay=self.eos_decay[level - 1],
                            history=history)

    def predict(self, inputs: torch.Tensor, data_samples: Optional[list] = None, levels=None) -> list:
        from mmengine.structures import BaseDataElement  # noqa: PLC0415
        levels = self.test_levels if levels is None else list(levels)
        image = self.image_tokens(inputs)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(inputs.size(0))]
        per_level = {lv: self.generate(inputs, lv, image=image) for lv in levels}
        for i, s in enumerate(data_samples):
            caps = {lv: self.ids.decode(per_level[lv][i]) for lv in levels}
            gts = s.get('captions')
            gts = list(gts.values()) if isinstance(gts, dict) else [s.get('caption')]
            s.set_metainfo(dict(pred_captions=caps, pred_caption=caps[levels[-1]],
                                gt_captions=[g for g in gts if g is not None]))
        return data_samples

    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self.generate(inputs, self.test_levels[-1])
        raise RuntimeError(f'invalid mode {mode!r}; valid: loss, predict, tensor')
