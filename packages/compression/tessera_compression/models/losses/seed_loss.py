"""SEED's distillation loss: cross-entropy between the teacher's and the student's similarity
distributions over a queue of teacher embeddings.

SEED: Self-supervised Distillation for Visual Representation, Fang, Wang, Wang, Zhang, Yang and Liu,
ICLR 2021, arXiv:2101.04731 (section 3.2, eq. 4-5); official code https://github.com/jacobswan1/SEED
(``seed/builder.py``, ``tools/utils.py`` ``soft_cross_entropy``).

For an image x_i with L2-normalised student and teacher embeddings z^S_i, z^T_i and a queue
D = [d_1 .. d_K] of teacher embeddings of earlier images, the instance set is D+ = [z^T_i, D]
(the teacher's own embedding of x_i first, as the official code does) and

    p^T_i(j) = exp(z^T_i . d_j / tau_T) / sum_{d in D+} exp(z^T_i . d / tau_T)
    p^S_i(j) = exp(z^S_i . d_j / tau_S) / sum_{d in D+} exp(z^S_i . d / tau_S)
    L = 1/N sum_i sum_j -p^T_i(j) log p^S_i(j)        (eq. 5)
      = 1/N sum_i [ H(p^T_i) + KL(p^T_i || p^S_i) ]

so the loss reaches its minimum, the teacher distribution's entropy, when the two distributions
match; the student gets the gradient of the KL part only (H(p^T) does not depend on it). Paper
defaults: tau_S = 0.2 and a sharp teacher tau_T = 0.01 (the official code's default is 1e-4).
"""
from typing import Tuple

import torch
import torch.nn.functional as F
from torch import nn

from tessera_compression.registry import MODELS

__all__ = ['SEEDLoss', 'seed_logits']


def seed_logits(student: torch.Tensor, teacher: torch.Tensor,
                queue: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """Similarities of student and teacher embeddings to ``[teacher, queue]``.

    Shapes: student, teacher (N, D), queue (K, D) -> two (N, 1 + K) tensors (no temperature):
    column 0 is ``z . z^T_i`` (the sample's own teacher embedding), columns 1.. are ``z . queue^T``.
    """
    if student.shape != teacher.shape or student.dim() != 2:
        raise ValueError(f'student {tuple(student.shape)} and teacher {tuple(teacher.shape)} embeddings must '
                         f'both be (N, D)')
    if queue.dim() != 2 or queue.size(1) != student.size(1):
        raise ValueError(f'queue must be (K, {student.size(1)}), got {tuple(queue.shape)}')
    teacher = teacher.detach()
    queue = queue.detach()
    sim_s = torch.cat([(student * teacher).sum(1, keepdim=True), student @ queue.t()], dim=1)
    sim_t = torch.cat([(teacher * teacher).sum(1, keepdim=True), teacher @ queue.t()], dim=1)
    return sim_s, sim_t


@MODELS.register_module()
class SEEDLoss(nn.Module):
    """``L = -1/N sum_i sum_j p^T_i(j) log p^S_i(j)`` over ``[z^T_i, queue]`` (module docstring).

    Args:
        student_temperature (float): ``tau_S`` (paper 0.2).
        teacher_temperature (float): ``tau_T`` (paper 0.01; official code default 1e-4).
        loss_weight (float): Multiplier.

    Shapes: student, teacher (N, D) L2-normalised, queue (K, D) -> scalar.
    """

    def __init__(self, student_temperature: float = 0.2, teacher_temperature: float = 0.01,
                 loss_weight: float = 1.0):
        super().__init__()
        if student_temperature <= 0 or teacher_temperature <= 0:
            raise ValueError(f'temperatures must be positive, got student_temperature={student_temperature}, '
                             f'teacher_temperature={teacher_temperature}')
        self.student_temperature = float(student_temperature)
        self.teacher_temperature = float(teacher_temperature)
        self.loss_weight = float(loss_weight)

    def distributions(self, student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor):
        """``(log p^S, p^T)``, each (N, 1 + K)."""
        sim_s, sim_t = seed_logits(student, teacher, queue)
        return (F.log_softmax(sim_s / self.student_temperature, dim=1),
                F.softmax(sim_t / self.teacher_temperature, dim=1))

    def forward(self, student: torch.Tensor, teacher: torch.Tensor, queue: torch.Tensor) -> torch.Tensor:
        log_p_s, p_t = self.distributions(student, teacher, queue)
        return self.loss_weight * -(p_t * log_p_s).sum(dim=1).mean()

    def extra_repr(self) -> str:
        return (f'student_temperature={self.student_temperature}, teacher_temperature={self.teacher_temperature}, '
                f'loss_weight={self.loss_weight}')
