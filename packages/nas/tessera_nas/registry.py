"""Child registries of tessera-nas.

Scope ``'tessera_nas'``; each is a child of the matching tessera-core registry (itself
a child of mmengine's), so core components such as ``ImageClassifier`` resolve
without a prefix in this package's configs. mmengine imports the ``locations`` of
the registry a lookup starts from, not of its parents, so each child lists this
package's module and the matching core module.
"""
from mmengine.registry import Registry

from tessera_core import registry as core

SCOPE = 'tessera_nas'

RUNNERS = Registry('runner', parent=core.RUNNERS, scope=SCOPE,
                   locations=['tessera_nas.engine', 'tessera_core.engine'])
RUNNER_CONSTRUCTORS = Registry('runner constructor', parent=core.RUNNER_CONSTRUCTORS, scope=SCOPE,
                               locations=['tessera_nas.engine', 'tessera_core.engine'])
LOOPS = Registry('loop', parent=core.LOOPS, scope=SCOPE,
                 locations=['tessera_nas.engine', 'tessera_core.engine'])
HOOKS = Registry('hook', parent=core.HOOKS, scope=SCOPE,
                 locations=['tessera_nas.engine', 'tessera_core.engine'])
STRATEGIES = Registry('strategy', parent=core.STRATEGIES, scope=SCOPE,
                      locations=['tessera_nas.engine', 'tessera_core.engine'])
DATASETS = Registry('dataset', parent=core.DATASETS, scope=SCOPE,
                    locations=['tessera_nas.datasets', 'tessera_core.datasets'])
DATA_SAMPLERS = Registry('data sampler', parent=core.DATA_SAMPLERS, scope=SCOPE,
                         locations=['tessera_nas.datasets', 'tessera_core.datasets'])
TRANSFORMS = Registry('transform', parent=core.TRANSFORMS, scope=SCOPE,
                      locations=['tessera_nas.datasets', 'tessera_core.datasets'])
MODELS = Registry('model', parent=core.MODELS, scope=SCOPE,
                  locations=['tessera_nas.models', 'tessera_core.models'])
MODEL_WRAPPERS = Registry('model_wrapper', parent=core.MODEL_WRAPPERS, scope=SCOPE,
                          locations=['tessera_nas.engine', 'tessera_core.engine'])
WEIGHT_INITIALIZERS = Registry('weight initializer', parent=core.WEIGHT_INITIALIZERS, scope=SCOPE,
                               locations=['tessera_nas.models', 'tessera_core.models'])
OPTIMIZERS = Registry('optimizer', parent=core.OPTIMIZERS, scope=SCOPE,
                      locations=['tessera_nas.engine', 'tessera_core.engine'])
OPTIM_WRAPPERS = Registry('optim_wrapper', parent=core.OPTIM_WRAPPERS, scope=SCOPE,
                          locations=['tessera_nas.engine', 'tessera_core.engine'])
OPTIM_WRAPPER_CONSTRUCTORS = Registry('optimizer wrapper constructor', parent=core.OPTIM_WRAPPER_CONSTRUCTORS, scope=SCOPE,
                                      locations=['tessera_nas.engine', 'tessera_core.engine'])
PARAM_SCHEDULERS = Registry('parameter scheduler', parent=core.PARAM_SCHEDULERS, scope=SCOPE,
                            locations=['tessera_nas.engine', 'tessera_core.engine'])
METRICS = Registry('metric', parent=core.METRICS, scope=SCOPE,
                   locations=['tessera_nas.evaluation', 'tessera_core.evaluation'])
EVALUATOR = Registry('evaluator', parent=core.EVALUATOR, scope=SCOPE,
                     locations=['tessera_nas.evaluation', 'tessera_core.evaluation'])
TASK_UTILS = Registry('task util', parent=core.TASK_UTILS, scope=SCOPE,
                      locations=['tessera_nas.models', 'tessera_core.models'])
VISUALIZERS = Registry('visualizer', parent=core.VISUALIZERS, scope=SCOPE,
                       locations=['tessera_nas.engine', 'tessera_core.engine'])
VISBACKENDS = Registry('vis_backend', parent=core.VISBACKENDS, scope=SCOPE,
                       locations=['tessera_nas.engine', 'tessera_core.engine'])
LOG_PROCESSORS = Registry('log_processor', parent=core.LOG_PROCESSORS, scope=SCOPE,
                          locations=['tessera_nas.engine', 'tessera_core.engine'])
INFERENCERS = Registry('inferencer', parent=core.INFERENCERS, scope=SCOPE,
                       locations=['tessera_nas.engine', 'tessera_core.engine'])
# Searchers over the tabular benchmark (tessera_nas.benchmarks.search): WeakNAS and its baselines.
SEARCHERS = Registry('nas searcher', scope=SCOPE, locations=['tessera_nas.benchmarks.search'])
FUNCTIONS = Registry('function', parent=core.FUNCTIONS, scope=SCOPE,
                     locations=['tessera_nas.engine', 'tessera_core.engine'])
