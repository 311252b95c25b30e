"""Records what a method of a (sub)module returns: ``source='head.forward'`` gives the logits."""
import inspect

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
    (``module(x)``) still goes through its hooks and reaches the wrapper. The wrapper is an object
    holding its module, not a closure, so a ``copy.deepcopy`` of the model (EMA hooks, MoCo's key
    encoder) calls the copy's own method.
    """

    def initialize(self, model: nn.Module) -> None:
        module_name, _, method_name = self.source.rpartition('.')
        owner = resolve_submodule(model, module_name, f'recorder source {self.source!r}: module')
        method = getattr(owner, method_name, None)
        if not callable(method):
            valid = sorted(n for n in dir(type(owner)) if not n.startswith('_') and callable(getattr(owner, n, None)))
            raise KeyError(f'recorder source {self.source!r}: {type(owner).__name__} has no method {method_name!r} '
                           f'(close matches: {close_matches(method_name, valid)})')

        setattr(owner, method_name, _RecordedMethod(owner, method_name, self, vars(owner).get(method_name)))
        self.initialized = True


class _RecordedMethod:
    """``owner.<name>`` replaced on the instance: calls the previous instance-level callable (another
    recorder's wrapper) or the class's method, and records the return value."""

    def __init__(self, owner: nn.Module, name: str, recorder: BaseRecorder, inner=None):
        self.owner, self.name, self.recorder, self.inner = owner, name, recorder, inner

    def __call__(self, *args, **kwargs):
        if self.inner is not None:
            out = self.inner(*args, **kwargs)
        else:
            cls = type(self.owner)
            out = inspect.getattr_static(cls, self.name).__get__(self.owner, cls)(*args, **kwargs)
        if self.recorder.recording:
            self.recorder.record(out)
        return out

    def __repr__(self) -> str:
        return f'<{self.name} of {type(self.owner).__name__} recorded by {self.recorder!r}>'
