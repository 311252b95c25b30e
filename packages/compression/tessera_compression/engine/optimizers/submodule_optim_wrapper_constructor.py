"""One optimizer wrapper per named submodule, as an ``OptimWrapperDict`` (GAN-style alternating training).

::

    optim_wrapper = dict(
        constructor='SubmoduleOptimWrapperConstructor',
        student=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
        generator=dict(optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))

Each key is a submodule name of the model (``model.get_submodule(key)``); its entry is an ordinary
optimizer-wrapper config (``type``, ``optimizer``, ``paramwise_cfg``, ``constructor`` of its own).
Only the parameters of that submodule are optimised by that wrapper, so anything outside every
named submodule (a frozen teacher, a momentum encoder) is in no optimizer.
"""
import copy

from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict

from tessera_compression.registry import OPTIM_WRAPPER_CONSTRUCTORS

from ...models.recorders.base_recorder import resolve_submodule

__all__ = ['SubmoduleOptimWrapperConstructor']


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class SubmoduleOptimWrapperConstructor:
    """Builds ``OptimWrapperDict(name=wrapper of model.<name>, ...)``; see the module docstring."""

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg=None):
        if paramwise_cfg is not None:
            raise ValueError('SubmoduleOptimWrapperConstructor: give paramwise_cfg inside each submodule entry')
        if not optim_wrapper_cfg:
            raise ValueError('SubmoduleOptimWrapperConstructor needs at least one `<submodule>=dict(...)` entry')
        bad = [k for k, v in optim_wrapper_cfg.items() if not isinstance(v, dict)]
        if bad:
            raise TypeError(f'SubmoduleOptimWrapperConstructor: entries {bad} are not optimizer-wrapper dicts '
                            f'(keys must be submodule names)')
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            cfg = copy.deepcopy(cfg)
            module = resolve_submodule(model, name, 'optim_wrapper key')
            constructor_type = cfg.pop('constructor', 'DefaultOptimWrapperConstructor')
            paramwise_cfg = cfg.pop('paramwise_cfg', None)
            constructor = OPTIM_WRAPPER_CONSTRUCTORS.build(dict(
                type=constructor_type, optim_wrapper_cfg=cfg, paramwise_cfg=paramwise_cfg))
            wrappers[name] = constructor(module)
        return OptimWrapperDict(**wrappers)
