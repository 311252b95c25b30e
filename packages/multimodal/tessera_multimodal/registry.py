"""Child registries of tessera-multimodal.

Scope ``'tessera_multimodal'``; each is a child of the matching tessera-core registry (itself a child of
mmengine's), made by :func:`tessera_core.registry.child_registries`, so core components such as
``ImageClassifier`` resolve without a prefix in this package's configs, and a lookup imports this
package's module before the matching core module.
"""
from mmengine.registry import Registry

from tessera_core import registry as core

SCOPE = 'tessera_multimodal'

globals().update(core.child_registries(core, SCOPE, [SCOPE, core.SCOPE]))

# Tokenizers are plain classes (not modules); mmengine has no root registry for them.
TOKENIZERS = Registry('tokenizer', scope=SCOPE, locations=['tessera_multimodal.models'])
__all__ = ['SCOPE', 'TOKENIZERS'] + [row[0] for row in core.REGISTRY_TABLE]
