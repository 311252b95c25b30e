"""AutoMix's Mix Block: a mixing mask from the features of two images and the mixing ratio.

Paper: "AutoMix: Unveiling the Power of Mixup for Stronger Classifiers", Zicheng Liu, Siyuan Li, Di Wu,
Zhiyuan Chen, Lirong Wu, Jianzhu Guo, Stan Z. Li, ECCV 2022, arXiv:2103.13027. Official code:
https://github.com/Westlake-AI/openmixup (``openmixup/models/heads/pmix_block.py``, ``PixelMixBlock``).

For features ``z_i, z_j`` (C, h, w) of the two images at one backbone stage and the ratio ``lam``
(of image ``i``), with lam-embedding by concatenation (the paper's AutoMix, official ``lam_concat=True``):

    a = [z_i ; lam],  b = [z_j ; 1 - lam]                          (C + 1, h, w): lam as a constant channel
    q = W_q a,  k = W_q b                                          (C/r, hw): one shared 1x1 conv, r = 2
    P = softmax(q^T k / sqrt(C/r))                                 (hw, hw): rows over b's positions
    v = W_v b                                                      (hw, 1):  1x1 conv to one channel
    m_j = sigmoid(upsample_nearest(P v))                           (H, W):   weight of image j
    M = [1 - m_j, m_j]                                             (2, H, W): x~ = M_0 x_i + M_1 x_j

So each position of image ``i`` takes from image ``j`` an amount given by the values of ``j`` it
attends to. The mask loss (official ``mask_loss_mode='L1'``) keeps the mask's mean at the ratio,
within a margin ``eps`` (0.1):

    l_mask = max(|1 - mean(m_j) - lam| - eps, 0)        (mean over the batch and the H x W pixels)

Weights are initialised N(0, 0.01), biases 0 (official ``init_weights``), so the untrained block gives
masks close to 0.5 everywhere.
"""
from typing import Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tessera_core.registry import MODELS

from .batch_augments import check_mixing_ratio

UPSAMPLE_MODES = ('nearest', 'bilinear', 'bicubic')


