"""A restricted unpickler for ``.pkl`` / ``.pickle`` files read by ``mmengine.fileio.load``.

mmdet- and mmaction-style annotation files and dataset caches are pickles, and
unpickling runs whatever callables the file names. :class:`DataUnpickler`
resolves only the globals that plain data needs:

- containers and scalars pickle without globals (dict, list, tuple, str, bytes,
  int, float, bool, None), plus ``set``, ``frozenset``, ``bytearray``,
  ``complex``, ``collections.OrderedDict`` and ``_codecs.encode`` (how protocol
  2 writes bytes);
- numpy arrays, scalars and dtypes: ``numpy.ndarray``, ``numpy.dtype`` and its
  concrete classes, ``_reconstruct`` / ``scalar`` / ``_frombuffer`` under both
  the numpy 2 (``numpy._core``) and numpy 1.x (``numpy.core``) module names.

Any other global is refused with :class:`UntrustedCheckpointError` naming it,
before anything is called. Trust (``is_trusted()``, the same opt-in as for
checkpoints) falls back to ``pickle.load``. :class:`SafePickleHandler` is
mmengine's ``PickleHandler`` with this unpickler; :mod:`.checkpoint_safety`
registers it for the ``pkl`` and ``pickle`` formats.
"""
from __future__ import annotations

import _compat_pickle
import codecs
import collections
import pickle

import numpy as np
from mmengine.fileio.handlers import PickleHandler

from .checkpoint_errors import TRUST_HINT, UntrustedCheckpointError
from .safe_checkpoint import is_trusted


def allowed_data_globals() -> dict:
    """``'module.name' -> object`` for every global :class:`DataUnpickler` resolves."""
    core = getattr(np, '_core', None) or np.core
    allowed = {
        'builtins.set': set, 'builtins.frozenset': frozenset, 'builtins.bytearray': bytearray,
        'builtins.complex': complex, 'collections.OrderedDict': collections.OrderedDict,
        '_codecs.encode': codecs.encode,
        'numpy.ndarray': np.ndarray, 'numpy.dtype': np.dtype,
    }
    for module in ('numpy._core', 'numpy.core'):  # numpy 2 and numpy 1.x spellings
        allowed[f'{module}.multiarray._reconstruct'] = core.multiarray._reconstruct
        allowed[f'{module}.multiarray.scalar'] = core.multiarray.scalar
        allowed[f'{module}.numeric._frombuffer'] = core.numeric._frombuffer
    dtypes = getattr(np, 'dtypes', None)
    if dtypes is not None:
        for name in dir(dtypes):
            cls = getattr(dtypes, name)
            if isinstance(cls, type) and issubclass(cls, np.dtype) and name.endswith('DType'):
                allowed[f'numpy.dtypes.{name}'] = cls
    return allowed


class DataUnpickler(pickle.Unpickler):
    """``pickle.Unpickler`` that only resolves :func:`allowed_data_globals`."""

    def __init__(self, file, *, name: str = 'pickle file', **kwargs):
        super().__init__(file, **kwargs)
        self._name = name
        self._allowed = allowed_data_globals()

    def find_class(self, module, name):
        # protocol < 3 writes Python 2 names (``__builtin__.set``): map them as pickle does
        if (module, name) in _compat_pickle.NAME_MAPPING:
            module, name = _compat_pickle.NAME_MAPPING[(module, name)]
        elif module in _compat_pickle.IMPORT_MAPPING:
            module = _compat_pickle.IMPORT_MAPPING[module]
        full = f'{module}.{name}'
        if full in self._allowed:
            return self._allowed[full]
        raise UntrustedCheckpointError(
            f'refusing to unpickle {self._name}: it references {full}, which is not plain data '
            f'(only dict/list/str/numbers/numpy arrays are allowed). Unpickling it could run code. '
            f'{TRUST_HINT}')

    def persistent_load(self, pid):
        raise UntrustedCheckpointError(f'refusing to unpickle {self._name}: it uses persistent ids')


def safe_pickle_load(file, name: str = None, **kwargs):
    """``pickle.load`` restricted to plain data unless trusted."""
    name = name or getattr(file, 'name', None) or 'pickle file'
    if is_trusted():
        return pickle.load(file, **kwargs)
    return DataUnpickler(file, name=str(name), **kwargs).load()


class SafePickleHandler(PickleHandler):
    """mmengine's ``PickleHandler`` reading through :class:`DataUnpickler`."""

    def load_from_fileobj(self, file, **kwargs):
        return safe_pickle_load(file, **kwargs)

