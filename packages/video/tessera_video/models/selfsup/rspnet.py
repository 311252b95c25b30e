"""RSPNet: relative speed perception + appearance-focused video instance discrimination with a momentum encoder.

RSPNet: Relative Speed Perception for Unsupervised Video Representation Learning, Peihao Chen, Deng Huang, Dongliang
He, Xiang Long, Runhao Zeng, Shilei Wen, Mingkui Tan and Chuang Gan, AAAI 2021, arXiv:2011.07949. Official code:
https://github.com/PeihaoChen/RSPNet (``moco/builder_diffspeed_diffloss.py`` ``MoCoDiffLossTwoFc``,
``moco/split_wrapper.py`` ``MultiTaskWrapper``, ``config/pretrain/moco-train-base.jsonnet``).

Each video gives three clips (``RSPSampleFrames``): an anchor (window 1, speed s_a), a positive (window 2, s_a)
and a negative (window 2, s_b != s_a). The encoder is any video backbone ``f`` followed by two projections, each
spatiotemporal average pooling + a linear layer to ``embed_dim`` then L2 normalisation: ``g_A`` (appearance) and
``g_M`` (speed / motion), the official ``MultiTaskWrapper(fc_type='linear')``. Per training step:

    theta_k <- m * theta_k + (1 - m) * theta_q          EMA of the key encoder (backbone + both projections),
                                                        before the keys are computed (MoCo eq. 2)
    k-_A, k-_M = key encoder(negative)                  no gradient
    k+_A, k+_M = key encoder(positive)                  no gradient
    q_A,  q_M  = query encoder(anchor)
    L = w_A * L_avid(q_A, k+_A, k-_A, Q) + w_M * L_rsp(q_M, k+_M, k-_M)      (see ``models/losses/rspnet_losses.py``)
    Q <- enqueue(k-_A)                                  FIFO ring buffer of K keys (the official code enqueues the
                                                        different-speed keys)

Defaults are the official ones: ``embed_dim=128``, ``queue_len=16384``, ``momentum=0.999``, ``temperature=0.07``,
``margin=2.0``, ``loss_weights=dict(avid=1.0, rsp=1.0)``; ``loss_weights`` with one weight 0 gives the paper's
single-task ablations (the official ``A0`` / ``M0`` configs). The official multi-GPU batch shuffle of the keys
(shuffling BN) is not reproduced: with one process a permutation does not change BatchNorm's batch statistics.
"""
import copy
from typing import Dict, List, Optional, Tuple

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from tessera_core.models import enqueue_ring_, momentum_update_
from tessera_video.models.losses.rspnet_losses import rspnet_losses
from tessera_video.registry import MODELS

__all__ = ['RSPNet', 'ProjectionHead']
CLIPS = ('anchor', 'positive', 'negative')   # order of the num_clips axis of the inputs (RSPSampleFrames)


class ProjectionHead(nn.Sequential):
    """Official ``MultiTaskWrapper._get_linear_fc``: (N, C, T, H, W) -> AdaptiveAvgPool3d(1) -> Linear(C, dim)
    -> (N, dim), L2-normalised in :meth:`RSPNet.encode`."""

    def __init__(self, in_channels: int, embed_dim: int):
        super().__init__(nn.AdaptiveAvgPool3d(1), nn.Flatten(1), nn.Linear(in_channels, embed_dim))


