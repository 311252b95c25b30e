from .base_recorder import BaseRecorder
from .method_outputs_recorder import MethodOutputsRecorder
from .module_outputs_recorder import ModuleInputsRecorder, ModuleOutputsRecorder
from .recorder_manager import RecorderManager

__all__ = ['BaseRecorder', 'MethodOutputsRecorder', 'ModuleInputsRecorder', 'ModuleOutputsRecorder',
           'RecorderManager']
