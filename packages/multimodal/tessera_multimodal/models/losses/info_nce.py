"""Learning Transferable Visual Models From Natural Language Supervision (CLIP),
Radford et al., ICML 2021, arXiv:2103.00020.
Official repository: https://github.com/openai/CLIP (training code: none; the
loss is the paper's Figure 3 pseudocode).

Symmetric InfoNCE over a batch of N aligned (image, text) pairs::

    logits = exp(t) * I_e @ T_e.T            # (N, N), I_e / T_e L2-normalised
    labels = arange(N)
    loss   = (CE(logits, labels, axis=0) + CE(logits, labels, axis=1)) / 2
"""
import torch
import torch.nn.functional as F
from torch import nn

from tessera_multimodal.registry import MODELS


def symmetric_info_nce(image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                       logit_scale: torch.Tensor) -> torch.Tensor:
    """CLIP's loss on embeddings that are already L2-normalised.

    Args:
        image_embeds (Tensor): (N, E), row i paired with ``text_embeds[i]``.
        text_embeds (Tensor): (N, E).
        logit_scale (Tensor | float): The multiplier ``exp(t)`` (not its log).

    Returns:
        Tensor: scalar, mean of the image->text and text->image cross entropies.
    """
    if image_embeds.dim() != 2 or image_embeds.shape != text_embeds.shape:
        raise ValueError(f'image and text embeddings must both be (N, E); got {tuple(image_embeds.shape)} '
                         f'and {tuple(text_embeds.shape)}')
    logits_per_image = logit_scale * image_embeds @ text_embeds.t()
    labels = torch.arange(image_embeds.size(0), device=image_embeds.device)
    return 0.5 * (F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_image.t(), labels))


@MODELS.register_module()
class SymmetricInfoNCELoss(nn.Module):
    """Module form of :func:`symmetric_info_nce`, times ``loss_weight``."""

    def __init__(self, loss_weight: float = 1.0):
        super().__init__()
        self.loss_weight = loss_weight

    def forward(self, image_embeds: torch.Tensor, text_embeds: torch.Tensor,
                logit_scale: torch.Tensor) -> torch.Tensor:
        return self.loss_weight * symmetric_info_nce(image_embeds, text_embeds, logit_scale)
