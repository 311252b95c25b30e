"""DataFreeDistillation: a generator in the training loop; the student never sees a real image.

The alternating scheme follows mmrazor's ``DataFreeDistillation`` algorithm and the data-free
distillation papers it serves (DAFL, arXiv:1904.01186; DFAD, arXiv:1912.11006): each
``train_step``

1. **student step** (``student_iters`` times): draw noise ``z``, generate images ``G(z)`` without
   gradient, run the frozen teacher and the student on them, update the student (optimizer wrapper
   ``'student'``) with the distillation losses (``distill_losses``, e.g. KD on the logits);
2. **generator step** (``generator_iters`` times): draw fresh noise, generate with gradient, run the
   teacher (gradients flow through it to the images, not into its frozen weights) and the student,
   update the generator (optimizer wrapper ``'generator'``) with ``generator_losses`` (connected to
   the records exactly as the distillation losses; ``KLDivergence(loss_weight=-1,
   teacher_detach=False)`` is DFAD's adversarial objective; DAFL's losses read only teacher records).
   The gradients this step leaves on the student are cleared.

The optimizer wrappers come as an ``OptimWrapperDict`` with keys ``student`` and ``generator``
(``optim_wrapper=dict(constructor='SubmoduleOptimWrapperConstructor', student=dict(...),
generator=dict(...))``). The train dataloader carries noise seeds only
(:class:`~tessera_compression.datasets.NoiseSeedDataset`): sample ``i`` of a batch gets the noise
``randn(latent_dim)`` of a ``torch.Generator`` seeded with ``(seed_i, step, phase)``, so a run is
reproducible and every rank draws different noise. Generated images go to the networks as they are
(the generator's range stands in for normalised images); the data preprocessor serves validation.
Distributed training needs a wrapper that calls this ``train_step`` (mmengine's
``MMSeparateDistributedDataParallel``); it has not been run distributed yet.
"""
from typing import Dict, List, Optional

import torch
from mmengine.optim import OptimWrapperDict

from tessera_compression.registry import MODELS

from ..distillers import DistillationModel
from ..distillers.connected_losses import build_connected_losses, compute_connected_losses

__all__ = ['DataFreeDistillation', 'noise_from_seeds']

PHASES = ('student', 'generator')


def noise_from_seeds(seeds: torch.Tensor, step: int, phase: int, latent_dim: int) -> torch.Tensor:
    """(N,) integer seeds -> (N, latent_dim) standard normal noise, one ``torch.Generator`` per sample
    seeded with ``seed * 1_000_003 + step * 8 + phase`` (deterministic, independent per sample)."""
    rows = []
    for s in seeds.tolist():
        g = torch.Generator().manual_seed((int(s) * 1_000_003 + int(step) * 8 + phase) % (2 ** 63))
        rows.append(torch.randn(latent_dim, generator=g))
    return torch.stack(rows)


