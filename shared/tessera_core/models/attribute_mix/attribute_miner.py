"""Attribute mining of Attribute Mix: the k most discriminative regions of an image, from a trained classifier.

Paper: "Attribute Mix: Semantic Data Augmentation for Fine Grained Recognition", Hao Li, Xiaopeng
Zhang, Hongkai Xiong, Qi Tian, VCIP 2020, arXiv:2004.02684. No official code was found.

Mining, per image of class y, repeated k times (attribute j = 0 .. k-1):

    A_j   = sum_c W[y, c] F_c(x_j)                      class activation map of the trained classifier
                                                        (last feature map F (C, h, w), linear classifier W)
    A~_j  = (A_j - min A_j) / (max A_j - min A_j)       normalised, bilinearly upsampled to H x W
    R_j   = connected part of {A~_j >= theta} containing argmax A~_j  (the peak of the activations)
    B_j   = bounding box of R_j                         the j-th attribute region, labelled (y, j)
    x_j+1 = x_j with B_j filled by ``fill``             the attribute is masked out before the next one

so the j-th attribute is the most discriminative region once the first j are erased.
"""
from typing import Optional, Tuple

import torch
import torch.nn.functional as F
from torch import nn


def class_activation_maps(features: torch.Tensor, weight: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """CAMs of the labelled classes.

    Args:
        features: (N, C, h, w) last feature map (before global average pooling).
        weight: (K, C) weight of the linear classifier after the pooling.
        labels: (N,) class of each image.

    Returns:
        (N, h, w) ``sum_c weight[labels[n], c] * features[n, c]``.
    """
    if features.dim() != 4 or weight.dim() != 2 or weight.size(1) != features.size(1):
        raise ValueError(f'class_activation_maps: features (N, C, h, w) and weight (K, C) must share C, got '
                         f'{tuple(features.shape)} and {tuple(weight.shape)}')
    return torch.einsum('nchw,nc->nhw', features, weight[labels])


def peak_region_boxes(cams: torch.Tensor, threshold: float = 0.5) -> torch.Tensor:
    """Bounding boxes of the above-threshold regions around the peaks of (normalised) maps.

    Args:
        cams: (N, H, W) activation maps at image resolution.
        threshold: Fraction of each map's range (min -> 0, max -> 1) a pixel must reach, in (0, 1].

    Returns:
        (N, 4) long boxes ``(y1, y2, x1, x2)``, half-open, of the 4-connected component of
        ``{normalised map >= threshold}`` that contains the map's maximum (the first one in
        row-major order if several pixels tie); never empty (at least the peak pixel).
    """
    if not 0 < threshold <= 1:
        raise ValueError(f'threshold must lie in (0, 1], got {threshold}')
    n, h, w = cams.shape
    lo = cams.flatten(1).min(1).values.view(n, 1, 1)
    hi = cams.flatten(1).max(1).values.view(n, 1, 1)
    norm = (cams - lo) / (hi - lo).clamp_min(1e-12)
    peak = norm.flatten(1).argmax(1)
    mask = (norm >= threshold - 1e-6).flatten(1)
    mask[torch.arange(n), peak] = True          # a constant map (nothing left to mine) gives the peak pixel
    mask = mask.view(n, h, w).float()
    region = torch.zeros_like(mask).flatten(1)
    region[torch.arange(n), peak] = 1.0
    region = region.view(n, 1, h, w)
    mask = mask.unsqueeze(1)
    cross = torch.tensor([[0., 1., 0.], [1., 1., 1.], [0., 1., 0.]], device=cams.device).view(1, 1, 3, 3)
    for _ in range(h * w):  # flood fill from the peak, 4-connectivity; stops when the region no longer grows
        grown = (F.conv2d(region, cross, padding=1) > 0).float() * mask
        if torch.equal(grown, region):
            break
        region = grown
    region = region[:, 0].bool()
    rows, cols = region.any(2), region.any(1)
    ar_h = torch.arange(h, device=cams.device)
    ar_w = torch.arange(w, device=cams.device)
    y1 = torch.where(rows, ar_h, h).min(1).values
    y2 = torch.where(rows, ar_h, -1).max(1).values + 1
    x1 = torch.where(cols, ar_w, w).min(1).values
    x2 = torch.where(cols, ar_w, -1).max(1).values + 1
    return torch.stack([y1, y2, x1, x2], 1).long()


def fill_boxes(images: torch.Tensor, boxes: torch.Tensor, value: float = 0.0) -> torch.Tensor:
    """A copy of (N, C, H, W) ``images`` with each box (N, 4) ``(y1, y2, x1, x2)`` set to ``value``."""
    out = images.clone()
    for i, (y1, y2, x1, x2) in enumerate(boxes.tolist()):
        out[i, :, y1:y2, x1:x2] = value
    return out


class AttributeMiner(nn.Module):
    """Mines ``num_attributes`` regions per image with a frozen trained classifier.

    Args:
        classifier (nn.Module): A trained classifier with ``backbone`` (returning a tuple whose last
            element is the (N, C, h, w) map), global average pooling and a head with a linear ``fc``
            (K, C) on the pooled map (e.g. ``ImageClassifier(..., GlobalAveragePooling, LinearClsHead)``).
            It is put in eval mode and frozen.
        num_attributes (int): k, attributes per image (>= 1).
        threshold (float): theta of the region, in (0, 1].
        fill (float): Value written into a mined region before the next attribute is mined
            (0 = the dataset mean for normalised inputs).

    Call: ``images`` (N, C, H, W) normalised inputs, ``labels`` (N,) ->
    (N, k, 4) long boxes ``(y1, y2, x1, x2)``; box ``[n, j]`` is attribute ``(labels[n], j)``.
    """

    def __init__(self, classifier: nn.Module, num_attributes: int = 3, threshold: float = 0.5,
                 fill: float = 0.0):
        super().__init__()
        if not isinstance(num_attributes, int) or num_attributes < 1:
            raise ValueError(f'num_attributes must be an int >= 1, got {num_attributes!r}')
        if not 0 < threshold <= 1:
            raise ValueError(f'threshold must lie in (0, 1], got {threshold}')
        fc = getattr(getattr(classifier, 'head', None), 'fc', None)
        if not hasattr(classifier, 'backbone') or not isinstance(fc, nn.Linear):
            raise ValueError(f'AttributeMiner needs a classifier with a backbone and a head with a linear fc after '
                             f'global average pooling (class activation maps), got {type(classifier).__name__} with '
                             f'head {type(getattr(classifier, "head", None)).__name__}')
        neck = getattr(classifier, 'neck', None)
        if neck is not None and type(neck).__name__ != 'GlobalAveragePooling':
            raise ValueError(f'AttributeMiner: the neck must be GlobalAveragePooling (CAMs), got {type(neck).__name__}')
        self.classifier = classifier.eval()
        for p in self.classifier.parameters():
            p.requires_grad_(False)
        self.num_attributes, self.threshold, self.fill = num_attributes, float(threshold), float(fill)

    def train(self, mode: bool = True) -> 'AttributeMiner':
        """The classifier stays in eval mode (frozen BatchNorm statistics)."""
        super().train(mode)
        self.classifier.eval()
        return self

    @torch.no_grad()
    def cams(self, images: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        """(N, H, W) class activation maps of ``labels``, upsampled to the image size."""
        feats = self.classifier.backbone(images)
        feats = feats[-1] if isinstance(feats, (tuple, list)) else feats
        cam = class_activation_maps(feats, self.classifier.head.fc.weight, labels)
        return F.interpolate(cam[:, None], size=images.shape[-2:], mode='bilinear', align_corners=False)[:, 0]

    @torch.no_grad()
    def forward(self, images: torch.Tensor, labels: torch.Tensor,
                return_cams: bool = False) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        boxes, cams = [], []
        x = images
        for _ in range(self.num_attributes):
            cam = self.cams(x, labels)
            box = peak_region_boxes(cam, self.threshold)
            boxes.append(box)
            cams.append(cam)
            x = fill_boxes(x, box, self.fill)
        boxes = torch.stack(boxes, 1)
        return (boxes, torch.stack(cams, 1)) if return_cams else boxes
