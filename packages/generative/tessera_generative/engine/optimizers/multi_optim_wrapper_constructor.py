"""One optimizer wrapper per sub-module: ``OptimWrapperDict`` for GANs (mmagic's constructor name).

``optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', generator=dict(optimizer=...),
discriminator=dict(optimizer=...))`` builds, for every key, mmengine's default wrapper constructor on
the model's attribute of that name (``model.generator``, ``model.discriminator``), with the key's own
``paramwise_cfg`` if it has one.
"""
import copy
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import DefaultOptimWrapperConstructor, OptimWrapperDict
from torch import nn

from tessera_generative.registry import OPTIM_WRAPPER_CONSTRUCTORS


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class MultiOptimWrapperConstructor:
    """Args:
        optim_wrapper_cfg (dict): ``{submodule name: optim wrapper config}``.
        paramwise_cfg (dict, optional): Must be None; give ``paramwise_cfg`` per sub-module.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError('MultiOptimWrapperConstructor takes paramwise_cfg inside each sub-module\'s '
                             f'config ({sorted(optim_wrapper_cfg)}), not at the top level')
        if not optim_wrapper_cfg or not all(isinstance(v, dict) for v in optim_wrapper_cfg.values()):
            raise ValueError('MultiOptimWrapperConstructor needs a dict of optim wrapper configs per sub-module, '
                             f'e.g. generator=dict(optimizer=...), discriminator=dict(optimizer=...); '
                             f'got {optim_wrapper_cfg}')
        self.optim_wrapper_cfg = copy.deepcopy(optim_wrapper_cfg)

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        if is_model_wrapper(model):
            model = model.module
        children = dict(model.named_children())
        wrappers = {}
        for name, cfg in self.optim_wrapper_cfg.items():
            if name not in children:
                raise KeyError(f'optim_wrapper has a {name!r} entry but {type(model).__name__} has no sub-module '
                               f'of that name; sub-modules: {sorted(children)}')
            cfg = copy.deepcopy(cfg)
            paramwise = cfg.pop('paramwise_cfg', None)
            cfg.setdefault('type', 'OptimWrapper')
            wrappers[name] = DefaultOptimWrapperConstructor(cfg, paramwise)(children[name])
        return OptimWrapperDict(**wrappers)
