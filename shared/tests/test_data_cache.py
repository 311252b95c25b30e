"""The tessera cache root rule and the atomic build of a cached data folder."""
import json
import os
import os.path as osp

import pytest

from tessera_core.datasets.cache import ensure_built_folder, tessera_cache_dir


def write_spec(spec):
    def build(folder):
        os.makedirs(folder)
        with open(osp.join(folder, 'payload.txt'), 'w') as f:
            f.write('x')
        with open(osp.join(folder, 'spec.json'), 'w') as f:
            json.dump(spec, f)
    return build


def test_cache_root_rule(monkeypatch, tmp_path):
    for var in ('TESSERA_CACHE', 'TESSERA_CACHE_DIR', 'XDG_CACHE_HOME'):
        monkeypatch.delenv(var, raising=False)
    assert tessera_cache_dir('reid') == osp.join(osp.expanduser('~/.cache'), 'tessera', 'reid')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert tessera_cache_dir('a', 'b') == str(tmp_path / 'xdg' / 'tessera' / 'a' / 'b')
    monkeypatch.setenv('TESSERA_CACHE_DIR', str(tmp_path / 'old'))
    assert tessera_cache_dir('x') == str(tmp_path / 'old' / 'x')
    monkeypatch.setenv('TESSERA_CACHE', str(tmp_path / 'new'))
    assert tessera_cache_dir('x') == str(tmp_path / 'new' / 'x')


def test_builds_once_then_reuses(tmp_path):
    calls = []
    spec = dict(name='s', seed=1, size=[2, 3])

    def build(folder):
        calls.append(folder)
        write_spec(spec)(folder)

    final = str(tmp_path / 'cache' / 's-v1-1')
    assert ensure_built_folder(final, spec, build) == final
    assert ensure_built_folder(final, spec, build) == final
    assert len(calls) == 1 and not calls[0].startswith(final + os.sep)   # built elsewhere, then renamed
    assert sorted(os.listdir(final)) == ['payload.txt', 'spec.json']
    assert os.listdir(tmp_path / 'cache') == ['s-v1-1']        # no temporary folder left behind
    with pytest.raises(ValueError, match=r's-v1-1 holds other scenes .*seed.: 2'):
        ensure_built_folder(final, dict(spec, seed=2), build, what='scenes')


def test_failed_build_leaves_nothing(tmp_path):
    def build(folder):
        os.makedirs(folder)
        raise KeyboardInterrupt

    final = str(tmp_path / 'f')
    with pytest.raises(KeyboardInterrupt):
        ensure_built_folder(final, dict(a=1), build)
    assert os.listdir(tmp_path) == []
    with pytest.raises(RuntimeError, match='wrote no spec.json'):
        ensure_built_folder(final, dict(a=1), lambda folder: os.makedirs(folder))
    assert os.listdir(tmp_path) == []


def test_concurrent_builder_that_won_the_race(tmp_path):
    """Another process renames its finished folder into place while this one builds: both end fine."""
    spec = dict(a=1)
    final = str(tmp_path / 'f')

    def build(folder):
        write_spec(spec)(final)     # the winner
        write_spec(spec)(folder)

    assert ensure_built_folder(final, spec, build) == final
    assert sorted(os.listdir(tmp_path)) == ['f']
