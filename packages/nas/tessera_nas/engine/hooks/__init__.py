from .drop_path_prob_hook import DropPathProbHook
from .la_darts_hook import LADARTSHook  # noqa: F401

__all__ = ['DropPathProbHook']
