"""DAFL: a generator trained against the fixed teacher, and the student distilled on its images.

Data-Free Learning of Student Networks, Chen et al., ICCV 2019, arXiv:1904.01186; official code
https://github.com/huawei-noah/Efficient-Computing/tree/master/Data-Efficient-Model-Compression/DAFL
(``DAFL-train.py``, Algorithm 1 of the paper).

Each ``train_step`` is one iteration of the official loop, on one batch of noise ``z`` (n, latent_dim):

1. ``x = G(z)`` (generator in train mode), the frozen teacher on ``x`` with gradients flowing to ``x``:
   logits ``y_T`` (n, K) and features ``f_T`` (n, C) recorded;
2. generator loss ``L_G = L_oh(y_T) + alpha L_a(f_T) + beta L_ie(y_T)`` (``generator_losses``, which
   may read **teacher** records only: :mod:`~tessera_compression.models.losses.dafl_losses`);
3. student loss ``L_S = KD(N_S(x.detach()), y_T.detach())`` (``distill_losses``; the official code uses
   KL with temperature 1 = ``KLDivergence(tau=1)``) on the **same** images, detached, with the teacher
   records detached as well;
4. both networks step once (optimizer wrappers ``'generator'`` and ``'student'``).

The official loop sums ``L_G + L_S``, calls one ``backward()`` and steps both optimizers; the two
graphs share nothing (the student reads detached images and teacher outputs, the teacher is frozen),
so updating the generator from ``L_G`` and the student from ``L_S`` separately gives the same
gradients. ``generator_iters`` / ``student_iters`` of :class:`DataFreeDistillation` are fixed to 1.
"""
from typing import Dict, Optional, Tuple

import torch
from mmengine.optim import OptimWrapperDict

from tessera_compression.registry import MODELS

from ..distillers.connected_losses import compute_connected_losses
from ..recorders import RecorderManager
from .data_free_distillation import DataFreeDistillation

__all__ = ['DAFL', 'DAFL_GENERATOR_LOSSES', 'DAFL_GENERATOR_LOSS_MAPPINGS']

#: The paper's generator objective with the official MNIST weights (one-hot 1, activation 0.1,
#: information entropy 5), reading the teacher recorders ``logits`` and ``features``.
DAFL_GENERATOR_LOSSES = dict(
    loss_oh=dict(type='OnehotLikeLoss', loss_weight=1.0),
    loss_a=dict(type='ActivationLoss', loss_weight=0.1),
    loss_ie=dict(type='InformationEntropyLoss', loss_weight=5.0))
DAFL_GENERATOR_LOSS_MAPPINGS = dict(
    loss_oh=dict(preds_T=dict(from_student=False, recorder='logits')),
    loss_a=dict(feats_T=dict(from_student=False, recorder='features')),
    loss_ie=dict(preds_T=dict(from_student=False, recorder='logits')))


def _detached(data):
    if isinstance(data, torch.Tensor):
        return data.detach()
    if isinstance(data, (tuple, list)):
        return type(data)(_detached(d) for d in data)
    if isinstance(data, dict):
        return {k: _detached(v) for k, v in data.items()}
    return data


def detach_records(manager: RecorderManager) -> None:
    """Replace every record of ``manager`` by its detached copy (same values and version counters)."""
    for recorder in manager.recorders.values():
        recorder.data_buffer = [_detached(d) for d in recorder.data_buffer]


@MODELS.register_module()
class DAFL(DataFreeDistillation):
    """Args:
        generator (dict): Generator config (DAFL: :class:`ConvGenerator`, latent 100).
        generator_losses (dict, optional): Defaults to :data:`DAFL_GENERATOR_LOSSES` (official MNIST
            weights); their mappings may read teacher recorders only.
        generator_loss_forward_mappings (dict, optional): Defaults to :data:`DAFL_GENERATOR_LOSS_MAPPINGS`
            when ``generator_losses`` is None.
        **kwargs: :class:`DataFreeDistillation` / :class:`DistillationModel` arguments (``student``,
            ``teacher``, ``teacher_ckpt``, recorders, ``distill_losses``, ``loss_forward_mappings``, ...).
    """

    def __init__(self, generator: dict, generator_losses: Optional[Dict[str, dict]] = None,
                 generator_loss_forward_mappings: Optional[Dict[str, dict]] = None, **kwargs):
        for key in ('student_iters', 'generator_iters'):
            if kwargs.pop(key, 1) != 1:
                raise ValueError(f'DAFL updates the generator and the student once per step on the same images; '
                                 f'{key} must be 1 (use DataFreeDistillation for alternating schedules)')
        if generator_losses is None:
            if generator_loss_forward_mappings is not None:
                raise ValueError('DAFL: generator_loss_forward_mappings given without generator_losses')
            generator_losses, generator_loss_forward_mappings = DAFL_GENERATOR_LOSSES, DAFL_GENERATOR_LOSS_MAPPINGS
        for name, mapping in dict(generator_loss_forward_mappings or {}).items():
            for arg, source in mapping.items():
                if source.get('from_student', False):
                    raise ValueError(f'DAFL: generator loss {name!r} argument {arg!r} reads the student recorder '
                                     f'{source.get("recorder")!r}; DAFL trains the generator against the teacher '
                                     f'only (from_student=False)')
        super().__init__(generator=generator, generator_losses=generator_losses,
                         generator_loss_forward_mappings=generator_loss_forward_mappings, student_iters=1,
                         generator_iters=1, **kwargs)
        if not self.distill_losses:
            raise ValueError('DAFL needs distill_losses for the student (the official code: '
                             "dict(loss_kd=dict(type='KLDivergence', tau=1.0)))")

    def forward_train(self, seeds: torch.Tensor) -> Tuple[torch.Tensor, Dict[str, torch.Tensor],
                                                          Dict[str, torch.Tensor]]:
        """One DAFL iteration's forward: ``(images (n, C, H, W), generator losses, student losses)``.

        The generator losses depend on the generator only (through the frozen teacher), the student
        losses on the student only (detached images and teacher records)."""
        images = self.generator(self.sample_noise(seeds, 0))
        self.teacher_forward(images, None, grad=True)
        generator_losses = compute_connected_losses(self.generator_losses, self.generator_loss_forward_mappings,
                                                    self.student_recorders, self.teacher_recorders)
        detach_records(self.teacher_recorders)
        with self.student_recorders.recording():
            self.student(images.detach(), None, mode='tensor')
        student_losses = self.compute_distill_losses()
        return images, {f'generator.{k}': v for k, v in generator_losses.items()}, student_losses

    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        self._check_optim_wrapper(optim_wrapper, ('student', 'generator'))
        seeds = self.seeds_of(data)
        with optim_wrapper['generator'].optim_context(self.generator), \
                optim_wrapper['student'].optim_context(self.student):
            _, generator_losses, student_losses = self.forward_train(seeds)
            loss_G, log_vars = self.parse_losses(generator_losses)
            loss_S, student_log = self.parse_losses(student_losses)
        optim_wrapper['generator'].update_params(loss_G)
        optim_wrapper['student'].update_params(loss_S)
        log_vars.pop('loss', None)
        log_vars.update({'generator.loss': loss_G.detach(), **student_log})
        self.step += 1
        return log_vars
