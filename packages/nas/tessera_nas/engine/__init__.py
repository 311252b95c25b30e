from .hooks import DropPathProbHook

__all__ = ['DropPathProbHook']
