"""Child registries of tessera-core, and the factory the task packages build theirs with.

One child of every mmengine root registry, with ``scope='tessera_core'``, so configs with
``default_scope='tessera_core'`` find this package's components first and fall back to mmengine's (and
mmengine warns about no missing scope). ``locations`` import the modules that register into each child
lazily, on its first ``build``/``get``. A task package's registries are children of these, made by
:func:`child_registries`: mmengine imports the ``locations`` of the registry a lookup starts from, not of
its parents, so each package child lists the package's module and the matching core module.
"""
from types import ModuleType
from typing import Dict, Sequence, Union

from mmengine.registry import Registry
from mmengine.registry import root

SCOPE = 'tessera_core'

# (attribute, mmengine registry name, the subpackage whose modules register into it)
REGISTRY_TABLE = (
    ('RUNNERS', 'runner', 'engine'),
    ('RUNNER_CONSTRUCTORS', 'runner constructor', 'engine'),
    ('LOOPS', 'loop', 'engine'),
    ('HOOKS', 'hook', 'engine'),
    ('STRATEGIES', 'strategy', 'engine'),
    ('DATASETS', 'dataset', 'datasets'),
    ('DATA_SAMPLERS', 'data sampler', 'datasets'),
    ('TRANSFORMS', 'transform', 'datasets'),
    ('MODELS', 'model', 'models'),
    ('MODEL_WRAPPERS', 'model_wrapper', 'engine'),
    ('WEIGHT_INITIALIZERS', 'weight initializer', 'models'),
    ('OPTIMIZERS', 'optimizer', 'engine'),
    ('OPTIM_WRAPPERS', 'optim_wrapper', 'engine'),
    ('OPTIM_WRAPPER_CONSTRUCTORS', 'optimizer wrapper constructor', 'engine'),
    ('PARAM_SCHEDULERS', 'parameter scheduler', 'engine'),
    ('METRICS', 'metric', 'evaluation'),
    ('EVALUATOR', 'evaluator', 'evaluation'),
    ('TASK_UTILS', 'task util', 'models'),
    ('VISUALIZERS', 'visualizer', 'engine'),
    ('VISBACKENDS', 'vis_backend', 'engine'),
    ('LOG_PROCESSORS', 'log_processor', 'engine'),
    ('INFERENCERS', 'inferencer', 'engine'),
    ('FUNCTIONS', 'function', 'engine'),
)


def child_registries(parents: Union[ModuleType, Dict[str, Registry]], scope: str,
                     packages: Sequence[str]) -> Dict[str, Registry]:
    """One child registry per ``REGISTRY_TABLE`` row.

    Args:
        parents: a module or dict holding the parent registries under the table's attribute names.
        scope: the children's scope (the package's import name).
        packages: import names whose ``<package>.<subpackage>`` modules the children import on first use,
            in lookup order (the package itself, then the packages of its parents' components).

    Returns:
        ``{attribute: Registry}``, for ``globals().update(...)`` in the package's ``registry`` module.
    """
    get = parents.get if isinstance(parents, dict) else lambda name: getattr(parents, name, None)
    children = {}
    for attr, name, subpackage in REGISTRY_TABLE:
        parent = get(attr)
        if parent is None:
            raise KeyError(f'no parent registry {attr!r} for the child registry {name!r} of scope {scope!r}')
        children[attr] = Registry(name, parent=parent, scope=scope,
                                  locations=[f'{package}.{subpackage}' for package in packages])
    return children


globals().update(child_registries(root, SCOPE, [SCOPE]))
__all__ = ['SCOPE', 'REGISTRY_TABLE', 'child_registries'] + [row[0] for row in REGISTRY_TABLE]
