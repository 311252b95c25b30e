"""Base configs shared from tessera-core through ``tessera_core::`` left every effective config unchanged.

``tests/data/effective_configs.json`` holds ``Config.fromfile(path).to_dict()`` of every config as it was
before the packages' copies of core's bases were deleted (``scripts/snapshot_effective_configs.py``; the
snapshot names its commit). Two differences are expected and checked rather than ignored:

- mmengine marks every dict with a ``type`` that comes from a ``tessera_core::`` base with
  ``_scope_='tessera_core'``; each such type must resolve, in tessera-core's registry, to the very
  object the package's own registry gives (so building is unchanged);
- ``persistent_workers=False`` (DataLoader's default) is written out where a ``num_workers=0`` config
  now inherits core's Fashion-MNIST base, whose loaders keep their workers.
"""
import importlib
import importlib.util
import json
import os.path as osp

import pytest

import tessera_core  # noqa: F401  (installs the tessera_<pkg>:: bases)
import tessera_core.registry as core_registry
from mmengine.registry import Registry

ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))
with open(osp.join(ROOT, 'tests', 'data', 'effective_configs.json')) as f:
    SNAPSHOT = json.load(f)['configs']
_spec = importlib.util.spec_from_file_location(
    'snapshot_effective_configs', osp.join(ROOT, 'scripts', 'snapshot_effective_configs.py'))
snapshot_tool = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(snapshot_tool)
CORE_REGISTRIES = {name: reg for name, reg in vars(core_registry).items() if isinstance(reg, Registry)}


def pop_core_scopes(obj, found, path=''):
    """Remove ``_scope_='tessera_core'`` marks in place, recording ``(key path, type)`` of each."""
    if isinstance(obj, dict):
        if obj.get('_scope_') == 'tessera_core':
            del obj['_scope_']
            found.append((path, obj.get('type')))
        for key, value in obj.items():
            pop_core_scopes(value, found, f'{path}.{key}' if path else key)
    elif isinstance(obj, list):
        for i, value in enumerate(obj):
            pop_core_scopes(value, found, f'{path}[{i}]')
    return obj


def with_default_persistent_workers(before: dict, after: dict) -> dict:
    """``before`` with ``persistent_workers=False`` added where ``after`` writes out that default."""
    before = json.loads(json.dumps(before))
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        old, new = before.get(loader), after.get(loader)
        if (isinstance(old, dict) and isinstance(new, dict) and 'persistent_workers' not in old
                and new.get('persistent_workers') is False and old.get('num_workers') == 0):
            old['persistent_workers'] = False
    return before


@pytest.mark.parametrize('path', sorted(SNAPSHOT))
def test_effective_config_unchanged(path):
    assert osp.isfile(osp.join(ROOT, path)), f'{path} was in the snapshot and is gone'
    found = []
    after = pop_core_scopes(snapshot_tool.effective_config(path), found)
    assert after == with_default_persistent_workers(SNAPSHOT[path], after)

    scope = after.get('default_scope', 'tessera_core')
    package_registry = importlib.import_module(f'{scope}.registry')
    for key_path, type_name in found:
        assert isinstance(type_name, str), f'{path}: {key_path} has a non-string type {type_name!r}'
        resolved = [(name, reg.get(type_name)) for name, reg in CORE_REGISTRIES.items()]
        resolved = [(name, obj) for name, obj in resolved if obj is not None]
        assert resolved, f'{path}: {key_path}.type={type_name!r} is built in tessera_core scope, which lacks it'
        for name, obj in resolved:
            assert getattr(package_registry, name).get(type_name) is obj, (
                f'{path}: {key_path}.type={type_name!r} is a different object in {scope}.{name}')


def test_package_copies_of_core_bases_are_gone():
    for copy in ('compression/tessera_compression/configs/_base_/datasets/fashion_mnist.py',
                 'compression/tessera_compression/configs/_base_/datasets/embedded_digits.py',
                 'nas/tessera_nas/configs/_base_/datasets/embedded_digits_32px.py'):
        assert not osp.exists(osp.join(ROOT, 'packages', copy)), copy
