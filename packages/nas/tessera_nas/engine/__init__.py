from .hooks import DropPathProbHook
from .hooks.cars_evolution_hook import CARSEvolutionHook  # noqa: F401
from .hooks.genotype_hook import GenotypeHook  # noqa: F401
from .hooks.gold_nas_pruning_hook import GoldNASPruningHook  # noqa: F401
from .gold_nas_pruner import GoldNASPruner  # noqa: F401
from .loops import ProgressiveSearchLoop  # noqa: F401
from .optim_constructor import DARTSOptimWrapperConstructor  # noqa: F401

__all__ = ['DropPathProbHook']