@MODELS.register_module()
class DataFreeDistillation(DistillationModel):
    """Args:
        generator (dict): Generator config, ``(N, latent_dim) -> images``; it needs a ``latent_dim``
            attribute or the ``latent_dim`` argument.
        generator_losses (dict): ``name -> loss config`` for the generator step.
        generator_loss_forward_mappings (dict): As ``loss_forward_mappings``, for ``generator_losses``.
        student_iters, generator_iters (int): Updates of each per ``train_step``.
        latent_dim (int, optional): Overrides ``generator.latent_dim``.
        **kwargs: :class:`DistillationModel` arguments (``student``, ``teacher``, ``teacher_ckpt``,
            recorders, ``distill_losses``, ``loss_forward_mappings``, ...); the student has no task loss
            here (no labels), so ``calculate_student_loss`` is False.
    """

    def __init__(self, generator: dict, generator_losses: Optional[Dict[str, dict]] = None,
                 generator_loss_forward_mappings: Optional[Dict[str, dict]] = None, student_iters: int = 1,
                 generator_iters: int = 1, latent_dim: Optional[int] = None, **kwargs):
        if kwargs.pop('calculate_student_loss', False):
            raise ValueError('DataFreeDistillation trains on generated images without labels: '
                             'calculate_student_loss must be False')
        super().__init__(calculate_student_loss=False, **kwargs)
        self.generator = MODELS.build(generator) if isinstance(generator, dict) else generator
        self.latent_dim = latent_dim if latent_dim is not None else getattr(self.generator, 'latent_dim', None)
        if self.latent_dim is None:
            raise ValueError('DataFreeDistillation: the generator has no latent_dim attribute; pass latent_dim=')
        if student_iters < 1 or generator_iters < 0:
            raise ValueError(f'student_iters must be >= 1 and generator_iters >= 0, got {student_iters}, '
                             f'{generator_iters}')
        self.student_iters, self.generator_iters = student_iters, generator_iters
        self.generator_loss_forward_mappings = dict(generator_loss_forward_mappings or {})
        self.generator_losses = build_connected_losses(generator_losses, self.generator_loss_forward_mappings,
                                                       MODELS, self.student_recorders, self.teacher_recorders,
                                                       what='generator_losses')
        self.register_buffer('step', torch.zeros((), dtype=torch.long))

    def sample_noise(self, seeds: torch.Tensor, phase: int) -> torch.Tensor:
        z = noise_from_seeds(seeds, int(self.step), phase, self.latent_dim)
        return z.to(self.step.device)  # a buffer: the model's device even for a generator without parameters

    @staticmethod
    def seeds_of(data) -> torch.Tensor:
        """The noise seeds of a batch of :class:`NoiseSeedDataset` items."""
        seeds = data['seed'] if isinstance(data, dict) else data
        if isinstance(seeds, (list, tuple)):
            seeds = torch.as_tensor([int(s) for s in seeds])
        return torch.as_tensor(seeds).reshape(-1)

    def _forward_both(self, images: torch.Tensor, teacher_grad: bool) -> None:
        self.teacher_forward(images, None, grad=teacher_grad)
        with self.student_recorders.recording():
            self.student(images, None, mode='tensor')

    @staticmethod
    def _check_optim_wrapper(optim_wrapper, needed) -> None:
        if not isinstance(optim_wrapper, OptimWrapperDict) or not all(k in optim_wrapper for k in needed):
            keys = list(optim_wrapper.keys()) if isinstance(optim_wrapper, OptimWrapperDict) else type(optim_wrapper)
            entries = ', '.join(f'{k}=...' for k in needed)
            raise TypeError(f'DataFreeDistillation needs an OptimWrapperDict with keys {list(needed)} '
                            f"(optim_wrapper=dict(constructor='SubmoduleOptimWrapperConstructor', {entries})), "
                            f'got {keys}')

    def train_step(self, data, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        # generator_iters=0 (a fixed generator, e.g. the random-noise baseline) needs no generator optimizer.
        self._check_optim_wrapper(optim_wrapper, PHASES if self.generator_iters else PHASES[:1])
        seeds = self.seeds_of(data)
        log_vars = {}
        for _ in range(self.student_iters):
            with torch.no_grad():
                images = self.generator(self.sample_noise(seeds, 0))
            with optim_wrapper['student'].optim_context(self.student):
                self._forward_both(images, teacher_grad=False)
                losses = self.compute_distill_losses()
                loss, student_log = self.parse_losses(losses)
            optim_wrapper['student'].update_params(loss)
        log_vars.update(student_log)
        for _ in range(self.generator_iters):
            with optim_wrapper['generator'].optim_context(self.generator):
                images = self.generator(self.sample_noise(seeds, 1))
                self._forward_both(images, teacher_grad=True)
                losses = compute_connected_losses(self.generator_losses, self.generator_loss_forward_mappings,
                                                  self.student_recorders, self.teacher_recorders)
                loss, gen_log = self.parse_losses({f'generator.{k}': v for k, v in losses.items()})
            optim_wrapper['generator'].update_params(loss)
            optim_wrapper['student'].zero_grad()
            log_vars.update(gen_log)
        self.step += 1
        return log_vars

    def loss(self, inputs: torch.Tensor, data_samples: Optional[List] = None):
        raise RuntimeError('DataFreeDistillation trains through train_step (generated images); '
                           "mode='loss' on real inputs is not part of a data-free run")
