"""Child registries of tessera-core.

Every registry has ``scope='tessera_core'`` and the matching mmengine root
registry as parent, so configs with ``default_scope='tessera_core'`` find
components of this package first and fall back to mmengine's. ``locations``
makes the registries import their modules lazily on first ``build``/``get``.
"""
from mmengine.registry import DATA_SAMPLERS as MMENGINE_DATA_SAMPLERS
from mmengine.registry import DATASETS as MMENGINE_DATASETS
from mmengine.registry import EVALUATOR as MMENGINE_EVALUATOR
from mmengine.registry import HOOKS as MMENGINE_HOOKS
from mmengine.registry import LOOPS as MMENGINE_LOOPS
from mmengine.registry import METRICS as MMENGINE_METRICS
from mmengine.registry import MODEL_WRAPPERS as MMENGINE_MODEL_WRAPPERS
from mmengine.registry import MODELS as MMENGINE_MODELS
from mmengine.registry import OPTIM_WRAPPERS as MMENGINE_OPTIM_WRAPPERS
from mmengine.registry import PARAM_SCHEDULERS as MMENGINE_PARAM_SCHEDULERS
from mmengine.registry import TRANSFORMS as MMENGINE_TRANSFORMS
from mmengine.registry import Registry

SCOPE = 'tessera_core'

MODELS = Registry('model', parent=MMENGINE_MODELS, scope=SCOPE, locations=['tessera_core.models'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMENGINE_MODEL_WRAPPERS, scope=SCOPE,
                          locations=['tessera_core.engine'])
DATASETS = Registry('dataset', parent=MMENGINE_DATASETS, scope=SCOPE, locations=['tessera_core.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=MMENGINE_DATA_SAMPLERS, scope=SCOPE,
                         locations=['tessera_core.datasets'])
TRANSFORMS = Registry('transform', parent=MMENGINE_TRANSFORMS, scope=SCOPE,
                      locations=['tessera_core.datasets.transforms'])
METRICS = Registry('metric', parent=MMENGINE_METRICS, scope=SCOPE, locations=['tessera_core.evaluation'])
EVALUATOR = Registry('evaluator', parent=MMENGINE_EVALUATOR, scope=SCOPE, locations=['tessera_core.evaluation'])
HOOKS = Registry('hook', parent=MMENGINE_HOOKS, scope=SCOPE, locations=['tessera_core.engine'])
LOOPS = Registry('loop', parent=MMENGINE_LOOPS, scope=SCOPE, locations=['tessera_core.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMENGINE_OPTIM_WRAPPERS, scope=SCOPE,
                          locations=['tessera_core.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMENGINE_PARAM_SCHEDULERS, scope=SCOPE,
                            locations=['tessera_core.engine'])
