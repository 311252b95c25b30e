"""MoCo v2: momentum contrast with an MLP head, InfoNCE over a queue of negatives.

Momentum Contrast for Unsupervised Visual Representation Learning, He, Fan, Wu, Xie and Girshick,
CVPR 2020, arXiv:1911.05722; Improved Baselines with Momentum Contrastive Learning, Chen, Fan,
Girshick and He, arXiv:2003.04297. Official code: https://github.com/facebookresearch/moco
(``moco/builder.py``, ``main_moco.py``).

For two augmented views ``x_q``, ``x_k`` of each image (algorithm 1 of the MoCo paper):

    q = normalize(g_q(f_q(x_q)))                  query encoder (backbone + pooling + MLP), trained
    theta_k <- m * theta_k + (1 - m) * theta_q    momentum (EMA) update of the key encoder, eq. 2,
                                                  applied before the keys are computed
    k = normalize(g_k(f_k(x_k)))                  key encoder, no gradient
    L = InfoNCE(q, k, queue) with temperature tau (eq. 1)
    queue <- enqueue(k), dequeue the oldest B keys (FIFO, a ring buffer of K keys)

Defaults are the paper's (ImageNet): ``queue_len=65536``, ``momentum=0.999``, ``temperature=0.2``
(v2), ``feat_dim=128``, a 2-layer MLP head. The key encoder is a copy of the query encoder made in
:meth:`init_weights` (so both start equal after any initialisation) and trained only by the EMA; its
BatchNorm layers use batch statistics as in the official code.

Shuffling BN (section 3.3, the guard against a BN "signature" shared by a query and its key): the key
batch is permuted before the key encoder and the keys are permuted back. With one process this is
meaningful only with a BatchNorm that normalises sub-batches separately (``SplitBatchNorm2d``, as the
official single-GPU CIFAR demo does); the cross-process shuffle of the official multi-GPU code is not
implemented (each process shuffles its own batch).

Inputs: the views stacked along the channel axis by ``MultiView`` (a grey image gives (N, 2, H, W):
channel 0 is the query view, channel 1 the key view).
"""
import copy
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from torch import nn

from tessera_core.models import enqueue_ring_, momentum_update_
from tessera_compression.registry import MODELS

__all__ = ['MoCoV2']


