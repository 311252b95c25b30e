"""SdAE: self-distillated masked autoencoder.

SdAE: Self-distillated Masked Autoencoder, Chen et al., ECCV 2022 (arXiv:2208.00449); official code
https://github.com/AbrahamYabo/SdAE (``models_mae.py``, ``models_teacher.py``, ``engine_pretrain.py``).

Student: an MAE encoder on the visible ``1 - mask_ratio`` of the patches (:class:`MAEViT`) and an MAE
decoder (:class:`MAEPretrainDecoder`) whose last linear predicts a D-dim feature per patch
(``predict_feature_dim = D``, the encoder width) instead of pixels. Teacher: an encoder of the same
architecture that receives **only the masked patches**, split by multi-fold masking into ``num_folds``
disjoint random groups of equal size (official ``ncrop_loss=3``), each group encoded as a separate
view with its own class token, without gradient. Target of masked patch ``l``: the teacher output
normalised over its channels, ``t_l = (h_l - mean(h_l)) / sqrt(var(h_l) + 1e-6)``. Loss:
``1 - mean_l cos(s_l, t_l)`` over the masked patches given to the teacher (``s_l``: student prediction).

Teacher update (``SdAETeacherUpdateHook``): ``theta_t <- m * theta_t + (1 - m) * theta_s`` over every
parameter and floating buffer of the encoder (the final norm included), with ``m`` following
``m_k = m_end + (m_0 - m_end) / 2 * (1 + cos(pi k / K))`` for update ``k = 0 .. K-1`` of ``K``
(the official ``cosine_scheduler``; ``m_0 = 0.96``, ``m_end = 0.99``, one update per epoch). The teacher
starts from its own random initialisation, as in the official code (``teacher_init='copy'`` starts it
as a copy of the student).
"""
import copy
import math
from typing import List, Optional

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel, BaseModule

from tessera_generative.registry import MODELS

from .masking import multi_fold_split

TEACHER_INITS = ('independent', 'copy')


@MODELS.register_module()
class SdAEPretrainHead(BaseModule):
    """Normalised teacher features as targets, ``1 - cosine`` as the loss (per token, over channels)."""

    def __init__(self, eps: float = 1e-6, loss_weight: float = 1.0, init_cfg=None):
        super().__init__(init_cfg=init_cfg)
        self.eps, self.loss_weight = eps, loss_weight

    def construct_target(self, feats: torch.Tensor) -> torch.Tensor:
        mean = feats.mean(dim=-1, keepdim=True)
        var = feats.var(dim=-1, keepdim=True)
        return (feats - mean) / (var + self.eps) ** .5

    def loss(self, pred: torch.Tensor, teacher_feats: torch.Tensor) -> torch.Tensor:
        if pred.shape != teacher_feats.shape:
            raise ValueError(f'student predictions {tuple(pred.shape)} and teacher features '
                             f'{tuple(teacher_feats.shape)} differ in shape')
        target = self.construct_target(teacher_feats)
        return self.loss_weight * (1 - F.cosine_similarity(pred, target, dim=-1).mean())


def cosine_momentum(base: float, final: float, step: int, total: int) -> float:
    """Official ``cosine_scheduler(base, final, epochs=total, niter_per_ep=1)[step]``."""
    if not 0 <= step < total:
        raise ValueError(f'momentum step {step} outside [0, {total})')
    return final + 0.5 * (base - final) * (1 + math.cos(math.pi * step / total))


