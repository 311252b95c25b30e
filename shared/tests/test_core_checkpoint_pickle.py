"""``.pkl`` files read through ``mmengine.fileio.load`` are unpickled as plain data only."""
import builtins
import collections
import os
import pickle

import mmengine
import numpy as np
import pytest
from mmengine.fileio import load

from tessera_core.engine import safe_checkpoint
from tessera_core.engine.safe_checkpoint import UntrustedCheckpointError


class _Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


def _annotations():
    """What an mmdet / mmaction style annotation cache holds."""
    return {'metainfo': {'classes': ('cat', 'dog'), 'palette': [(1, 2, 3)]},
            'data_list': [{'img_path': 'a.jpg', 'height': 4, 'width': 6, 'raw': b'\x00\x01',
                           'instances': [{'bbox': [0.0, 1.0, 2.0, 3.0], 'bbox_label': 1, 'ignore_flag': 0}],
                           'keypoint': np.arange(12, dtype=np.float32).reshape(2, 3, 2),
                           'score': np.float64(0.5), 'label': np.int64(3), 'mask': np.array([True, False]),
                           'ids': {1, 2}, 'frozen': frozenset({3}), 'order': collections.OrderedDict(a=1),
                           'z': 1 + 2j, 'none': None}]}


def _equal(a, b):
    if isinstance(a, np.ndarray):
        return type(b) is np.ndarray and a.dtype == b.dtype and np.array_equal(a, b)
    if isinstance(a, dict):
        return type(a) is type(b) and a.keys() == b.keys() and all(_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return type(a) is type(b) and len(a) == len(b) and all(map(_equal, a, b))
    return type(a) is type(b) and a == b


@pytest.mark.parametrize('protocol', [2, 4, 5])
def test_plain_data_and_numpy_load(tmp_path, protocol):
    path = str(tmp_path / 'ann.pkl')
    with open(path, 'wb') as f:
        pickle.dump(_annotations(), f, protocol=protocol)
    assert _equal(load(path), _annotations())
    assert _equal(mmengine.load(path), _annotations())
    with open(path, 'rb') as f:
        assert _equal(load(f, file_format='pkl'), _annotations())


def test_mmengine_dump_round_trips(tmp_path):
    path = str(tmp_path / 'ann.pickle')
    mmengine.dump(_annotations(), path)
    assert _equal(load(path), _annotations())


def test_numpy1_names_are_accepted(tmp_path):
    data = pickle.dumps({'a': np.arange(3.0), 's': np.float32(2.5)}, protocol=2)
    assert b'numpy._core.multiarray' in data
    path = tmp_path / 'np1.pkl'
    path.write_bytes(data.replace(b'numpy._core.multiarray', b'numpy.core.multiarray'))
    out = load(str(path))
    assert np.array_equal(out['a'], np.arange(3.0)) and out['s'] == np.float32(2.5)


@pytest.mark.parametrize('payload, name', [
    (_Reduce(os.system, 'touch {victim}'), 'posix.system'),
    (_Reduce(builtins.open, '{victim}', 'w'), 'io.open'),
    (_Reduce(builtins.exec, "open('{victim}', 'w')"), 'builtins.exec'),
    (_Reduce(getattr, np.ndarray, '__init__'), 'builtins.getattr'),
    (_Reduce(np.testing._private.utils.runstring, "open('{victim}', 'w')", {}), 'numpy.testing._private.utils.runstring'),
])
def test_code_is_refused_naming_the_global(tmp_path, payload, name):
    victim = tmp_path / 'pwned.txt'
    payload.args = tuple(a.format(victim=victim) if isinstance(a, str) else a for a in payload.args)
    path = tmp_path / 'evil.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'data_list': [payload]}, f, protocol=2)
    with pytest.raises(UntrustedCheckpointError, match=name.replace('.', r'\.')) as err:
        load(str(path))
    assert 'trust_checkpoint' in str(err.value)
    assert not victim.exists()


def test_objects_of_classes_are_refused(tmp_path):
    path = tmp_path / 'obj.pkl'
    with open(path, 'wb') as f:
        pickle.dump({'d': collections.defaultdict(list)}, f)
    with pytest.raises(UntrustedCheckpointError, match='collections.defaultdict'):
        load(str(path))


def test_trust_opt_in(tmp_path, monkeypatch):
    path = tmp_path / 'needs_trust.pkl'
    with open(path, 'wb') as f:
        pickle.dump(_Reduce(int, '7'), f)
    with pytest.raises(UntrustedCheckpointError, match='builtins.int'):
        load(str(path))
    with safe_checkpoint.trusted_checkpoints():
        assert load(str(path)) == 7
    monkeypatch.setenv('TESSERA_TRUST_CHECKPOINTS', '1')
    assert load(str(path)) == 7