@MODELS.register_module()
class RSPNet(BaseModel):
    """Args:
        backbone (dict): Video backbone on (N, C, T, H, W) returning a tuple of maps (the last one is used), e.g.
            ``dict(type='ResNet3d', variant='c3d')``.
        in_channels (int): Channels of the backbone's last map.
        embed_dim (int): Width of both projections (official 128).
        queue_len (int): ``K``, keys of other videos in the memory queue (official 16384).
        momentum (float): ``m`` of the key encoder's EMA (official 0.999).
        temperature (float): ``tau`` (official 0.07).
        margin (float): ``gamma`` of the speed ranking, on similarities divided by ``tau`` (official 2.0).
        loss_weights (dict): ``avid`` (``A`` in the official config) and ``rsp`` (``M``), default 1 and 1.
        data_preprocessor (dict, optional): Default ``ActionDataPreprocessor``.

    Buffers: ``queue`` (K, embed_dim) L2-normalised rows (random at start, as the official code),
    ``queue_ptr`` () the next row to overwrite.
    Shapes: ``loss`` takes (N, 3, C, T, H, W) (anchor, positive, negative); ``tensor`` mode takes (N, [num_clips,]
    C, T, H, W) and returns the pooled backbone features (N, num_clips, C) (the linear-probe features).
    """

    def __init__(self, backbone: dict, in_channels: int, embed_dim: int = 128, queue_len: int = 16384,
                 momentum: float = 0.999, temperature: float = 0.07, margin: float = 2.0,
                 loss_weights: Optional[Dict[str, float]] = None, data_preprocessor: Optional[dict] = None,
                 init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ActionDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        weights = dict(avid=1.0, rsp=1.0)
        if loss_weights is not None:
            unknown = set(loss_weights) - set(weights)
            if unknown:
                raise KeyError(f'unknown loss_weights keys {sorted(unknown)}; valid: {sorted(weights)}')
            weights.update({k: float(v) for k, v in loss_weights.items()})
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must lie in [0, 1], got {momentum}')
        if queue_len < 1 or embed_dim < 1 or temperature <= 0:
            raise ValueError(f'need queue_len >= 1, embed_dim >= 1 and temperature > 0, got {queue_len}, '
                             f'{embed_dim}, {temperature}')
        if min(weights.values()) < 0 or max(weights.values()) == 0:
            raise ValueError(f'loss_weights must be >= 0 and not all 0, got {weights}')
        self.backbone = MODELS.build(backbone)
        self.head_a = ProjectionHead(in_channels, embed_dim)
        self.head_m = ProjectionHead(in_channels, embed_dim)
        self.momentum_encoder = nn.ModuleDict(dict(backbone=copy.deepcopy(self.backbone),
                                                   head_a=copy.deepcopy(self.head_a),
                                                   head_m=copy.deepcopy(self.head_m)))
        self.momentum_encoder.requires_grad_(False)
        self.in_channels, self.embed_dim, self.queue_len = in_channels, embed_dim, queue_len
        self.momentum, self.temperature, self.margin, self.loss_weights = momentum, temperature, margin, weights
        self.register_buffer('queue', F.normalize(torch.randn(queue_len, embed_dim), dim=1))
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))
        self.copy_to_momentum_encoder()

    def query_encoder(self) -> nn.ModuleDict:
        return nn.ModuleDict(dict(backbone=self.backbone, head_a=self.head_a, head_m=self.head_m))

    def init_weights(self):
        """Initialise the query encoder, then copy it into the key encoder (``theta_k = theta_q``)."""
        super().init_weights()
        self.copy_to_momentum_encoder()

    @torch.no_grad()
    def copy_to_momentum_encoder(self) -> None:
        self.momentum_encoder.load_state_dict(self.query_encoder().state_dict())

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``theta_k <- m * theta_k + (1 - m) * theta_q`` for every parameter (buffers are left alone, as the
        official ``_momentum_update_key_encoder``), core's EMA."""
        momentum_update_(self.momentum_encoder.parameters(), self.query_encoder().parameters(), self.momentum)

    @torch.no_grad()
    def dequeue_and_enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (B, embed_dim) (gathered over processes) over the ``B`` oldest rows of the queue (core's
        ring buffer)."""
        enqueue_ring_(self.queue, self.queue_ptr, keys)

    @staticmethod
    def encode(encoder: nn.ModuleDict, clips: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """clips (N, C, T, H, W) -> (z_A, z_M), each (N, embed_dim), L2-normalised."""
        x = encoder['backbone'](clips)
        x = x[-1] if isinstance(x, (tuple, list)) else x
        return F.normalize(encoder['head_a'](x), dim=1), F.normalize(encoder['head_m'](x), dim=1)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Query backbone, pooled: (N, [num_clips,] C, T, H, W) -> (N, num_clips, C)."""
        clips = inputs if inputs.dim() == 5 else inputs.flatten(0, 1)
        x = self.backbone(clips)
        x = x[-1] if isinstance(x, (tuple, list)) else x
        return x.mean(dim=(2, 3, 4)).view(inputs.size(0), -1, x.size(1))

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> Dict[str, torch.Tensor]:
        if inputs.dim() != 6 or inputs.size(1) != len(CLIPS):
            raise ValueError(f'RSPNet expects (N, 3, C, T, H, W) inputs ({", ".join(CLIPS)} clips from '
                             f'RSPSampleFrames), got shape {tuple(inputs.shape)}')
        anchor, positive, negative = inputs.unbind(1)
        with torch.no_grad():
            self.momentum_update()
            k_neg_a, k_neg_m = self.encode(self.momentum_encoder, negative)
            k_pos_a, k_pos_m = self.encode(self.momentum_encoder, positive)
        q_a, q_m = self.encode(self.query_encoder(), anchor)
        out = rspnet_losses(q_a, k_pos_a, k_neg_a, q_m, k_pos_m, k_neg_m, self.queue.clone().detach(),
                            self.temperature, self.margin)
        self.dequeue_and_enqueue(k_neg_a)
        w = self.loss_weights
        return dict(loss_avid=w['avid'] * out['avid'], loss_rsp=w['rsp'] * out['rsp'],
                    avid_ce=out['avid'].detach(), rsp_rank=out['rsp'].detach(),
                    acc_avid=out['acc_avid'], acc_rsp=out['acc_rsp'])

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        if mode == 'predict':
            raise NotImplementedError('RSPNet is a pretraining model without classes: evaluate its backbone with '
                                      'the linear-probe or fine-tune configs (configs/rspnet/)')
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'tensor'")
