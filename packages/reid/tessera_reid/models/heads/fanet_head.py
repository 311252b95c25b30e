"""FANet head: a learned soft foreground mask splits the feature map into a foreground and a background branch.

An End-to-End Foreground-Aware Network for Person Re-Identification, Liu, Zhou, Liu, Qi, Tian, Li,
IEEE TIP 30:2060-2071, 2021 (arXiv:1910.11547). No official code is published (see configs/fanet/README.md
for what follows the paper's abstract and what is our choice).

With the backbone's last map X (N, C, h, w):

    M   = sigmoid(g(X))                  soft foreground mask (N, 1, h, w) in [0, 1], g = conv3x3-BN-ReLU-conv1x1
    f_F = GAP(M * X),  f_B = GAP((1 - M) * X)                      (N, C) each
    foreground branch: f_F -> BNNeck -> ID classifier W_id  (ID loss, + triplet / center loss on f_F)
    background branch: f_B -> BN -> camera classifier W_cam (camera-ID loss: the background models the scene)
    TAL:  the identity classifier sees no identity in the background, KL(U || softmax(W_id BN(f_B)))
    mask: optional supervision of M by the true foreground mask area-averaged to (h, w) (SoftMaskLoss)

Gradients: the camera loss reaches g and the backbone through (1 - M) (the two branches are optimised
together, as the abstract says); TAL reaches them through f_B but not W_id (its weights enter detached: TAL
shapes the mask and the features, it must not teach the identity classifier to be blind). Inference: the
L2-normalised post-BN foreground feature.
"""
from typing import List, Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModule
from torch import nn

from tessera_core.structures import ClsDataSample
from tessera_reid.registry import MODELS

from .bnneck_head import BNNeckHead


def camera_labels(data_samples: List[ClsDataSample], num_cameras: int, device) -> torch.Tensor:
    """(N,) long camera ids from the data samples' ``camid`` metainfo, checked against ``num_cameras``."""
    camids = []
    for i, sample in enumerate(data_samples):
        camid = sample.metainfo.get('camid', None)
        if camid is None:
            raise ValueError(f"data sample {i} has no 'camid': FANet's background branch classifies cameras; add "
                             "'camid' to the packing transform's meta_keys")
        if not 0 <= int(camid) < num_cameras:
            raise ValueError(f'camid {camid} of data sample {i} outside [0, num_cameras={num_cameras})')
        camids.append(int(camid))
    return torch.tensor(camids, dtype=torch.long, device=device)


def mask_targets(data_samples: List[ClsDataSample], size: Tuple[int, int], device) -> torch.Tensor:
    """The data samples' ``gt_mask`` (H, W) in [0, 1], area-averaged to ``size``: (N, 1, h, w)."""
    masks = []
    for i, sample in enumerate(data_samples):
        if 'gt_mask' not in sample:
            raise ValueError(f"data sample {i} has no 'gt_mask' but FANetHead.loss_mask is set: pack the masks with "
                             "dict(type='PackReIDInputs', ...) or set loss_mask=None")
        masks.append(sample.gt_mask)
    masks = torch.stack(masks).to(device=device, dtype=torch.float32)[:, None]
    return F.interpolate(masks, size=size, mode='area')


