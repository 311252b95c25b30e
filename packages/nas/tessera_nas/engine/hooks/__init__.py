from .drop_path_prob_hook import DropPathProbHook

__all__ = ['DropPathProbHook']
