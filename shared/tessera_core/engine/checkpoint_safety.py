"""Installs Tessera's checkpoint safety into mmengine (done by ``import tessera_core``).

Every place where mmengine 0.10.7 unpickles a checkpoint or a ``.pkl`` file, or
writes a checkpoint, and what replaces it:

==================================================  ===========================================
mmengine                                            replaced by
==================================================  ===========================================
``CheckpointLoader`` scheme ``''`` (local paths)    :func:`.safe_checkpoint.load_from_local`
``runner.checkpoint.load_url`` (used by             :func:`.safe_remote.safe_load_url`
``load_from_http``: ``http(s)://``,
``torchvision://``, ``modelzoo://``, ``mmcls://``);
also ``utils.dl_utils.load_url``
scheme ``open-mmlab://``, ``openmmlab://``          :func:`.safe_remote.load_from_openmmlab`
scheme ``pavi://``                                  :func:`.safe_remote.load_from_pavi`
scheme ``s3://``, ``petrel://``                     :func:`.safe_remote.load_from_ceph`
``fileio`` handlers ``pkl``, ``pickle``             :class:`.safe_pickle.SafePickleHandler`
``runner.checkpoint.save_checkpoint`` (also as      :func:`.atomic_save.atomic_save_checkpoint`
``runner.save_checkpoint`` and in ``runner.runner``)
``open`` inside ``hooks.checkpoint_hook``           :func:`.atomic_save.open_for_checkpoint_hook`
``CheckpointHook._save_checkpoint_with_step``       :func:`.atomic_save.save_then_prune` (wrapper)
==================================================  ===========================================

``Runner.resume`` / ``load_from`` / ``load_checkpoint``, ``init_cfg=dict(type=
'Pretrained')`` (``PretrainedInit`` and ``_load_checkpoint_with_prefix``),
``CheckpointHook``'s publishing and the strategies all go through
``CheckpointLoader`` or the names above, looked up at call time.
:func:`install` is idempotent; :func:`installed_loaders` lists the scheme table.
"""
from __future__ import annotations

import mmengine.hooks.checkpoint_hook as mm_checkpoint_hook
import mmengine.runner as mm_runner
import mmengine.runner.checkpoint as mm_ckpt
import mmengine.runner.runner as mm_runner_module
import mmengine.utils.dl_utils as mm_dl_utils
import mmengine.utils.dl_utils.hub as mm_hub
from mmengine.fileio import register_handler
from mmengine.hooks import CheckpointHook
from mmengine.runner.checkpoint import CheckpointLoader

from . import atomic_save, safe_checkpoint, safe_pickle, safe_remote

SCHEMES = {
    '': safe_checkpoint.load_from_local,
    ('open-mmlab://', 'openmmlab://'): safe_remote.load_from_openmmlab,
    'pavi://': safe_remote.load_from_pavi,
    (r'(\S+\:)?s3://', r'(\S+\:)?petrel://'): safe_remote.load_from_ceph,
}


def install() -> None:
    """Route every mmengine checkpoint / pickle load through the allowlist and
    make checkpoint writes atomic."""
    for prefixes, loader in SCHEMES.items():
        CheckpointLoader.register_scheme(prefixes=list(prefixes) if isinstance(prefixes, tuple)
                                         else prefixes, loader=loader, force=True)
        for name in ('load_from_local', 'load_from_openmmlab', 'load_from_pavi', 'load_from_ceph'):
            if getattr(loader, '__name__', None) == name:
                setattr(mm_ckpt, name, loader)
    for module in (mm_ckpt, mm_dl_utils, mm_hub):
        module.load_url = safe_remote.safe_load_url

    register_handler(['pkl', 'pickle'])(safe_pickle.SafePickleHandler)

    if mm_ckpt.save_checkpoint is not atomic_save.atomic_save_checkpoint:
        atomic_save.atomic_save_checkpoint.mmengine_save_checkpoint = mm_ckpt.save_checkpoint
    for module in (mm_ckpt, mm_runner, mm_runner_module):
        module.save_checkpoint = atomic_save.atomic_save_checkpoint
    mm_checkpoint_hook.open = atomic_save.open_for_checkpoint_hook
    CheckpointHook._save_checkpoint_with_step = atomic_save.save_then_prune(
        CheckpointHook._save_checkpoint_with_step)


def installed_loaders() -> dict:
    """mmengine's scheme table: ``prefix -> loader``."""
    return dict(CheckpointLoader._schemes)
