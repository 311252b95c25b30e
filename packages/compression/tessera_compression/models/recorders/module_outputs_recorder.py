"""Records the output of a module, named by its dotted name in the model (a forward hook)."""
from torch import nn

from tessera_compression.registry import TASK_UTILS

from .base_recorder import BaseRecorder, resolve_submodule

__all__ = ['ModuleOutputsRecorder', 'ModuleInputsRecorder']


@TASK_UTILS.register_module()
class ModuleOutputsRecorder(BaseRecorder):
    """Records what ``model.get_submodule(source)`` returns on each call.

    Example: ``dict(type='ModuleOutputsRecorder', source='backbone.layer3')`` records the output
    (N, C, H, W) of the third residual stage. A name the model lacks raises a ``KeyError`` listing
    the close matches.
    """

    def initialize(self, model: nn.Module) -> None:
        module = resolve_submodule(model, self.source, 'recorder source')
        self.handle = module.register_forward_hook(self._hook)
        self.initialized = True

    def _hook(self, module, inputs, output):
        if self.recording:
            self.record(output)


@TASK_UTILS.register_module()
class ModuleInputsRecorder(ModuleOutputsRecorder):
    """Records the positional inputs (a tuple) of ``model.get_submodule(source)`` on each call."""

    def _hook(self, module, inputs, output):
        if self.recording:
            self.record(inputs)