@MODELS.register_module()
class MoCoV2(BaseModel):
    """Args:
        backbone (dict): e.g. ``dict(type='ResNet', ...)``; returns a tuple of maps.
        neck (dict): Pooling to (N, C), e.g. ``dict(type='GlobalAveragePooling')``.
        projector (dict): ``dict(type='MLPProjector', in_channels=C, hid_channels=C, out_channels=128)``.
        queue_len (int): ``K``, the number of negative keys.
        feat_dim (int): Embedding width (the projector's ``out_channels``).
        momentum (float): ``m`` of the EMA.
        temperature (float): ``tau`` of InfoNCE.
        num_views (int): Views stacked along the channel axis of the inputs (2: query and key).
        shuffle_bn (bool): Permute the key batch around the key encoder (see the module docstring).
        loss (dict, optional): Defaults to ``InfoNCELoss(temperature)``.
        data_preprocessor (dict, optional): Defaults to ``ClsDataPreprocessor``.

    Buffers: ``queue`` (K, feat_dim), L2-normalised rows; ``queue_ptr`` (), the next row to overwrite.
    """

    def __init__(self, backbone: dict, neck: dict, projector: dict, queue_len: int = 65536, feat_dim: int = 128,
                 momentum: float = 0.999, temperature: float = 0.2, num_views: int = 2, shuffle_bn: bool = True,
                 loss: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if not 0.0 <= momentum <= 1.0:
            raise ValueError(f'momentum must lie in [0, 1], got {momentum}')
        if queue_len < 1 or num_views != 2:
            raise ValueError(f'queue_len must be >= 1 and num_views 2 (query, key), got {queue_len}, {num_views}')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.projector = MODELS.build(projector)
        self.momentum_encoder = nn.ModuleDict(dict(backbone=copy.deepcopy(self.backbone),
                                                   neck=copy.deepcopy(self.neck),
                                                   projector=copy.deepcopy(self.projector)))
        self.momentum_encoder.requires_grad_(False)
        self.queue_len, self.feat_dim, self.momentum, self.num_views = queue_len, feat_dim, momentum, num_views
        self.shuffle_bn = shuffle_bn
        self.loss_module = MODELS.build(loss or dict(type='InfoNCELoss', temperature=temperature))
        self.register_buffer('queue', F.normalize(torch.randn(queue_len, feat_dim), dim=1))
        self.register_buffer('queue_ptr', torch.zeros((), dtype=torch.long))

    def init_weights(self):
        """Initialise the query encoder, then copy it into the key encoder (``theta_k = theta_q``)."""
        super().init_weights()
        self.copy_to_momentum_encoder()

    @torch.no_grad()
    def copy_to_momentum_encoder(self) -> None:
        for name in ('backbone', 'neck', 'projector'):
            self.momentum_encoder[name].load_state_dict(getattr(self, name).state_dict())

    def query_modules(self):
        return nn.ModuleList([self.backbone, self.neck, self.projector])

    @torch.no_grad()
    def momentum_update(self) -> None:
        """``theta_k <- m * theta_k + (1 - m) * theta_q`` for every parameter (MoCo eq. 2), core's EMA."""
        key = nn.ModuleList([self.momentum_encoder[n] for n in ('backbone', 'neck', 'projector')])
        momentum_update_(key.parameters(), self.query_modules().parameters(), self.momentum)

    @torch.no_grad()
    def dequeue_and_enqueue(self, keys: torch.Tensor) -> None:
        """Write ``keys`` (B, feat_dim) (gathered over processes) over the ``B`` oldest queue rows (core's ring)."""
        enqueue_ring_(self.queue, self.queue_ptr, keys)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """Backbone + pooling of the query encoder: (N, C, H, W) -> (N, C') (the linear-probe features)."""
        x = self.neck(self.backbone(inputs))
        return x[-1] if isinstance(x, (tuple, list)) else x

    def encode_query(self, inputs: torch.Tensor) -> torch.Tensor:
        return F.normalize(self.projector(self.extract_feat(inputs)), dim=1)

    @torch.no_grad()
    def encode_key(self, inputs: torch.Tensor, shuffle: Optional[bool] = None) -> torch.Tensor:
        """Keys (N, feat_dim) in the order of ``inputs``; with ``shuffle`` (default ``shuffle_bn``) the
        key encoder sees the batch in a random order, undone afterwards."""
        shuffle = self.shuffle_bn if shuffle is None else shuffle
        if shuffle:
            perm = torch.randperm(inputs.size(0), device=inputs.device)
            inputs = inputs[perm]
        enc = self.momentum_encoder
        x = enc['neck'](enc['backbone'](inputs))
        keys = F.normalize(enc['projector'](x[-1] if isinstance(x, (tuple, list)) else x), dim=1)
        return keys[torch.argsort(perm)] if shuffle else keys

    def split_views(self, inputs: torch.Tensor) -> List[torch.Tensor]:
        if inputs.size(1) % self.num_views:
            raise ValueError(f'MoCoV2 expects {self.num_views} views stacked on the channel axis (MultiView), '
                             f'got {inputs.size(1)} channels')
        return list(inputs.chunk(self.num_views, dim=1))

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> dict:
        im_q, im_k = self.split_views(inputs)
        q = self.encode_query(im_q)
        with torch.no_grad():
            self.momentum_update()
            k = self.encode_key(im_k)
        loss = self.loss_module(q, k, self.queue.clone().detach())
        self.dequeue_and_enqueue(k)
        return dict(loss=loss)

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise ValueError(f"MoCoV2 supports mode 'loss' and 'tensor' (features); got {mode!r}. Evaluate the "
                         "features with KNNMonitorHook or the linear-probe config")
