"""The allowlisted checkpoint loader: mmengine checkpoints load, payloads are refused."""
import builtins
import os
import pickle

import numpy as np
import pytest
import torch
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from tessera_core.engine import safe_checkpoint
from tessera_core.engine.safe_checkpoint import UntrustedCheckpointError, safe_load


class _Reduce:
    """Pickles as ``fn(*args)``; callable so pickle accepts it as a reduce function."""

    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args

    def __call__(self, *args):  # pragma: no cover - never called, only pickled
        raise AssertionError


def _save(obj, path):
    torch.save(obj, path)
    return str(path)


def test_mmengine_style_checkpoint_loads(tmp_path):
    buf = HistoryBuffer()
    buf.update(1.5)
    buf.update(2.5)
    ckpt = {'meta': {'epoch': 1, 'seed': np.int64(3), 'arr': np.arange(3.0)},
            'message_hub': {'log_scalars': {'loss': buf},
                            'stats': HistoryBuffer._statistics_methods},
            'state_dict': {'w': torch.ones(2)}}
    path = _save(ckpt, tmp_path / 'ok.pth')
    loaded = CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert loaded['meta']['epoch'] == 1 and int(loaded['meta']['seed']) == 3
    assert np.array_equal(loaded['meta']['arr'], np.arange(3.0))
    assert loaded['message_hub']['log_scalars']['loss'].mean() == 2.0
    assert loaded['message_hub']['stats']['min'] is HistoryBuffer.min
    assert torch.equal(loaded['state_dict']['w'], torch.ones(2))


def test_code_execution_payload_is_refused(tmp_path):
    victim = tmp_path / 'pwned.txt'
    path = _save({'state_dict': {}, 'evil': _Reduce(builtins.open, str(victim), 'w')}, tmp_path / 'evil.pth')
    with pytest.raises(UntrustedCheckpointError) as err:
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert 'io.open' in str(err.value)  # builtins.open pickles as io.open
    assert '--trust-checkpoint' in str(err.value) and 'trust_checkpoint' in str(err.value)
    assert not victim.exists()


def test_os_system_payload_is_refused(tmp_path):
    victim = tmp_path / 'pwned2.txt'
    path = _save({'x': _Reduce(os.system, f'touch {victim}')}, tmp_path / 'evil2.pth')
    with pytest.raises(UntrustedCheckpointError, match='system'):
        safe_load(path)
    assert not victim.exists()


def test_getattr_chain_through_allowlisted_globals_is_refused(tmp_path):
    """A payload made only of allowlisted globals (getattr + HistoryBuffer) that
    would walk HistoryBuffer.__init__.__globals__['__builtins__']['eval']."""
    victim = tmp_path / 'pwned3.txt'
    init = _Reduce(getattr, HistoryBuffer, '__init__')
    module_globals = _Reduce(getattr, init, '__globals__')
    get = _Reduce(getattr, module_globals, 'get')
    builtins_dict = _Reduce(get, '__builtins__')
    get_builtin = _Reduce(getattr, builtins_dict, 'get')
    eval_fn = _Reduce(get_builtin, 'eval')
    payload = _Reduce(eval_fn, f"open({str(victim)!r}, 'w')")
    path = _save({'message_hub': payload}, tmp_path / 'evil3.pth')
    found = torch.serialization.get_unsafe_globals_in_checkpoint(path)
    assert set(found) <= set(safe_checkpoint.allowed_global_names()), found  # only allowlisted names
    with pytest.raises(pickle.UnpicklingError):
        safe_load(path)
    assert not victim.exists()


def test_history_buffer_getattr_only_resolves_statistics():
    assert safe_checkpoint.history_buffer_getattr(HistoryBuffer, 'mean') is HistoryBuffer.mean
    with pytest.raises(UntrustedCheckpointError, match='__init__'):
        safe_checkpoint.history_buffer_getattr(HistoryBuffer, '__init__')
    with pytest.raises(UntrustedCheckpointError):
        safe_checkpoint.history_buffer_getattr(os, 'system')


def test_explicit_trust_opt_in(tmp_path):
    path = _save({'fn': _Reduce(int, '7')}, tmp_path / 'needs_trust.pth')
    with pytest.raises(UntrustedCheckpointError, match='builtins.int'):
        safe_load(path)
    with safe_checkpoint.trusted_checkpoints():
        assert CheckpointLoader.load_checkpoint(path, map_location='cpu')['fn'] == 7
    assert not safe_checkpoint.is_trusted()
    with pytest.raises(UntrustedCheckpointError):
        safe_load(path)


def test_missing_file_is_named(tmp_path):
    with pytest.raises(FileNotFoundError, match='nope.pth'):
        safe_load(str(tmp_path / 'nope.pth'))


