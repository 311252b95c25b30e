"""``tessera-build-mmcv``: the C++20 fix, the cache key shared with scripts/build_mmcv.sh, a cache hit.

The build itself (13 min) runs in ``make setup`` on a machine without the cached wheel.
"""
import os

import pytest

from tessera_core.tools import build_mmcv

SETUP_PY = '''
            extra_compile_args = {'nvcc': [cuda_args, '-std=c++14'] if cuda_args else ['-std=c++14'],
                                  'cxx': ['-std=c++14']}
            extra_compile_args['cxx'] = ['/std:c++17'] if platform.system() == 'Windows' else ['-std=c++17']
'''


def test_patch_switches_every_cxx_standard_flag_to_cxx20():
    patched = build_mmcv.patch_setup_py(SETUP_PY)
    assert '-std=c++14' not in patched and '-std=c++17' not in patched
    assert patched.count('-std=c++20') == 4
    assert '/std:c++17' in patched  # MSVC's flag left alone


def test_patch_refuses_a_setup_py_it_does_not_recognise():
    with pytest.raises(RuntimeError, match='C\\+\\+20 fix'):
        build_mmcv.patch_setup_py("extra_compile_args = {'cxx': []}\n")


def test_cache_key_is_mmcv_torch_python(tmp_path, monkeypatch):
    monkeypatch.setenv('TESSERA_CACHE', str(tmp_path))
    assert build_mmcv.cache_root() == str(tmp_path)
    monkeypatch.delenv('TESSERA_CACHE')
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))
    assert build_mmcv.cache_root() == str(tmp_path / 'xdg' / 'tessera')
    monkeypatch.delenv('XDG_CACHE_HOME')
    assert build_mmcv.cache_root() == os.path.expanduser('~/.cache/tessera')
    # the folder make setup, CI's cache and the README name
    assert build_mmcv.wheel_dir('/c', '2.1.0', '2.14.1', 'cp311') == '/c/wheels/mmcv-2.1.0-torch2.14.1-cp311'


def test_a_cached_wheel_is_used_without_building(tmp_path, monkeypatch, capsys):
    import sys
    import torch
    key = build_mmcv.wheel_dir(str(tmp_path), '2.1.0', torch.__version__.split('+')[0],
                               f'cp{sys.version_info[0]}{sys.version_info[1]}')
    os.makedirs(key)
    wheel = os.path.join(key, 'mmcv-2.1.0-cp311-cp311-linux_x86_64.whl')
    open(wheel, 'wb').close()
    monkeypatch.setattr(build_mmcv, 'build_wheel', lambda *a, **k: pytest.fail('built despite the cache'))
    assert build_mmcv.main(['--no-install', '--cache-dir', str(tmp_path)]) == 0
    assert f'cached wheel for mmcv 2.1.0 / torch {torch.__version__.split("+")[0]}' in capsys.readouterr().out


def test_without_a_cached_wheel_it_builds_into_the_key_folder(tmp_path, monkeypatch):
    calls = []
    monkeypatch.setattr(build_mmcv, 'build_wheel', lambda python, version, out_dir, jobs, interval:
                        calls.append((version, out_dir, jobs)) or os.path.join(out_dir, 'w.whl'))
    assert build_mmcv.main(['--no-install', '--cache-dir', str(tmp_path), '--jobs', '3']) == 0
    (version, out_dir, jobs), = calls
    assert version == '2.1.0' and jobs == 3 and out_dir.startswith(str(tmp_path / 'wheels' / 'mmcv-2.1.0-torch'))
