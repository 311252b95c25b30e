"""Child registries of tessera-core.

One child of every mmengine root registry, with ``scope='tessera_core'``, so
configs with ``default_scope='tessera_core'`` find this package's components
first and fall back to mmengine's (and mmengine warns about no missing scope).
``locations`` import the modules that register into each child lazily, on its
first ``build``/``get``. Task packages' registries are children of these.
"""
from mmengine.registry import Registry
from mmengine.registry import root

SCOPE = 'tessera_core'

RUNNERS = Registry('runner', parent=root.RUNNERS, scope=SCOPE, locations=['tessera_core.engine'])
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=root.RUNNER_CONSTRUCTORS, scope=SCOPE, locations=['tessera_core.engine'])
LOOPS = Registry('loop', parent=root.LOOPS, scope=SCOPE, locations=['tessera_core.engine'])
HOOKS = Registry('hook', parent=root.HOOKS, scope=SCOPE, locations=['tessera_core.engine'])
STRATEGIES = Registry('strategy', parent=root.STRATEGIES, scope=SCOPE, locations=['tessera_core.engine'])
DATASETS = Registry('dataset', parent=root.DATASETS, scope=SCOPE, locations=['tessera_core.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=root.DATA_SAMPLERS, scope=SCOPE, locations=['tessera_core.datasets'])
TRANSFORMS = Registry('transform', parent=root.TRANSFORMS, scope=SCOPE, locations=['tessera_core.datasets'])
MODELS = Registry('model', parent=root.MODELS, scope=SCOPE, locations=['tessera_core.models'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=root.MODEL_WRAPPERS, scope=SCOPE, locations=['tessera_core.engine'])
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=root.WEIGHT_INITIALIZERS, scope=SCOPE, locations=['tessera_core.models'])
OPTIMIZERS = Registry('optimizer', parent=root.OPTIMIZERS, scope=SCOPE, locations=['tessera_core.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=root.OPTIM_WRAPPERS, scope=SCOPE, locations=['tessera_core.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor', parent=root.OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE, locations=['tessera_core.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=root.PARAM_SCHEDULERS, scope=SCOPE, locations=['tessera_core.engine'])
METRICS = Registry('metric', parent=root.METRICS, scope=SCOPE, locations=['tessera_core.evaluation'])
EVALUATOR = Registry('evaluator', parent=root.EVALUATOR, scope=SCOPE, locations=['tessera_core.evaluation'])
TASK_UTILS = Registry('task util', parent=root.TASK_UTILS, scope=SCOPE, locations=['tessera_core.models'])
VISUALIZERS = Registry('visualizer', parent=root.VISUALIZERS, scope=SCOPE, locations=['tessera_core.engine'])
VISBACKENDS = Registry('vis_backend', parent=root.VISBACKENDS, scope=SCOPE, locations=['tessera_core.engine'])
LOG_PROCESSORS = Registry('log_processor', parent=root.LOG_PROCESSORS, scope=SCOPE, locations=['tessera_core.engine'])
INFERENCERS = Registry('inferencer', parent=root.INFERENCERS, scope=SCOPE, locations=['tessera_core.engine'])
FUNCTIONS = Registry('function', parent=root.FUNCTIONS, scope=SCOPE, locations=['tessera_core.engine'])
