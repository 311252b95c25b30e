"""What a pickled ``HistoryBuffer`` may carry when a checkpoint is loaded safely.

mmengine's message hub pickles each ``HistoryBuffer`` with its instance
``__dict__`` and its statistics methods, and ``HistoryBuffer.__setstate__``
writes whatever ``statistics_methods`` the file holds into the *class-level*
registry. Allowlisting the class alone would therefore let a checkpoint set
arbitrary attributes on the buffers and rebind ``'mean'`` to another callable
for the whole process.

:class:`CheckedHistoryBuffer` is what the allowlist hands the unpickler under
the name ``mmengine.logging.history_buffer.HistoryBuffer``. Its
``__setstate__`` accepts exactly mmengine 0.10's state of a buffer:

- ``max_length``: a positive int;
- ``_log_history``, ``_count_history``: 1-d numeric numpy arrays of equal
  length, at most ``max_length`` long;
- ``statistics_methods`` (optional): ``{name: HistoryBuffer.<name>}`` for
  ``name`` in ``min`` / ``max`` / ``mean`` / ``current``, each bound to the
  method of the same name;

refuses anything else with :class:`UntrustedCheckpointError` naming the key,
and then turns the object into a plain ``HistoryBuffer``. Calling the class
(``REDUCE``) is refused: a buffer is only ever rebuilt from its state.

:func:`history_buffer_getattr` stands in for ``builtins.getattr``, which the
pickle of a statistics method uses (``getattr(HistoryBuffer, 'min')``); it
resolves only those names, so a payload can not walk from ``HistoryBuffer`` to
``__init__.__globals__`` and ``eval``.
"""
from __future__ import annotations

import numpy as np
from mmengine.logging.history_buffer import HistoryBuffer

from .checkpoint_errors import UntrustedCheckpointError

STATISTICS = ('min', 'max', 'mean', 'current')
_STATE_KEYS = {'max_length', '_log_history', '_count_history', 'statistics_methods'}


def history_buffer_getattr(obj, name: str):
    """Stand-in for ``builtins.getattr`` while unpickling: only
    ``getattr(HistoryBuffer, <statistics method>)`` is allowed."""
    if obj in (HistoryBuffer, CheckedHistoryBuffer) and name in STATISTICS:
        return getattr(HistoryBuffer, name)
    raise UntrustedCheckpointError(
        f'checkpoint asks for getattr({getattr(obj, "__qualname__", type(obj).__name__)}, {name!r}); '
        f'only getattr(HistoryBuffer, <{" | ".join(STATISTICS)}>) is allowed')


def _refuse(what: str):
    raise UntrustedCheckpointError(f'a HistoryBuffer in this checkpoint {what}; a HistoryBuffer may only '
                                   'carry its history, counts, max_length and its statistics methods')


def check_history_buffer_state(state) -> None:
    """Raise :class:`UntrustedCheckpointError` unless ``state`` is a buffer's own data."""
    if not isinstance(state, dict):
        _refuse(f'has a state of type {type(state).__name__}')
    extra = sorted(map(str, set(state) - _STATE_KEYS))
    if extra:
        _refuse(f'carries unexpected attributes {extra}')
    missing = sorted({'max_length', '_log_history', '_count_history'} - set(state))
    if missing:
        _refuse(f'lacks {missing}')
    max_length = state['max_length']
    if type(max_length) is not int or max_length <= 0:
        _refuse(f'has max_length={max_length!r} (expected a positive int)')
    arrays = [state['_log_history'], state['_count_history']]
    for key, arr in zip(('_log_history', '_count_history'), arrays):
        if type(arr) is not np.ndarray or arr.ndim != 1 or arr.dtype.kind not in 'biuf':
            _refuse(f'has {key} of type {type(arr).__name__}'
                    + (f' {arr.dtype}, {arr.ndim}-d' if isinstance(arr, np.ndarray) else '')
                    + ' (expected a 1-d numeric numpy array)')
    if len(arrays[0]) != len(arrays[1]) or len(arrays[0]) > max_length:
        _refuse(f'has histories of lengths {len(arrays[0])} / {len(arrays[1])} with '
                f'max_length={max_length}')
    methods = state.get('statistics_methods', {})
    if not isinstance(methods, dict):
        _refuse(f'has statistics_methods of type {type(methods).__name__}')
    for name, method in methods.items():
        if name not in STATISTICS or method is not getattr(HistoryBuffer, name):
            _refuse(f'binds statistics method {name!r} to {method!r}')


class CheckedHistoryBuffer(HistoryBuffer):
    """Unpickled in place of ``HistoryBuffer``; becomes one once its state is checked."""

    def __init__(self, *args, **kwargs):
        raise UntrustedCheckpointError(
            'checkpoint calls HistoryBuffer(...); a HistoryBuffer may only be rebuilt from its state')

    def __setstate__(self, state):
        check_history_buffer_state(state)
        HistoryBuffer.__setstate__(self, state)
        self.__class__ = HistoryBuffer
