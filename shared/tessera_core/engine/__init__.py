from .ddp import DeviceAgnosticDDP
from .hooks import ClsVisualizationHook

__all__ = ['DeviceAgnosticDDP', 'ClsVisualizationHook']
