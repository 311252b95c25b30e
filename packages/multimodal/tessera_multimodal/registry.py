"""Child registries of tessera-multimodal.

Scope ``'tessera_multimodal'``; parents are tessera-core's registries (children of mmengine's), so core components such
as ``ImageClassifier`` resolve without a prefix in this package's configs.
``locations`` import this package's modules (and the matching core modules, whose
components lookups fall back to) lazily on first build.
"""
from mmengine.registry import Registry
from tessera_core.registry import MODELS as CORE_MODELS
from tessera_core.registry import DATASETS as CORE_DATASETS
from tessera_core.registry import TRANSFORMS as CORE_TRANSFORMS
from tessera_core.registry import METRICS as CORE_METRICS
from tessera_core.registry import HOOKS as CORE_HOOKS
from tessera_core.registry import LOOPS as CORE_LOOPS
from tessera_core.registry import OPTIM_WRAPPERS as CORE_OPTIM_WRAPPERS
from tessera_core.registry import PARAM_SCHEDULERS as CORE_PARAM_SCHEDULERS
from tessera_core.registry import MODEL_WRAPPERS as CORE_MODEL_WRAPPERS
from tessera_core.registry import DATA_SAMPLERS as CORE_DATA_SAMPLERS
from tessera_core.registry import EVALUATOR as CORE_EVALUATOR

SCOPE = 'tessera_multimodal'

MODELS = Registry('model', parent=CORE_MODELS, scope=SCOPE, locations=['tessera_multimodal.models', 'tessera_core.models'])
DATASETS = Registry('dataset', parent=CORE_DATASETS, scope=SCOPE, locations=['tessera_multimodal.datasets', 'tessera_core.datasets'])
TRANSFORMS = Registry('transform', parent=CORE_TRANSFORMS, scope=SCOPE, locations=['tessera_multimodal.datasets', 'tessera_core.datasets'])
METRICS = Registry('metric', parent=CORE_METRICS, scope=SCOPE, locations=['tessera_multimodal.evaluation', 'tessera_core.evaluation'])
HOOKS = Registry('hook', parent=CORE_HOOKS, scope=SCOPE, locations=['tessera_multimodal.engine', 'tessera_core.engine'])
LOOPS = Registry('loop', parent=CORE_LOOPS, scope=SCOPE, locations=['tessera_multimodal.engine', 'tessera_core.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=CORE_OPTIM_WRAPPERS, scope=SCOPE, locations=['tessera_multimodal.engine', 'tessera_core.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=CORE_PARAM_SCHEDULERS, scope=SCOPE, locations=['tessera_multimodal.engine', 'tessera_core.engine'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=CORE_MODEL_WRAPPERS, scope=SCOPE, locations=['tessera_multimodal.engine', 'tessera_core.engine'])
DATA_SAMPLERS = Registry('data sampler', parent=CORE_DATA_SAMPLERS, scope=SCOPE, locations=['tessera_multimodal.datasets', 'tessera_core.datasets'])
EVALUATOR = Registry('evaluator', parent=CORE_EVALUATOR, scope=SCOPE, locations=['tessera_multimodal.evaluation', 'tessera_core.evaluation'])
# Tokenizers are plain classes (not modules); mmengine has no root registry for them.
TOKENIZERS = Registry('tokenizer', scope=SCOPE, locations=['tessera_multimodal.models'])
