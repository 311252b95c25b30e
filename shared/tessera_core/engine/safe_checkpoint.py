"""Safe loading of mmengine checkpoints: ``torch.load`` with an allowlist.

``torch.load`` (weights_only) refuses the objects mmengine 0.10.7 pickles into
every checkpoint (``HistoryBuffer`` of the message hub, numpy arrays, scalars
and dtypes), so ``Runner(resume=True)`` and ``load_from`` fail on torch >= 2.6;
turning ``weights_only`` off would let any checkpoint run arbitrary code.

:func:`safe_load` keeps ``weights_only=True`` -- passed explicitly, so that
``TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1`` can not turn it off -- and allowlists
exactly the globals mmengine writes (:func:`allowed_globals`):

- ``HistoryBuffer``, rebuilt through :class:`CheckedHistoryBuffer`, which
  refuses any state but the buffer's own data;
- ``builtins.getattr``, replaced by :func:`history_buffer_getattr`, which only
  resolves ``HistoryBuffer``'s statistics methods;
- numpy arrays, scalars and dtypes, under both spellings of their constructors:
  ``numpy._core.multiarray._reconstruct`` / ``.scalar`` (numpy 2) and
  ``numpy.core.multiarray._reconstruct`` / ``.scalar`` (numpy 1.x, hence every
  checkpoint of the OpenMMLab model zoo). Both names map to the same functions.

Anything else is refused with :class:`UntrustedCheckpointError` naming the
offending globals, unless the user explicitly trusts the file (``trust_checkpoint
= True`` in the config, ``--trust-checkpoint`` on the CLI, which call
:func:`set_trusted`, or ``TESSERA_TRUST_CHECKPOINTS=1``). A file that is not a
complete checkpoint raises :class:`CheckpointFileError` naming it and the problem
(:mod:`.checkpoint_file`).

This module has no side effect on import besides checking torch's version;
:mod:`.checkpoint_safety` installs it into mmengine.
"""
from __future__ import annotations

import os
import os.path as osp
import pickle
import re
from contextlib import contextmanager
from typing import BinaryIO, Iterator, List, Optional, Union

import numpy as np
import torch

from .checkpoint_errors import TRUST_HINT, CheckpointFileError, UntrustedCheckpointError
from .checkpoint_file import check_checkpoint_file, unreadable_error
from .history_buffer_guard import CheckedHistoryBuffer, history_buffer_getattr

__all__ = ['CheckpointFileError', 'UntrustedCheckpointError', 'allowed_globals', 'allowed_global_names',
           'history_buffer_getattr', 'is_trusted', 'safe_load', 'set_trusted', 'trusted_checkpoints',
           'unsafe_globals', 'MIN_TORCH']

MIN_TORCH = (2, 6)
TRUST_ENV = 'TESSERA_TRUST_CHECKPOINTS'
_trusted = False


def check_torch(torch_module=torch) -> None:
    """Raise ImportError unless torch has what :func:`safe_load` relies on:
    ``torch.serialization.safe_globals`` with ``(object, name)`` entries and
    ``get_unsafe_globals_in_checkpoint`` (torch >= 2.6)."""
    version = str(getattr(torch_module, '__version__', '0'))
    match = re.match(r'(\d+)\.(\d+)', version)
    numbers = tuple(int(x) for x in match.groups()) if match else (0, 0)
    serialization = getattr(torch_module, 'serialization', None)
    missing = [name for name in ('safe_globals', 'get_unsafe_globals_in_checkpoint')
               if not hasattr(serialization, name)]
    if missing or numbers < MIN_TORCH:
        raise ImportError(
            f'tessera-core needs torch >= {MIN_TORCH[0]}.{MIN_TORCH[1]} to load checkpoints safely '
            f'(torch.serialization.safe_globals with (object, name) entries); found torch {version}'
            + (f' without torch.serialization.{", ".join(missing)}' if missing else '')
            + f". Upgrade with: pip install 'torch>={MIN_TORCH[0]}.{MIN_TORCH[1]}'")


check_torch()


def _numpy_multiarray():
    core = getattr(np, '_core', None) or np.core
    return core.multiarray