@MODELS.register_module()
class MixBlock(nn.Module):
    """AutoMix's pixel-wise Mix Block (the official ``PixelMixBlock`` without SAMix's options).

    Args:
        in_channels (int): Channels ``C`` of the feature map.
        reduction (int): ``r``: the query/key embedding has ``max(C // r, 1)`` channels (2).
        use_scale (bool): Divide the similarities by ``sqrt(C / r)`` (True).
        lam_concat (bool): Concatenate ``lam`` / ``1 - lam`` as a channel to both features (True:
            the paper's AutoMix and the official ImageNet configs; the official CIFAR configs use
            False, which makes the mask independent of ``lam``).
        upsample_mode (str): ``'nearest'`` (official default of AutoMix configs), ``'bilinear'`` or
            ``'bicubic'``: the h x w mask is resized to the image.
        mask_loss_margin (float): ``eps`` of the mask loss (0.1), >= 0.
        init_std (float): Std of the normal initialisation of the two 1x1 convs (0.01).
    """

    def __init__(self, in_channels: int, reduction: int = 2, use_scale: bool = True, lam_concat: bool = True,
                 upsample_mode: str = 'nearest', mask_loss_margin: float = 0.1, init_std: float = 0.01):
        super().__init__()
        if in_channels < 1 or reduction < 1:
            raise ValueError(f'MixBlock: in_channels and reduction must be >= 1, got {in_channels}, {reduction}')
        if upsample_mode not in UPSAMPLE_MODES:
            raise ValueError(f'MixBlock: invalid upsample_mode {upsample_mode!r}; valid: {UPSAMPLE_MODES}')
        if mask_loss_margin < 0:
            raise ValueError(f'MixBlock: mask_loss_margin must be >= 0, got {mask_loss_margin}')
        self.in_channels, self.reduction, self.use_scale = in_channels, reduction, use_scale
        self.lam_concat, self.upsample_mode = lam_concat, upsample_mode
        self.mask_loss_margin = float(mask_loss_margin)
        self.inter_channels = max(in_channels // reduction, 1)
        embed_in = in_channels + 1 if lam_concat else in_channels
        self.query = nn.Conv2d(embed_in, self.inter_channels, 1)  # shared by the query and the key
        self.value = nn.Conv2d(embed_in, 1, 1)
        for conv in (self.query, self.value):
            nn.init.normal_(conv.weight, std=init_std)
            nn.init.zeros_(conv.bias)

    def attention(self, a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        """(N, C', h, w) embedded inputs of image i and j -> P (N, hw, hw), rows summing to one."""
        n = a.size(0)
        q = self.query(a).reshape(n, self.inter_channels, -1).transpose(1, 2)  # (N, hw, C/r)
        k = self.query(b).reshape(n, self.inter_channels, -1)  # (N, C/r, hw)
        sim = torch.bmm(q, k)
        if self.use_scale:
            sim = sim / self.inter_channels ** 0.5
        return sim.softmax(dim=-1)

    def forward(self, feats: torch.Tensor, lam: float, index: torch.Tensor,
                out_size: Sequence[int]) -> torch.Tensor:
        """The mixing mask of every sample ``i`` with its partner ``index[i]``.

        Args:
            feats: (N, C, h, w) features of the batch.
            lam: Mixing ratio of the samples themselves, in [0, 1].
            index: (N,) long, the partners.
            out_size: ``(H, W)`` of the images.

        Returns:
            (N, 2, H, W) mask in (0, 1): channel 0 weighs image ``i``, channel 1 (``m_j``) its
            partner, summing to one at every pixel.
        """
        lam = check_mixing_ratio(lam)
        if feats.dim() != 4 or feats.size(1) != self.in_channels:
            raise ValueError(f'MixBlock expects (N, {self.in_channels}, h, w) features, got {tuple(feats.shape)}')
        n, _, h, w = feats.shape
        a, b = feats, feats[index]
        if self.lam_concat:
            a = torch.cat([a, feats.new_full((n, 1, h, w), lam)], dim=1)
            b = torch.cat([b, feats.new_full((n, 1, h, w), 1.0 - lam)], dim=1)
        pairwise = self.attention(a, b)
        v = self.value(b).reshape(n, -1, 1)  # (N, hw, 1)
        logits = torch.bmm(pairwise, v).reshape(n, 1, h, w)
        kwargs = {} if self.upsample_mode == 'nearest' else dict(align_corners=False)
        logits = F.interpolate(logits, size=tuple(out_size), mode=self.upsample_mode, **kwargs)
        m_j = torch.sigmoid(logits)
        return torch.cat([1 - m_j, m_j], dim=1)

    def mask_loss(self, mask: torch.Tensor, lam: float) -> torch.Tensor:
        """``max(|1 - mean(m_j) - lam| - eps, 0)`` of a (N, 2, H, W) mask (scalar)."""
        lam = check_mixing_ratio(lam)
        if mask.dim() != 4 or mask.size(1) != 2:
            raise ValueError(f'mask_loss expects the (N, 2, H, W) mask of forward(), got {tuple(mask.shape)}')
        return (torch.abs(1 - mask[:, 1].mean() - lam) - self.mask_loss_margin).clamp(min=0)

    @staticmethod
    def mix(inputs: torch.Tensor, mask: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
        """``M_0 * x_i + M_1 * x_index[i]``: (N, C, H, W) images, (N, 2, H, W) mask -> mixed images."""
        return inputs * mask[:, :1] + inputs[index] * mask[:, 1:]

    def extra_repr(self) -> str:
        return (f'in_channels={self.in_channels}, inter_channels={self.inter_channels}, '
                f'lam_concat={self.lam_concat}, upsample_mode={self.upsample_mode!r}, '
                f'mask_loss_margin={self.mask_loss_margin}')
