from .hooks import KNNMonitorHook
from .optimizers import SubmoduleOptimWrapperConstructor

__all__ = ['KNNMonitorHook', 'SubmoduleOptimWrapperConstructor']
