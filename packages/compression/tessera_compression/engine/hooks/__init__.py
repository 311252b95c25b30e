from .bag_of_instances_hook import BagOfInstancesHook
from .knn_monitor_hook import KNNMonitorHook

__all__ = ['BagOfInstancesHook', 'KNNMonitorHook']
