"""Child registries of tessera-detection.

Scope ``'tessera_detection'``; parents are mmdet's registries (themselves children of mmengine's), so mmdet components
resolve without a prefix; core components are named ``tessera_core.X``.
``locations`` import this package's modules lazily on first build.

``DATA_GENERATORS`` has no mmdet counterpart: it holds the deterministic
generators of the embedded datasets (e.g. ``DigitCanvas``), built by the
datasets that generate their files on first use.
"""
from mmengine.registry import Registry
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR

SCOPE = 'tessera_detection'

MODELS = Registry('model', parent=MMDET_MODELS, scope=SCOPE, locations=['tessera_detection.models'])
DATASETS = Registry('dataset', parent=MMDET_DATASETS, scope=SCOPE, locations=['tessera_detection.datasets'])
TRANSFORMS = Registry('transform', parent=MMDET_TRANSFORMS, scope=SCOPE, locations=['tessera_detection.datasets'])
METRICS = Registry('metric', parent=MMDET_METRICS, scope=SCOPE, locations=['tessera_detection.evaluation'])
HOOKS = Registry('hook', parent=MMDET_HOOKS, scope=SCOPE, locations=['tessera_detection.engine'])
LOOPS = Registry('loop', parent=MMDET_LOOPS, scope=SCOPE, locations=['tessera_detection.engine'])
OPTIM_WRAPPERS = Registry('optim wrapper', parent=MMDET_OPTIM_WRAPPERS, scope=SCOPE, locations=['tessera_detection.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=MMDET_PARAM_SCHEDULERS, scope=SCOPE, locations=['tessera_detection.engine'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=MMDET_MODEL_WRAPPERS, scope=SCOPE, locations=['tessera_detection.engine'])
DATA_SAMPLERS = Registry('data sampler', parent=MMDET_DATA_SAMPLERS, scope=SCOPE, locations=['tessera_detection.datasets'])
EVALUATOR = Registry('evaluator', parent=MMDET_EVALUATOR, scope=SCOPE, locations=['tessera_detection.evaluation'])
DATA_GENERATORS = Registry('data generator', scope=SCOPE, locations=['tessera_detection.datasets'])
