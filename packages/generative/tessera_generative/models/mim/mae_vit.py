"""MAE's encoder: a ViT that encodes only the visible patches of a random mask.

Masked Autoencoders Are Scalable Vision Learners, He et al., CVPR 2022, arXiv:2111.06377;
official code https://github.com/facebookresearch/mae (``models_mae.py``: ``forward_encoder``).
Name and interface after mmpretrain's ``MAEViT``.

``forward(x, mask=True)``: patch tokens with positions -> per-sample random shuffle, keep the first
``int(L * (1 - mask_ratio))`` -> prepend the class token -> blocks -> final norm. Returns
``(latent (N, 1 + len_keep, D), mask (N, L), ids_restore (N, L), ids_shuffle (N, L))``.
``forward(x, mask=False)`` is the plain :class:`VisionTransformer` forward (every patch, ``out_type``).
Its weights load into :class:`VisionTransformer` unchanged (same parameter names).
"""
from typing import Optional, Tuple, Union

import torch

from tessera_generative.registry import MODELS

from .masking import check_mask_ratio, random_masking
from .vision_transformer import VisionTransformer


@MODELS.register_module()
class MAEViT(VisionTransformer):
    """Args:
        mask_ratio (float): Share of masked patches, in (0, 1) (0.75 in MAE and SdAE).
        **kwargs: :class:`VisionTransformer` arguments (``out_type`` defaults to ``'raw'``).
    """

    def __init__(self, mask_ratio: float = 0.75, out_type: str = 'raw', **kwargs):
        super().__init__(out_type=out_type, **kwargs)
        self.mask_ratio = check_mask_ratio(mask_ratio, self.num_patches)
        self.len_keep = int(self.num_patches * (1 - self.mask_ratio))

    def random_masking(self, tokens: torch.Tensor, generator: Optional[torch.Generator] = None):
        return random_masking(tokens, self.mask_ratio, generator)

    def forward(self, x: torch.Tensor, mask: bool = True, generator: Optional[torch.Generator] = None
                ) -> Union[Tuple[torch.Tensor], Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]]:
        if not mask:
            return super().forward(x)
        visible, mask_, ids_restore, ids_shuffle = self.random_masking(self.embed(x), generator)
        return self.encode(visible), mask_, ids_restore, ids_shuffle