def allowed_globals() -> list:
    """The globals an mmengine 0.10.x checkpoint may reference (and nothing else),
    as ``torch.serialization.safe_globals`` entries."""
    multiarray = _numpy_multiarray()
    entries = [
        (CheckedHistoryBuffer, 'mmengine.logging.history_buffer.HistoryBuffer'),
        (history_buffer_getattr, 'builtins.getattr'),
        np.ndarray,
        np.dtype,
    ]
    for core in ('numpy._core', 'numpy.core'):  # numpy 2 and numpy 1.x spellings
        entries.append((multiarray._reconstruct, f'{core}.multiarray._reconstruct'))
        entries.append((multiarray.scalar, f'{core}.multiarray.scalar'))
    # numpy >= 1.25 pickles dtypes as instances of their concrete classes.
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in ('Float64DType', 'Float32DType', 'Float16DType', 'Int64DType', 'Int32DType',
                     'Int16DType', 'Int8DType', 'UInt64DType', 'UInt32DType', 'UInt16DType',
                     'UInt8DType', 'BoolDType'):
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
    return _trusted or os.environ.get(TRUST_ENV, '') == '1'


@contextmanager
def trusted_checkpoints() -> Iterator[None]:
    """Context in which checkpoints are loaded without the allowlist."""
    previous = _trusted
    set_trusted(True)
    try:
        yield
    finally:
        set_trusted(previous)


def unsafe_globals(source) -> List[str]:
    """Globals referenced by a checkpoint that are not on the allowlist.

    Scans the pickle opcodes only; nothing in the file is executed.
    """
    found = torch.serialization.get_unsafe_globals_in_checkpoint(source)
    allowed = set(allowed_global_names())
    return sorted(g for g in found if g not in allowed)


def _refusal_reason(err: BaseException) -> str:
    """The unpickler's own reason, without torch's advice to pass weights_only=False."""
    text = str(err)
    match = re.search(r'WeightsUnpickler error:\s*(.+)', text)
    if match:
        return match.group(1).strip()
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    useful = [line for line in lines if not line.startswith(('Weights only load failed', 'Check the documentation'))]
    return (useful or lines or [type(err).__name__])[0]


def safe_load(source: Union[str, os.PathLike, BinaryIO], map_location=None,
              trusted: Optional[bool] = None, name: Optional[str] = None):
    """``torch.load`` with the allowlist.

    Args:
        source: a local path or a seekable binary file object.
        map_location: as for ``torch.load``.
        trusted: load without the allowlist; defaults to :func:`is_trusted`.
        name: how to name the checkpoint in errors (defaults to the path).

    Raises:
        FileNotFoundError: no such file.
        CheckpointFileError: the file is empty, truncated or not a checkpoint.
        UntrustedCheckpointError: the file references objects outside the
            allowlist (named in the message) and is not trusted.
    """
    if isinstance(source, (str, os.PathLike)):
        source = osp.expanduser(os.fspath(source))
        if not osp.isfile(source):
            raise FileNotFoundError(f'checkpoint {source} can not be found')
    name = name or (source if isinstance(source, str) else repr(source))
    start = None if isinstance(source, str) else source.tell()
    check_checkpoint_file(source, name)
    trusted = is_trusted() if trusted is None else trusted
    try:
        if trusted:
            return torch.load(source, map_location=map_location, weights_only=False)
        with torch.serialization.safe_globals(allowed_globals()):
            return torch.load(source, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        if trusted:
            raise unreadable_error(name, err) from err
        if start is not None:
            source.seek(start)
        try:
            offending = unsafe_globals(source)
        except Exception:  # an unreadable pickle: report the unpickler's own message
            offending = []
        detail = ', '.join(offending) if offending else _refusal_reason(err)
        raise UntrustedCheckpointError(
            f'refusing to load checkpoint {name}: it references pickled objects outside '
            f"Tessera's allowlist ({detail}). Unpickling them could run code. {TRUST_HINT}") from None
    except (RuntimeError, EOFError, ValueError, OSError) as err:
        raise unreadable_error(name, err) from err


def load_from_local(filename, map_location=None):
    """mmengine's loader for local paths (``CheckpointLoader`` scheme ``''``),
    through the allowlist."""
    return safe_load(filename, map_location=map_location)
