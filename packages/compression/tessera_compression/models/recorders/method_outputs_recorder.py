"""Records what a method of a (sub)module returns: ``source='head.forward'`` gives the logits."""
import functools

from torch import nn

from tessera_compression.registry import TASK_UTILS

from .base_recorder import BaseRecorder, close_matches, resolve_submodule

__all__ = ['MethodOutputsRecorder']


@TASK_UTILS.register_module()
class MethodOutputsRecorder(BaseRecorder):
    """Records the return value of ``<module>.<method>`` of one model instance.

    ``source`` is ``'<dotted module name>.<method>'`` or just ``'<method>'`` of the model itself:
    ``'head.forward'`` (a classifier's logits (N, num_classes)), ``'extract_feat'``,
    ``'backbone.forward'`` (the tuple of stage outputs). The method is wrapped on that instance only
    (an instance attribute), so other models of the same class are not affected; calling a module
    (``module(x)``) still goes through its hooks and reaches the wrapper.
    """

    def initialize(self, model: nn.Module) -> None:
        module_name, _, method_name = self.source.rpartition('.')
        owner = resolve_submodule(model, module_name, f'recorder source {self.source!r}: module')
        method = getattr(owner, method_name, None)
        if not callable(method):
            valid = sorted(n for n in dir(type(owner)) if not n.startswith('_') and callable(getattr(owner, n, None)))
            raise KeyError(f'recorder source {self.source!r}: {type(owner).__name__} has no method {method_name!r} '
                           f'(close matches: {close_matches(method_name, valid)})')

        @functools.wraps(method)
        def recorded(*args, **kwargs):
            out = method(*args, **kwargs)
            if self.recording:
                self.data_buffer.append(out)
            return out

        setattr(owner, method_name, recorded)
        self.initialized = True
