"""Exact resume: the random streams continue where the checkpoint left them.

mmengine 0.10.7 restores weights, optimizer, schedulers, the loop counters and
the message hub on ``--resume``, and the data order follows (``DefaultSampler``
shuffles with ``seed + epoch``). It does not restore the random generators, so
everything drawn during training -- dropout, DropPath, random augmentations
run in the main process, masks and permutations inside a model -- restarts
from the seed after a resume. This hook closes that gap:

- ``before_save_checkpoint``: the checkpoint gets ``rng_state``
  (:func:`..rng_state.capture_rng_state`), the state the next training
  iteration will start from.
- Validation (``before_val`` .. ``after_val``) runs on a copy of the state and
  the training state is put back afterwards, so a validation -- which runs
  after the epoch's checkpoint is written, and draws at least one number for
  its data loader -- does not move the training streams. The uninterrupted and
  the resumed run then see the same numbers.
- After a resume (``after_load_checkpoint`` with ``resume=True``): the state
  is restored at the start of the first training epoch; in an iteration-based
  loop resumed mid-epoch it is restored after mmengine has skipped the batches
  already trained (those fetches run on a copy of the state), just before the
  first new batch is fetched.

Exact for the main process. Data loader workers (``num_workers > 0``) are
seeded per iterator by torch and mmengine's ``worker_init_fn``; an iterator
re-created by a resume mid-epoch seeds them differently, so worker-side random
augmentation is exact after a resume at an epoch boundary only.

``import tessera_core`` adds this hook to every ``Runner`` (see :func:`install`);
a config that lists ``dict(type='ExactResumeHook', ...)`` in ``custom_hooks``
gets its own instead.
"""
from __future__ import annotations

import functools
import warnings
from typing import Optional

from mmengine.hooks import Hook
from mmengine.runner import Runner

from ...registry import HOOKS
from ..rng_state import capture_rng_state, restore_rng_state


class _SkipThenRestore:
    """Wraps a training loop's ``dataloader_iterator``: the first ``skip`` batches are
    fetched on a copy of the random state; before the next fetch ``state`` is restored."""

    def __init__(self, inner, skip: int, state: dict):
        self.inner, self.skip, self.state = inner, skip, state

    def __iter__(self):
        return self

    def __next__(self):
        if self.skip > 0:
            self.skip -= 1
            outer = capture_rng_state()
            try:
                return next(self.inner)
            finally:
                restore_rng_state(outer)
        if self.state is not None:
            restore_rng_state(self.state)
            self.state = None
        return next(self.inner)

    def __getattr__(self, name):  # _InfiniteDataloaderIterator's other attributes
        return getattr(self.inner, name)


@HOOKS.register_module()
class ExactResumeHook(Hook):
    """Save the random generators' state in every checkpoint and restore it on resume.

    Args:
        isolate_validation: run validation on a copy of the random state (needed for
            an exact resume when a validation follows a checkpoint).
    """
    priority = 'HIGHEST'

    def __init__(self, isolate_validation: bool = True):
        self.isolate_validation = isolate_validation
        self._outside_val: Optional[dict] = None  # training state, while a validation runs
        self._pending: Optional[dict] = None  # state to restore after a resume

    def before_val(self, runner) -> None:
        if self.isolate_validation:
            self._outside_val = capture_rng_state()

    def after_val(self, runner) -> None:
        if self._outside_val is not None:
            restore_rng_state(self._outside_val)
            self._outside_val = None

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        # a checkpoint written during validation (save_best) carries the training state
        checkpoint['rng_state'] = self._outside_val if self._outside_val is not None else capture_rng_state()

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        if not getattr(runner, '_resume', False):  # load_from: weights only, fresh random streams
            return
        if 'rng_state' in checkpoint:
            self._pending = checkpoint['rng_state']
        else:
            warnings.warn('the resumed checkpoint has no random generator state (written without '
                          "tessera-core's ExactResumeHook): random streams restart from the seed, so "
                          'dropout and random augmentation differ from the interrupted run')

    def before_train_epoch(self, runner) -> None:
        if self._pending is None:
            return
        loop = runner.train_loop
        if runner.iter > 0 and hasattr(loop, 'dataloader_iterator'):  # iteration-based, about to skip batches
            loop.dataloader_iterator = _SkipThenRestore(loop.dataloader_iterator, runner.iter, self._pending)
        else:
            restore_rng_state(self._pending)
        self._pending = None


def install() -> None:
    """Make every ``Runner`` register an :class:`ExactResumeHook` unless its config has one. Idempotent."""
    if getattr(Runner.register_hooks, '_tessera_exact_resume', False):
        return
    original = Runner.register_hooks

    @functools.wraps(original)
    def register_hooks(self, default_hooks=None, custom_hooks=None):
        original(self, default_hooks, custom_hooks)
        if not any(isinstance(hook, ExactResumeHook) for hook in self._hooks):
            self.register_hook(ExactResumeHook())

    register_hooks._tessera_exact_resume = True
    Runner.register_hooks = register_hooks
