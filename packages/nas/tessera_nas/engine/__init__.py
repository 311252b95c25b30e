from .hooks import DropPathProbHook
from .hooks.genotype_hook import GenotypeHook  # noqa: F401
from .loops import ProgressiveSearchLoop  # noqa: F401
from .optim_constructor import DARTSOptimWrapperConstructor  # noqa: F401

__all__ = ['DropPathProbHook']
