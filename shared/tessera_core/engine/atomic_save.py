"""Checkpoint writes that a kill can not tear.

mmengine 0.10.7 writes a checkpoint with ``LocalBackend.put`` straight into
``epoch_N.pth``, writes ``last_checkpoint`` by truncating and rewriting it, and,
with ``max_keep_ckpts``, deletes the oldest checkpoint *before* saving the new
one. A process killed during a save can therefore leave a truncated
``epoch_N.pth``, an empty ``last_checkpoint``, or (``max_keep_ckpts=1``) a
``last_checkpoint`` that names a file already deleted: ``--resume`` then fails
and the run is lost.

- :func:`atomic_file` writes ``.<name>.<pid>.<random>.tmp`` beside the target,
  flushes and fsyncs it, then ``os.replace``-s it over the target (atomic on
  POSIX and Windows): the target is always either the old complete file or the
  new complete file. A killed writer leaves at most its ``.tmp`` file behind.
- :func:`atomic_save_checkpoint` is ``mmengine.runner.checkpoint.save_checkpoint``
  for local paths, streaming ``torch.save`` into :func:`atomic_file`; other
  backends (``pavi://``, ``s3://``, ``file_client_args``) go to mmengine's own.
- :func:`open_for_checkpoint_hook` is the ``open`` that ``CheckpointHook`` sees:
  it writes ``last_checkpoint`` through :func:`atomic_file`.
- :func:`save_then_prune` wraps ``CheckpointHook._save_checkpoint_with_step``
  so that the outdated checkpoints it removes are removed only after the new
  checkpoint and ``last_checkpoint`` are complete (the disk briefly holds one
  checkpoint more than ``max_keep_ckpts``).

Together: ``last_checkpoint`` always names a complete checkpoint.
:mod:`.checkpoint_safety` installs them.
"""
from __future__ import annotations

import builtins
import functools
import os
import os.path as osp
import uuid
from contextlib import contextmanager, suppress
from typing import Callable, Iterator

import torch
from mmengine.fileio import LocalBackend, get_file_backend


def _fsync_dir(directory: str) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories can not be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


@contextmanager
def atomic_file(path, mode: str = 'wb', **kwargs) -> Iterator:
    """Open a temporary file that replaces ``path`` when the block completes.

    ``mode`` is a write mode (``'w'``, ``'wb'``); on an exception the target is
    left untouched and the temporary file removed.
    """
    if 'w' not in mode:
        raise ValueError(f'atomic_file writes a whole file; mode {mode!r} is not a write mode')
    path = os.fspath(path)
    directory = osp.dirname(osp.abspath(path))
    os.makedirs(directory, exist_ok=True)
    tmp = osp.join(directory, f'.{osp.basename(path)}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp')
    try:
        with builtins.open(tmp, mode.replace('w', 'x'), **kwargs) as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.remove(tmp)
        raise
    _fsync_dir(directory)


def atomic_save_checkpoint(checkpoint, filename, file_client_args=None, backend_args=None):
    """``mmengine.runner.checkpoint.save_checkpoint``, atomic for local files."""
    local = (file_client_args is None and not str(filename).startswith('pavi://')
             and isinstance(get_file_backend(filename, backend_args=backend_args), LocalBackend))
    if not local:
        return atomic_save_checkpoint.mmengine_save_checkpoint(
            checkpoint, filename, file_client_args=file_client_args, backend_args=backend_args)
    with atomic_file(filename, 'wb') as f:
        torch.save(checkpoint, f)


atomic_save_checkpoint.mmengine_save_checkpoint = None  # set by checkpoint_safety.install()


def open_for_checkpoint_hook(file, mode='r', *args, **kwargs):
    """``open`` for mmengine's checkpoint hook: ``last_checkpoint`` is written atomically."""
    if 'w' in mode and osp.basename(os.fspath(file)) == 'last_checkpoint':
        return atomic_file(file, mode, *args, **kwargs)
    return builtins.open(file, mode, *args, **kwargs)


class _DeferredRemoval:
    """A file backend whose ``remove`` / ``rmtree`` wait until :meth:`run`."""

    def __init__(self, backend):
        self._backend = backend
        self.pending = []

    def remove(self, path):
        self.pending.append((self._backend.remove, path))

    def rmtree(self, path):
        self.pending.append((self._backend.rmtree, path))

    def __getattr__(self, name):
        return getattr(self._backend, name)

    def run(self, keep: str) -> None:
        for remove, path in self.pending:
            if path != keep:
                remove(path)


def save_then_prune(save_checkpoint_with_step: Callable) -> Callable:
    """Wrap ``CheckpointHook._save_checkpoint_with_step``: outdated checkpoints
    are removed after the new one is saved and ``last_checkpoint`` updated."""
    if getattr(save_checkpoint_with_step, '_tessera_save_then_prune', False):
        return save_checkpoint_with_step

    @functools.wraps(save_checkpoint_with_step)
    def _save_checkpoint_with_step(self, runner, step, meta):
        backend = self.file_backend
        deferred = _DeferredRemoval(backend)
        self.file_backend = deferred
        try:
            save_checkpoint_with_step(self, runner, step, meta)
        finally:
            self.file_backend = backend
        deferred.run(keep=self.last_ckpt)

    _save_checkpoint_with_step._tessera_save_then_prune = True
    return _save_checkpoint_with_step