@MODELS.register_module()
class SdAE(BaseModel):
    """Args:
        backbone (dict): Student encoder, :class:`MAEViT` (its ``mask_ratio``: 0.75 in the paper).
        neck (dict): :class:`MAEPretrainDecoder` with ``predict_feature_dim`` = the encoder width.
        head (dict): :class:`SdAEPretrainHead`.
        teacher (dict, optional): Teacher encoder config; default the backbone's config
            (the paper: same architecture). Its weights are EMA'd from the student's, so names must match.
        num_folds (int): Multi-fold masking: groups of masked patches the teacher encodes separately (3).
        num_masked_used (int, optional): Masked patches given to the teacher (official ``shrink_num``;
            default all), cut down to a multiple of ``num_folds``.
        momentum (float): EMA momentum of the first teacher update (0.96).
        end_momentum (float): EMA momentum of the last one (0.99).
        ema_by_epoch (bool): One teacher update per epoch (official ``ema_op='per_epoch'``) or per iteration.
        teacher_init (str): ``'independent'`` (own random init, as the official code) or ``'copy'``.
        data_preprocessor (dict, optional): Defaults to tessera-core's ``ClsDataPreprocessor``.
    """

    def __init__(self, backbone: dict, neck: dict, head: dict = dict(type='SdAEPretrainHead'),
                 teacher: Optional[dict] = None, num_folds: int = 3, num_masked_used: Optional[int] = None,
                 momentum: float = 0.96, end_momentum: float = 0.99, ema_by_epoch: bool = True,
                 teacher_init: str = 'independent', data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='ClsDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        for name, m in (('momentum', momentum), ('end_momentum', end_momentum)):
            if not 0.0 <= m <= 1.0:
                raise ValueError(f'{name} must be in [0, 1], got {m}')
        if teacher_init not in TEACHER_INITS:
            raise ValueError(f'teacher_init must be one of {TEACHER_INITS}, got {teacher_init!r}')
        self.backbone = MODELS.build(backbone)
        self.neck = MODELS.build(neck)
        self.head = MODELS.build(head)
        teacher_cfg = copy.deepcopy(backbone if teacher is None else teacher)
        teacher_cfg.pop('init_cfg', None)
        teacher_cfg['drop_path_rate'] = 0.0  # official: drop_path_rate=0.0 for the teacher
        self.teacher = MODELS.build(teacher_cfg)
        s_names = [n for n, _ in self.backbone.named_parameters()]
        t_names = [n for n, _ in self.teacher.named_parameters()]
        if s_names != t_names:
            raise ValueError('teacher and backbone must have the same parameters (the teacher is their EMA); '
                             f'differing: {sorted(set(s_names) ^ set(t_names))[:5]}')
        for p in self.teacher.parameters():
            p.requires_grad_(False)
        self.num_folds, self.num_masked_used = num_folds, num_masked_used
        num_masked = self.backbone.num_patches - self.backbone.len_keep
        multi_fold_split(torch.zeros(1, num_masked, dtype=torch.long), num_folds, num_masked_used)  # validate
        self.momentum, self.end_momentum = float(momentum), float(end_momentum)
        self.ema_by_epoch, self.teacher_init = ema_by_epoch, teacher_init

    def init_weights(self) -> None:
        super().init_weights()
        if self.teacher_init == 'copy':
            self.teacher.load_state_dict(self.backbone.state_dict())

    def train(self, mode: bool = True):
        super().train(mode)
        self.teacher.eval()
        return self

    @torch.no_grad()
    def momentum_update(self, m: float) -> None:
        """``theta_t <- m * theta_t + (1 - m) * theta_s`` for every parameter and float buffer."""
        for (_, t), (_, s) in zip(self.teacher.named_parameters(), self.backbone.named_parameters()):
            t.mul_(m).add_(s.detach(), alpha=1 - m)
        for (_, t), (_, s) in zip(self.teacher.named_buffers(), self.backbone.named_buffers()):
            if t.dtype.is_floating_point:
                t.mul_(m).add_(s.detach(), alpha=1 - m)

    def teacher_momentum(self, step: int, total: int) -> float:
        return cosine_momentum(self.momentum, self.end_momentum, step, total)

    def extract_feat(self, inputs: torch.Tensor):
        return self.backbone(inputs, mask=False)

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> dict:
        latent, mask, ids_restore, ids_shuffle = self.backbone(inputs)
        pred = self.neck(latent, ids_restore)  # (N, L, D)
        folds = multi_fold_split(ids_shuffle[:, self.backbone.len_keep:], self.num_folds, self.num_masked_used)
        n, v, k = folds.shape
        with torch.no_grad():
            target = self.teacher.forward_views(inputs, folds).reshape(n, v * k, -1)
        ids = folds.reshape(n, v * k)
        pred = torch.gather(pred, 1, ids.unsqueeze(-1).expand(-1, -1, pred.shape[-1]))
        return dict(loss=self.head.loss(pred, target))

    def forward(self, inputs: torch.Tensor, data_samples: Optional[List] = None, mode: str = 'tensor'):
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'tensor':
            return self.extract_feat(inputs)
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'tensor'")
