"""SEED: self-supervised distillation by matching similarity distributions over a queue.

SEED: Self-supervised Distillation for Visual Representation, Fang, Wang, Wang, Zhang, Yang and Liu,
ICLR 2021, arXiv:2101.04731; official code https://github.com/jacobswan1/SEED (``seed/builder.py``).

A frozen self-supervised teacher (here a :class:`~tessera_compression.models.selfsup.MoCoV2`
checkpoint: its query encoder with the MLP head) and a small student encoder (backbone, pooling, MLP
head) see the same augmented view of each image; both embeddings are L2-normalised and

    L = SEEDLoss(z^S, z^T, queue)        cross-entropy of p^T over p^S on [z^T_i, queue] (eq. 5)
    queue <- enqueue(z^T)                 FIFO of the teacher's embeddings of past batches

(``models/losses/seed_loss.py`` has the formulas). Paper defaults: queue K = 65,536, tau_S = 0.2,
tau_T = 0.01, 128-d embeddings; the student has an MLP head (``--student_mlp``).

The teacher is held by :class:`DistillationModel` (built from its config, loaded strictly from
``teacher_ckpt`` through the safe loader, outside the registered submodules, eval mode, no grad);
the student and the teacher must offer ``encode_query(x) -> (N, D)`` L2-normalised embeddings and
``extract_feat(x)`` (MoCoV2 does; only its query encoder is used, its momentum encoder and queue idle).
Inputs: one view per image, (N, C, H, W).
"""
from typing import List, Optional, Union

import torch
from mmengine.model import BaseModel
from torch import nn

from tessera_compression.registry import MODELS

from .distillation_model import DistillationModel
from .embedding_queue import EmbeddingQueue

__all__ = ['SEED', 'check_encoder']


def check_encoder(model: nn.Module, role: str) -> None:
    """Refuse a student / teacher without ``encode_query`` / ``extract_feat``, naming what it lacks."""
    missing = [m for m in ('encode_query', 'extract_feat') if not callable(getattr(model, m, None))]
    if missing:
        raise TypeError(f'the {role} ({type(model).__name__}) must provide {missing} (L2-normalised embeddings and '
                        f'pooled features), e.g. a MoCoV2 model config')


@MODELS.register_module()
class SEED(DistillationModel):
    """Args:
        student (dict | BaseModel): Student encoder config, e.g. a ``MoCoV2`` with a narrow backbone.
        teacher (dict | str): Teacher config dict or config file (``'tessera_compression::mocov2/...py'``).
        teacher_ckpt (str, optional): The teacher's checkpoint (loaded strictly; None only in tests).
        queue_len (int): ``K`` (paper 65,536).
        feat_dim (int): Embedding width of both heads (128).
        loss (dict): ``SEEDLoss`` config (temperatures).
        data_preprocessor (dict, optional): Defaults to the student's.
    """

    def __init__(self, student: Union[dict, BaseModel], teacher: Union[dict, str], teacher_ckpt: Optional[str] = None,
                 queue_len: int = 65536, feat_dim: int = 128,
                 loss: dict = dict(type='SEEDLoss', student_temperature=0.2, teacher_temperature=0.01),
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        super().__init__(student=student, teacher=teacher, teacher_ckpt=teacher_ckpt,
                         calculate_student_loss=False, data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        check_encoder(self.student, 'student')
        check_encoder(self.teacher, 'teacher')
        self.queue = EmbeddingQueue(queue_len, feat_dim)
        self.loss_module = MODELS.build(loss)

    def extract_feat(self, inputs: torch.Tensor) -> torch.Tensor:
        """The student's pooled backbone features (what the k-NN monitor and the linear probe read)."""
        return self.student.extract_feat(inputs)

    @torch.no_grad()
    def teacher_embed(self, inputs: torch.Tensor) -> torch.Tensor:
        """The frozen teacher's L2-normalised embeddings (eval mode, no grad)."""
        self.teacher.eval()
        return self.teacher.encode_query(inputs)

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None) -> dict:
        z_t = self.teacher_embed(inputs)
        z_s = self.student.encode_query(inputs)
        if z_s.shape != z_t.shape:
            raise ValueError(f'student embeddings {tuple(z_s.shape)} and teacher embeddings {tuple(z_t.shape)} '
                             f'differ: give both heads out_channels={self.queue.dim}')
        loss = self.loss_module(z_s, z_t, self.queue.get())
        self.queue.enqueue(z_t)
        return {'distill.loss_seed': loss}
