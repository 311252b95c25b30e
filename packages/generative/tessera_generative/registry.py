"""Child registries of tessera-generative.

Scope ``'tessera_generative'``; each is a child of the matching tessera-core registry (itself a child of
mmengine's), made by :func:`tessera_core.registry.child_registries`, so core components such as
``ImageClassifier`` resolve without a prefix in this package's configs, and a lookup imports this
package's module before the matching core module.
"""
from tessera_core import registry as core

SCOPE = 'tessera_generative'

globals().update(core.child_registries(core, SCOPE, [SCOPE, core.SCOPE]))
__all__ = ['SCOPE'] + [row[0] for row in core.REGISTRY_TABLE]