@MODELS.register_module()
class FANetHead(BaseModule):
    """Soft mask, foreground (identity) and background (camera) branches, TAL and mask supervision.

    Args:
        num_classes (int): Training identities.
        in_channels (int): Channels C of the backbone's last map.
        num_cameras (int): Cameras of the training set (classes of the background branch).
        mask_channels (int, optional): Hidden channels of the mask generator; ``None``: ``max(C // 4, 8)``.
        loss_cls, loss_triplet, loss_center, neck_feat, normalize, topk: Of the foreground branch's
            :class:`BNNeckHead` (the strong baseline's head on ``f_F``).
        loss_camera (dict): Camera-ID loss of the background branch (plain cross-entropy by default).
        loss_tal (dict, optional): :class:`TargetAttentionLoss` on the identity logits of ``f_B``; ``None``
            leaves it out (ablation).
        loss_mask (dict, optional): :class:`SoftMaskLoss` of ``M`` against the true mask; ``None`` (the paper:
            no mask annotation) learns the mask from the branches' losses alone.

    Shapes: ``feats[-1]`` (N, C, h, w) -> mask (N, 1, h, w), embedding (N, C).
    """

    def __init__(self, num_classes: int, in_channels: int, num_cameras: int, mask_channels: Optional[int] = None,
                 loss_cls: dict = dict(type='LabelSmoothLoss', label_smooth_val=0.1),
                 loss_triplet: Optional[dict] = dict(type='TripletLoss', margin=0.3),
                 loss_center: Optional[dict] = None,
                 loss_camera: dict = dict(type='LabelSmoothLoss', label_smooth_val=0.0),
                 loss_tal: Optional[dict] = dict(type='TargetAttentionLoss', loss_weight=1.0),
                 loss_mask: Optional[dict] = None,
                 neck_feat: str = 'after', normalize: bool = True, topk: Sequence[int] = (1,),
                 init_cfg: Optional[dict] = None):
        super().__init__(init_cfg=init_cfg)
        if num_cameras < 2:
            raise ValueError(f'num_cameras must be >= 2 (the background branch classifies cameras), got {num_cameras}')
        self.num_classes, self.in_channels, self.num_cameras = num_classes, in_channels, num_cameras
        hidden = mask_channels or max(in_channels // 4, 8)
        self.mask_generator = nn.Sequential(
            nn.Conv2d(in_channels, hidden, 3, padding=1, bias=False), nn.BatchNorm2d(hidden), nn.ReLU(inplace=True),
            nn.Conv2d(hidden, 1, 1))
        self.fg_head = BNNeckHead(num_classes, in_channels, loss_cls=loss_cls, loss_triplet=loss_triplet,
                                  loss_center=loss_center, neck_feat=neck_feat, normalize=normalize, topk=topk)
        self.bg_bottleneck = nn.BatchNorm1d(in_channels)
        self.bg_bottleneck.bias.requires_grad_(False)  # as the BNNeck: no shift
        self.camera_classifier = nn.Linear(in_channels, num_cameras, bias=False)
        self.loss_camera = MODELS.build(loss_camera)
        self.loss_tal = MODELS.build(loss_tal) if loss_tal is not None else None
        self.loss_mask = MODELS.build(loss_mask) if loss_mask is not None else None
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        # mask starts at 0.5 everywhere (last conv small, bias 0); BN / classifier as the BNNeck head's
        nn.init.kaiming_normal_(self.mask_generator[0].weight, mode='fan_out', nonlinearity='relu')
        nn.init.normal_(self.mask_generator[3].weight, std=0.01)
        nn.init.zeros_(self.mask_generator[3].bias)
        nn.init.ones_(self.bg_bottleneck.weight)
        nn.init.zeros_(self.bg_bottleneck.bias)
        nn.init.normal_(self.camera_classifier.weight, std=0.001)

    def init_weights(self) -> None:
        super().init_weights()
        if self.init_cfg is None:
            self._reset_parameters()   # the BNNeck head's own init_weights runs as a child module's

    @staticmethod
    def feature_map(feats) -> torch.Tensor:
        x = feats[-1] if isinstance(feats, (tuple, list)) else feats
        if x.dim() != 4:
            raise ValueError(f'FANetHead expects the backbone map (N, C, h, w), got shape {tuple(x.shape)}; '
                             'use it without a pooling neck (neck=None)')
        return x

    def mask_logits(self, feats) -> torch.Tensor:
        """Mask logits (N, 1, h, w); ``sigmoid`` of them is the soft mask M."""
        return self.mask_generator(self.feature_map(feats))

    def split(self, feats) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """-> (mask logits (N, 1, h, w), f_F (N, C), f_B (N, C))."""
        x = self.feature_map(feats)
        logits = self.mask_generator(x)
        mask = torch.sigmoid(logits)
        return logits, (x * mask).mean(dim=(2, 3)), (x * (1 - mask)).mean(dim=(2, 3))

    def background_identity_logits(self, f_bg: torch.Tensor) -> torch.Tensor:
        """Identity logits (N, K) of background features, through the ID classifier with detached weights."""
        return F.linear(self.bg_bottleneck(f_bg), self.fg_head.classifier.weight.detach())

    def forward(self, feats) -> torch.Tensor:
        """Inference embedding (N, C) of the foreground branch."""
        _, f_fg, _ = self.split(feats)
        return self.fg_head((f_fg,))

    def loss(self, feats, data_samples: List[ClsDataSample]) -> dict:
        logits, f_fg, f_bg = self.split(feats)
        losses = self.fg_head.loss((f_fg,), data_samples)
        camids = camera_labels(data_samples, self.num_cameras, f_bg.device)
        cam_score = self.camera_classifier(self.bg_bottleneck(f_bg))
        losses['loss_camera'] = self.loss_camera(cam_score, camids)
        if self.loss_tal is not None:
            losses['loss_tal'] = self.loss_tal(self.background_identity_logits(f_bg))
        if self.loss_mask is not None:
            losses['loss_mask'] = self.loss_mask(logits, mask_targets(data_samples, logits.shape[-2:], logits.device))
        with torch.no_grad():
            losses['camera_accuracy'] = cam_score.argmax(1).eq(camids).float().mean() * 100
            losses['mask_mean'] = torch.sigmoid(logits).mean()
        return losses

    def predict(self, feats, data_samples: Optional[List[ClsDataSample]] = None) -> List[ClsDataSample]:
        """Attach ``pred_feature`` (C,) (the foreground embedding) and ``pred_mask`` (h, w) to every data sample."""
        logits, f_fg, _ = self.split(feats)
        embeddings = self.fg_head((f_fg,)).detach()
        masks = torch.sigmoid(logits).detach()[:, 0]
        if data_samples is None:
            data_samples = [ClsDataSample() for _ in range(embeddings.size(0))]
        for sample, emb, mask in zip(data_samples, embeddings, masks):
            sample.set_field(emb, 'pred_feature', dtype=torch.Tensor)
            sample.set_field(mask, 'pred_mask', dtype=torch.Tensor)
        return data_samples
