"""Learning Transferable Visual Models From Natural Language Supervision (CLIP),
Radford et al., ICML 2021, arXiv:2103.00020.
Official repository: https://github.com/openai/CLIP (``clip/model.py``).

Contrastive language-image pre-training (Section 2.3, Figure 3):

* image encoder = a backbone (here tessera-core's ``ResNet``), global average
  pooling of its last stage and a linear projection without bias (CLIP's
  ResNets use attention pooling; the projection into the joint space is the
  same);
* text encoder = :class:`~tessera_multimodal.models.CLIPTextTransformer`;
* both embeddings L2-normalised; cosine similarities times a learnable
  temperature ``exp(t)``, ``t`` initialised to ``log(1 / 0.07)`` and the
  multiplier clipped at 100 (Section 2.5);
* symmetric InfoNCE over the batch.

Zero-shot classification (Section 3.1.2): every class is embedded through
the text encoder by prompt templates; with several templates the normalised
embeddings are averaged and re-normalised (prompt ensembling, Section 3.1.4);
an image is assigned the class of highest cosine similarity.
"""
import math
from typing import List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from tessera_multimodal.registry import MODELS, TOKENIZERS

from ...datasets.digit_captions import DIGIT_CLASSES, class_prompts, resolve_templates


@MODELS.register_module()
class CLIPModel(BaseModel):
    """CLIP image-text model.

    Args:
        image_backbone (dict): Backbone config returning a tuple of feature maps
            (the last one is pooled), e.g. ``dict(type='ResNet', stem='small', ...)``.
        text_encoder (dict): Text encoder config; ``vocab_size``,
            ``context_length``, ``eot_token_id`` and ``embed_dim`` default to the
            tokenizer's and this model's values.
        tokenizer (dict): Tokenizer config (``TOKENIZERS`` registry), e.g.
            ``dict(type='WordTokenizer', context_length=16)``.
        embed_dim (int): Joint embedding dimension E.
        image_feat_dim (int, optional): Channels of the pooled image feature;
            read from the backbone's ``out_channels`` (its last output) when omitted.
        init_logit_scale (float): Initial ``t`` (the multiplier is ``exp(t)``).
        max_logit_scale (float): Upper clip of the multiplier ``exp(t)``.
        loss (dict): Contrastive loss config.
        zero_shot (dict): ``templates`` (prompt templates, held out from
            training, or the name of a set of ``TEMPLATE_SETS``; default
            ``'zero_shot'`` = ``ZERO_SHOT_TEMPLATES``) and ``classes`` (a list of template fields per class, e.g.
            ``dict(word='seven', numeral='7')``; ``None`` = the ten digits).
        data_preprocessor (dict, optional): Defaults to ``ClsDataPreprocessor``.

    Inputs: images (N, C, H, W) after the data preprocessor; data samples carry
    the paired caption in ``caption`` (a meta key).
    """

    def __init__(self, image_backbone: dict, text_encoder: dict,
                 tokenizer: dict = dict(type='WordTokenizer', context_length=16), embed_dim: int = 64,
                 image_feat_dim: Optional[int] = None, init_logit_scale: float = math.log(1 / 0.07),
                 max_logit_scale: float = 100.0, loss: dict = dict(type='SymmetricInfoNCELoss'),
                 zero_shot: Optional[dict] = None, data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if max_logit_scale <= 0:
            raise ValueError(f'max_logit_scale must be > 0, got {max_logit_scale}')
        self.tokenizer = TOKENIZERS.build(tokenizer)
        self.image_backbone = MODELS.build(image_backbone)
        if image_feat_dim is None:
            image_feat_dim = self._infer_feat_dim(self.image_backbone)
        self.image_projection = nn.Linear(image_feat_dim, embed_dim, bias=False)
        nn.init.normal_(self.image_projection.weight, std=image_feat_dim ** -0.5)
        text_encoder = dict(text_encoder)
        text_encoder.setdefault('vocab_size', self.tokenizer.vocab_size)
        text_encoder.setdefault('context_length', self.tokenizer.context_length)
        text_encoder.setdefault('eot_token_id', self.tokenizer.eot_id)
        text_encoder.setdefault('embed_dim', embed_dim)
        self.text_encoder = MODELS.build(text_encoder)
        self.embed_dim = embed_dim
        self.logit_scale = nn.Parameter(torch.tensor(float(init_logit_scale)))
        self.max_logit_scale = float(max_logit_scale)
        self.loss_module = MODELS.build(loss)
        zero_shot = dict(zero_shot or {})
        unknown = set(zero_shot) - {'templates', 'classes'}
        if unknown:
            raise KeyError(f'unknown zero_shot keys {sorted(unknown)}; valid: templates, classes')
        self.zero_shot_templates = resolve_templates(zero_shot.get('templates', 'zero_shot'))
        classes = zero_shot.get('classes') or DIGIT_CLASSES
        self.zero_shot_prompts = class_prompts(self.zero_shot_templates, classes)
        for prompts in self.zero_shot_prompts:   # fail at build time on unknown words / long prompts
            self.tokenizer(prompts)

    @staticmethod
    def _infer_feat_dim(backbone: nn.Module) -> int:
        out_channels = getattr(backbone, 'out_channels', None)  # channels of the returned outputs
        if not out_channels:
            raise ValueError(f'cannot read the feature width of {type(backbone).__name__} (no out_channels): '
                             'pass image_feat_dim')
        return int(out_channels[-1])

    # ------------------------------------------------------------------ encoders
    @property
    def logit_scale_value(self) -> torch.Tensor:
        """The similarity multiplier ``min(exp(t), max_logit_scale)`` (scalar)."""
        return self.logit_scale.exp().clamp(max=self.max_logit_scale)

    def encode_image(self, inputs: torch.Tensor, normalize: bool = True) -> torch.Tensor:
        """Images (N, C, H, W) -> embeddings (N, E)."""
        feats = self.image_backbone(inputs)
        if isinstance(feats, (tuple, list)):
            feats = feats[-1]
        if feats.dim() != 4:
            raise ValueError(f'the image backbone must return (N, C, H, W) maps, got {tuple(feats.shape)}')
        x = self.image_projection(feats.mean(dim=(2, 3)))
        return F.normalize(x, dim=-1) if normalize else x

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """Texts -> tokens (N, L) on this model's device."""
        return self.tokenizer(list(texts)).to(self.logit_scale.device)

    def encode_text(self, texts: Union[Sequence[str], torch.Tensor], normalize: bool = True) -> torch.Tensor:
        """Texts (strings) or tokens (N, L) -> embeddings (N, E)."""
        tokens = texts if isinstance(texts, torch.Tensor) else self.tokenize(texts)
        x = self.text_encoder(tokens)
        return F.normalize(x, dim=-1) if normalize else x

    def zero_shot_classifier(self) -> torch.Tensor:
        """Class embeddings (K, E): per class, the normalised mean of the normalised
        embeddings of its prompts (prompt ensembling)."""
        num_templates = len(self.zero_shot_templates)
        flat = [p for prompts in self.zero_shot_prompts for p in prompts]
        emb = self.encode_text(flat).view(len(self.zero_shot_prompts), num_templates, -1)
        return F.normalize(emb.mean(dim=1), dim=-1)

    @staticmethod
    def _captions(data_samples) -> List[str]:
        if data_samples is None:
            raise ValueError('CLIPModel needs data samples with a caption per image')
        captions = []
        for i, sample in enumerate(data_samples):
            caption = sample.get('caption') if hasattr(sample, 'get') else None
            if caption is None:
                raise KeyError(f'data sample {i} has no caption; pack the dataset key with '
                               "PackClsInputs(meta_keys=(..., 'caption'))")
            captions.append(caption)
        return captions

    # ------------------------------------------------------------------ mmengine API
    def forward(self, inputs: torch.Tensor, data_samples: Optional[list] = None, mode: str = 'tensor'):
        """Modes: ``'loss'`` -> ``dict(loss_contrastive, logit_scale)``;
        ``'predict'`` -> data samples with zero-shot ``pred_score``/``pred_label``
        and the normalised ``img_embed`` (and ``text_embed`` when every sample
        has a caption); ``'tensor'`` ->
        image embeddings (N, E), or ``logits_per_image`` (N, N) when the data
        samples carry captions."""
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            image = self.encode_image(inputs)
            if data_samples is None:
                return image
            return self.logit_scale_value * image @ self.encode_text(self._captions(data_samples)).t()
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")

    def loss(self, inputs: torch.Tensor, data_samples: list) -> dict:
        text = self.encode_text(self._captions(data_samples))
        image = self.encode_image(inputs)
        scale = self.logit_scale_value
        return dict(loss_contrastive=self.loss_module(image, text, scale), logit_scale=scale.detach())

    def predict(self, inputs: torch.Tensor, data_samples: Optional[list] = None) -> list:
        image = self.encode_image(inputs)
        classifier = self.zero_shot_classifier()
        scores = (self.logit_scale_value * image @ classifier.t()).softmax(dim=-1)
        has_captions = data_samples is not None and all(
            hasattr(s, 'get') and s.get('caption') is not None for s in data_samples)
        text = self.encode_text(self._captions(data_samples)) if has_captions else None
        if data_samples is None:
            from tessera_core.structures import ClsDataSample
            data_samples = [ClsDataSample() for _ in range(inputs.size(0))]
        for i, sample in enumerate(data_samples):
            sample.set_pred_score(scores[i])
            sample.set_pred_label(scores[i].argmax())
            sample.img_embed = image[i]
            if text is not None:
                sample.text_embed = text[i]
        return data_samples
