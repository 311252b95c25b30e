"""Child registries of tessera-detection.

Scope ``'tessera_detection'``; parents are mmdet's registries (themselves children of mmengine's), so mmdet components
resolve without a prefix; core components are named ``tessera_core.X``.
``locations`` import this package's modules lazily on first build.

Every registry of mmdet has a child here (also those this package does not add
to, such as ``TASK_UTILS`` and ``VISUALIZERS``), so that a config with
``default_scope='tessera_detection'`` finds mmdet's anchor generators,
assigners and ``DetLocalVisualizer`` through the scope instead of falling back
with a warning. Each child's ``locations`` also lists its mmdet parent's, because
mmengine imports the locations of the registry a lookup starts from, not of
its parents: without them ``DetLocalVisualizer`` or ``FPN`` would be unknown
until something imported ``mmdet.visualization`` / ``mmdet.models``.

``DATA_GENERATORS`` has no mmdet counterpart: it holds the deterministic
generators of the embedded datasets (e.g. ``DigitCanvas``), built by the
datasets that generate their files on first use.
"""
from mmdet.registry import DATA_SAMPLERS as MMDET_DATA_SAMPLERS
from mmdet.registry import DATASETS as MMDET_DATASETS
from mmdet.registry import EVALUATOR as MMDET_EVALUATOR
from mmdet.registry import HOOKS as MMDET_HOOKS
from mmdet.registry import LOG_PROCESSORS as MMDET_LOG_PROCESSORS
from mmdet.registry import LOOPS as MMDET_LOOPS
from mmdet.registry import METRICS as MMDET_METRICS
from mmdet.registry import MODEL_WRAPPERS as MMDET_MODEL_WRAPPERS
from mmdet.registry import MODELS as MMDET_MODELS
from mmdet.registry import OPTIM_WRAPPER_CONSTRUCTORS as MMDET_OPTIM_WRAPPER_CONSTRUCTORS
from mmdet.registry import OPTIM_WRAPPERS as MMDET_OPTIM_WRAPPERS
from mmdet.registry import OPTIMIZERS as MMDET_OPTIMIZERS
from mmdet.registry import PARAM_SCHEDULERS as MMDET_PARAM_SCHEDULERS
from mmdet.registry import RUNNER_CONSTRUCTORS as MMDET_RUNNER_CONSTRUCTORS
from mmdet.registry import RUNNERS as MMDET_RUNNERS
from mmdet.registry import TASK_UTILS as MMDET_TASK_UTILS
from mmdet.registry import TRANSFORMS as MMDET_TRANSFORMS
from mmdet.registry import VISBACKENDS as MMDET_VISBACKENDS
from mmdet.registry import VISUALIZERS as MMDET_VISUALIZERS
from mmdet.registry import WEIGHT_INITIALIZERS as MMDET_WEIGHT_INITIALIZERS
from mmengine.registry import Registry

SCOPE = 'tessera_detection'
_MODELS, _DATASETS = ['tessera_detection.models'], ['tessera_detection.datasets']
_EVAL, _ENGINE = ['tessera_detection.evaluation'], ['tessera_detection.engine']


def _child(name: str, parent: Registry, locations: list) -> Registry:
    """A registry of scope ``SCOPE`` under ``parent`` that imports ``locations`` and the parent's."""
    return Registry(name, parent=parent, scope=SCOPE, locations=locations + list(parent._locations))


MODELS = _child('model', MMDET_MODELS, _MODELS)
TASK_UTILS = _child('task util', MMDET_TASK_UTILS, _MODELS)
WEIGHT_INITIALIZERS = _child('weight initializer', MMDET_WEIGHT_INITIALIZERS, _MODELS)
DATASETS = _child('dataset', MMDET_DATASETS, _DATASETS)
TRANSFORMS = _child('transform', MMDET_TRANSFORMS, _DATASETS)
DATA_SAMPLERS = _child('data sampler', MMDET_DATA_SAMPLERS, _DATASETS)
METRICS = _child('metric', MMDET_METRICS, _EVAL)
EVALUATOR = _child('evaluator', MMDET_EVALUATOR, _EVAL)
HOOKS = _child('hook', MMDET_HOOKS, _ENGINE)
LOOPS = _child('loop', MMDET_LOOPS, _ENGINE)
RUNNERS = _child('runner', MMDET_RUNNERS, _ENGINE)
RUNNER_CONSTRUCTORS = _child('runner constructor', MMDET_RUNNER_CONSTRUCTORS, _ENGINE)
OPTIMIZERS = _child('optimizer', MMDET_OPTIMIZERS, _ENGINE)
OPTIM_WRAPPERS = _child('optim wrapper', MMDET_OPTIM_WRAPPERS, _ENGINE)
OPTIM_WRAPPER_CONSTRUCTORS = _child('optimizer wrapper constructor', MMDET_OPTIM_WRAPPER_CONSTRUCTORS, _ENGINE)
PARAM_SCHEDULERS = _child('parameter scheduler', MMDET_PARAM_SCHEDULERS, _ENGINE)
MODEL_WRAPPERS = _child('model_wrapper', MMDET_MODEL_WRAPPERS, _ENGINE)
LOG_PROCESSORS = _child('log_processor', MMDET_LOG_PROCESSORS, _ENGINE)
VISUALIZERS = _child('visualizer', MMDET_VISUALIZERS, _ENGINE)
VISBACKENDS = _child('vis_backend', MMDET_VISBACKENDS, _ENGINE)

DATA_GENERATORS = Registry('data generator', scope=SCOPE, locations=_DATASETS)
