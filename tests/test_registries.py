"""Every task package's registries are children of tessera-core's, which are children of mmengine's."""
import importlib

import pytest
from mmengine.registry import Registry, root

from tessera_core import registry as core

# detection's registries are children of mmdet's (see tessera_detection/registry.py)
CORE_CHILDREN = ['tessera_compression', 'tessera_generative', 'tessera_multimodal', 'tessera_nas',
                 'tessera_reid', 'tessera_video']


def test_core_registries_are_children_of_mmengine_roots():
    for attr, name, subpackage in core.REGISTRY_TABLE:
        child = getattr(core, attr)
        assert child.parent is getattr(root, attr)
        assert (child.name, child.scope, child._locations) == (name, 'tessera_core', [f'tessera_core.{subpackage}'])


@pytest.mark.parametrize('package', CORE_CHILDREN)
def test_package_registries_are_children_of_core(package):
    module = importlib.import_module(f'{package}.registry')
    assert module.SCOPE == package
    for attr, name, subpackage in core.REGISTRY_TABLE:
        child = getattr(module, attr)
        assert child.parent is getattr(core, attr), f'{package}.{attr}'
        assert (child.name, child.scope) == (name, package)
        # the package's own module first: mmengine imports only the locations of the registry a lookup starts at
        assert child._locations == [f'{package}.{subpackage}', f'tessera_core.{subpackage}']
        assert attr in module.__all__
    # a core component resolves from the package's scope without a prefix
    assert module.MODELS.get('ImageClassifier') is core.MODELS.get('ImageClassifier')


def test_missing_parent_is_named():
    with pytest.raises(KeyError, match="'RUNNER_CONSTRUCTORS'.*'runner constructor'.*'my_scope'"):
        core.child_registries({'RUNNERS': Registry('runner')}, 'my_scope', ['my_scope'])