class _PickledAs:
    """Pickles as an object of ``cls`` rebuilt from ``state`` (NEWOBJ + BUILD, as HistoryBuffer does)."""

    def __init__(self, cls, state):
        self.cls, self.state = cls, state

    @property
    def __class__(self):  # pickle checks that the object is of the class NEWOBJ names
        return self.cls

    def __reduce__(self):
        import copyreg
        return copyreg.__newobj__, (self.cls,), self.state


def _buffer_state(**changes):
    state = dict(max_length=1000000, _log_history=np.array([1.0, 2.0]), _count_history=np.array([1, 1]),
                 statistics_methods={'min': HistoryBuffer.min, 'mean': HistoryBuffer.mean})
    state.update(changes)
    return {k: v for k, v in state.items() if v is not None}


def test_history_buffer_with_its_own_data_loads_as_a_plain_buffer(tmp_path):
    path = _save({'b': _PickledAs(HistoryBuffer, _buffer_state())}, tmp_path / 'ok.pth')
    buf = safe_load(path)['b']
    assert type(buf) is HistoryBuffer and buf.mean() == 1.5 and buf.max_length == 1000000


@pytest.mark.parametrize('changes, reason', [
    (dict(evil='x'), "unexpected attributes \\['evil'\\]"),
    (dict(update=np.ndarray), "unexpected attributes \\['update'\\]"),
    (dict(statistics_methods={'mean': HistoryBuffer.max}), "binds statistics method 'mean'"),
    (dict(statistics_methods={'weighted': HistoryBuffer.min}), "binds statistics method 'weighted'"),
    (dict(_log_history=np.ones((2, 1))), '_log_history of type ndarray float64, 2-d'),
    (dict(_log_history=[1.0, 2.0]), '_log_history of type list'),
    (dict(_count_history=np.array([1])), 'histories of lengths 2 / 1'),
    (dict(max_length=1), 'histories of lengths 2 / 2 with max_length=1'),
    (dict(max_length='1'), "max_length='1'"),
    (dict(max_length=None), "lacks \\['max_length'\\]"),
])
def test_history_buffer_state_is_restricted_to_its_own_data(tmp_path, changes, reason):
    registry = dict(HistoryBuffer._statistics_methods)
    path = _save({'b': _PickledAs(HistoryBuffer, _buffer_state(**changes))}, tmp_path / 'bad.pth')
    with pytest.raises(UntrustedCheckpointError, match=reason):
        safe_load(path)
    assert HistoryBuffer._statistics_methods == registry  # the class-level registry is untouched


def test_history_buffer_can_not_be_called(tmp_path):
    path = _save({'b': _Reduce(HistoryBuffer, [1.0], [1])}, tmp_path / 'call.pth')
    with pytest.raises(UntrustedCheckpointError, match=r'calls HistoryBuffer\(\.\.\.\)'):
        safe_load(path)


def test_force_no_weights_only_env_does_not_open_the_allowlist(tmp_path, monkeypatch):
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    victim = tmp_path / 'pwned4.txt'
    path = _save({'x': _Reduce(builtins.open, str(victim), 'w')}, tmp_path / 'evil4.pth')
    with pytest.raises(UntrustedCheckpointError, match='io.open'):
        CheckpointLoader.load_checkpoint(path, map_location='cpu')
    assert not victim.exists()


def test_numpy_names_allowlisted_are_exactly_the_data_constructors():
    names = safe_checkpoint.allowed_global_names()
    multiarray = sorted(n for n in names if '.multiarray.' in n)
    assert multiarray == ['numpy._core.multiarray._reconstruct', 'numpy._core.multiarray.scalar',
                          'numpy.core.multiarray._reconstruct', 'numpy.core.multiarray.scalar']
    assert all(n.startswith(('numpy.', 'mmengine.logging.history_buffer.HistoryBuffer', 'builtins.getattr'))
               for n in names), names
    numpy_entries = {e[1]: e[0] for e in safe_checkpoint.allowed_globals() if isinstance(e, tuple)}
    assert numpy_entries['numpy.core.multiarray._reconstruct'] is numpy_entries['numpy._core.multiarray._reconstruct']


def test_old_torch_is_refused_at_import_with_the_version_needed():
    import types
    old = types.SimpleNamespace(__version__='2.4.1', serialization=types.SimpleNamespace(add_safe_globals=None))
    with pytest.raises(ImportError, match=r"torch >= 2\.6.*found torch 2\.4\.1.*safe_globals.*pip install 'torch>=2\.6'"):
        safe_checkpoint.check_torch(old)
    safe_checkpoint.check_torch(torch)  # the installed one is fine
