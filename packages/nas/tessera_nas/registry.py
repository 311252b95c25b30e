"""Child registries of tessera-nas.

Scope ``'tessera_nas'``; each is a child of the matching tessera-core registry (itself a child of
mmengine's), made by :func:`tessera_core.registry.child_registries`, so core components such as
``ImageClassifier`` resolve without a prefix in this package's configs, and a lookup imports this
package's module before the matching core module.
"""
from mmengine.registry import Registry

from tessera_core import registry as core

SCOPE = 'tessera_nas'

globals().update(core.child_registries(core, SCOPE, [SCOPE, core.SCOPE]))

# Searchers over the tabular benchmark (tessera_nas.benchmarks.search): WeakNAS and its baselines.
SEARCHERS = Registry('nas searcher', scope=SCOPE, locations=['tessera_nas.benchmarks.search'])
__all__ = ['SCOPE', 'SEARCHERS'] + [row[0] for row in core.REGISTRY_TABLE]
