"""Safe loading of mmengine checkpoints on PyTorch >= 2.6.

``torch.load`` now defaults to ``weights_only=True`` and refuses the objects
mmengine 0.10.7 pickles into every checkpoint (``HistoryBuffer`` of the message
hub and numpy arrays/scalars), so ``Runner(resume=True)`` and ``load_from`` fail.
Turning ``weights_only`` off would let any checkpoint run arbitrary code.

This module keeps ``weights_only=True`` and allowlists exactly the globals that
mmengine writes. ``builtins.getattr`` is among them because each HistoryBuffer
pickles its statistics methods as ``getattr(HistoryBuffer, 'min')``; a generic
``getattr`` would let a payload walk to ``eval``, so it is replaced by
:func:`history_buffer_getattr`, which resolves only the statistics methods of
``HistoryBuffer``. Anything else is refused with :class:`UntrustedCheckpointError`
naming the offending globals, unless the user explicitly trusts the file
(``trust_checkpoint=True`` in the config or ``--trust-checkpoint`` on the CLI).

Importing :mod:`tessera_core` registers :func:`load_from_local` as mmengine's
loader for local paths, so every mmengine loading path (``resume``,
``load_from``, ``init_cfg=dict(type='Pretrained')``) goes through it.
"""
from __future__ import annotations

import os
import os.path as osp
import pickle
from contextlib import contextmanager
from typing import Iterator, List, Optional

import numpy as np
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

_TRUST_ENV = 'TESSERA_TRUST_CHECKPOINTS'
_trusted = False


class UntrustedCheckpointError(pickle.UnpicklingError):
    """A checkpoint references pickled objects outside the allowlist."""


def history_buffer_getattr(obj, name: str):
    """Stand-in for ``builtins.getattr`` while unpickling: only
    ``getattr(HistoryBuffer, <statistics method>)`` is allowed."""
    allowed = set(HistoryBuffer._statistics_methods) | {'min', 'max', 'mean', 'current'}
    if obj is HistoryBuffer and name in allowed:
        return getattr(HistoryBuffer, name)
    raise UntrustedCheckpointError(
        f'checkpoint asks for getattr({getattr(obj, "__qualname__", type(obj).__name__)}, {name!r}); '
        'only getattr(HistoryBuffer, <statistics method>) is allowed')


def _numpy_core_name() -> str:
    return 'numpy._core' if hasattr(np, '_core') else 'numpy.core'


def allowed_globals() -> list:
    """The globals an mmengine 0.10.x checkpoint may reference (and nothing else)."""
    multiarray = __import__(f'{_numpy_core_name()}.multiarray', fromlist=['_reconstruct'])
    core = _numpy_core_name()
    entries = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (multiarray._reconstruct, f'{core}.multiarray._reconstruct'),
        (multiarray.scalar, f'{core}.multiarray.scalar'),
        (history_buffer_getattr, 'builtins.getattr'),
    ]
    # numpy >= 1.25 pickles dtypes as instances of their concrete classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType', 'Int32DType',
                     'Int16DType', 'Int8DType', 'UInt8DType', 'BoolDType'):
            if hasattr(dtypes, name):
                entries.append(getattr(dtypes, name))
    return entries


def _qualified(entry) -> str:
    if isinstance(entry, tuple):
        return entry[1]
    return f'{entry.__module__}.{entry.__qualname__}'


def allowed_global_names() -> List[str]:
    return sorted(_qualified(e) for e in allowed_globals())


def set_trusted(trusted: bool) -> None:
    """Trust (or stop trusting) every checkpoint loaded from now on in this process."""
    global _trusted
    _trusted = bool(trusted)


def is_trusted() -> bool:
    return _trusted or os.environ.get(_TRUST_ENV, '') == '1'


@contextmanager
def trusted_checkpoints() -> Iterator[None]:
    """Context in which checkpoints are loaded without the allowlist."""
    previous = _trusted
    set_trusted(True)
    try:
        yield
    finally:
        set_trusted(previous)


def unsafe_globals(filename: str) -> List[str]:
    """Globals referenced by ``filename`` that are not on the allowlist.

    Scans the pickle opcodes only; nothing in the file is executed.
    """
    found = torch.serialization.get_unsafe_globals_in_checkpoint(filename)
    allowed = set(allowed_global_names())
    return sorted(g for g in found if g not in allowed)


def safe_load(filename: str, map_location=None, trusted: Optional[bool] = None):
    """``torch.load`` with the allowlist; raises :class:`UntrustedCheckpointError`
    naming the offending globals unless the file is trusted."""
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f'checkpoint {filename} can not be found')
    if trusted if trusted is not None else is_trusted():
        return torch.load(filename, map_location=map_location, weights_only=False)
    try:
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        try:
            offending = unsafe_globals(filename)
        except Exception:  # not a zip checkpoint: report the loader's own message
            offending = []
        detail = ', '.join(offending) if offending else str(err).splitlines()[0]
        raise UntrustedCheckpointError(
            f'refusing to load checkpoint {filename}: it references pickled objects outside '
            f"Tessera's allowlist ({detail}). Unpickling them could run code. If you trust "
            'this file, opt in explicitly with `trust_checkpoint = True` in the config, '
            f'`--trust-checkpoint` on tools/train.py / tools/test.py, or {_TRUST_ENV}=1.'
        ) from None


@CheckpointLoader.register_scheme(prefixes='', force=True)
def load_from_local(filename, map_location):
    """mmengine loader for local paths, replaced by the allowlisted one."""
    return safe_load(filename, map_location=map_location)
