"""The two optimizers of a DARTS search: one for the weights, one for the architecture parameters.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/train_search.py``: weights by
SGD lr 0.025, momentum 0.9, weight decay 3e-4, cosine to 0.001, gradient norm clipped to 5;
``cnn/architect.py``: architecture by Adam lr 3e-4, betas (0.5, 0.999), weight decay 1e-3).
PC-DARTS (https://github.com/yuhuixu1993/PC-DARTS ``train_search.py``): SGD lr 0.1 (batch 256),
cosine to 0, Adam lr 6e-4. P-DARTS (https://github.com/chenxin061/pdarts ``train_search.py``): SGD lr
0.025, cosine to 0, Adam lr 6e-4, architecture gradients also clipped to 5.

Config::

    optim_wrapper = dict(
        constructor='DARTSOptimWrapperConstructor',
        weights=dict(optimizer=dict(type='SGD', lr=0.025, momentum=0.9, weight_decay=3e-4),
                     clip_grad=dict(max_norm=5, norm_type=2)),
        architecture=dict(optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)))
    # schedulers per optimizer key: only the weights are annealed
    param_scheduler = dict(weights=[dict(type='CosineAnnealingLR', T_max=E, eta_min=1e-3, ...)],
                           architecture=[])
"""
import copy
from typing import Optional

from mmengine.model import is_model_wrapper
from mmengine.optim import OptimWrapperDict
from torch import nn

from tessera_nas.registry import OPTIM_WRAPPER_CONSTRUCTORS, OPTIM_WRAPPERS, OPTIMIZERS

__all__ = ['DARTSOptimWrapperConstructor']

KEYS = ('weights', 'architecture')


@OPTIM_WRAPPER_CONSTRUCTORS.register_module()
class DARTSOptimWrapperConstructor:
    """Builds ``OptimWrapperDict(weights=..., architecture=...)`` for a model whose ``backbone``
    has ``arch_parameters()`` (e.g. ``DARTSSearchBackbone`` in a ``DARTSSearchClassifier``).

    The architecture optimizer gets exactly ``backbone.arch_parameters()``; the weights optimizer
    gets every other trainable parameter of the model (the backbone's ``weight_parameters()`` and
    the neck and head), so the two sets are disjoint and cover the model.

    Args:
        optim_wrapper_cfg (dict): ``dict(weights=<optim wrapper cfg>, architecture=<optim wrapper
            cfg>)``; each has an ``optimizer`` config and optional wrapper keys (``type`` defaults
            to ``'OptimWrapper'``, ``clip_grad``, ...).
        paramwise_cfg (dict, optional): Not supported (must be None): the parameter groups are fixed.

    Raises:
        ValueError: other keys than ``weights`` and ``architecture``, a missing ``optimizer``, a
            ``paramwise_cfg``, or a model whose architecture parameters are not among its parameters.
        TypeError: a backbone without ``arch_parameters()``.
    """

    def __init__(self, optim_wrapper_cfg: dict, paramwise_cfg: Optional[dict] = None):
        if paramwise_cfg is not None:
            raise ValueError('DARTSOptimWrapperConstructor does not take a paramwise_cfg (the weights and the '
                             f'architecture parameters are its two groups), got {paramwise_cfg}')
        if not isinstance(optim_wrapper_cfg, dict) or sorted(optim_wrapper_cfg) != sorted(KEYS):
            keys = sorted(optim_wrapper_cfg) if isinstance(optim_wrapper_cfg, dict) else optim_wrapper_cfg
            raise ValueError(f'DARTSOptimWrapperConstructor needs exactly the keys {list(KEYS)} '
                             f'(one optim wrapper config each), got {keys}')
        for key in KEYS:
            if not isinstance(optim_wrapper_cfg[key], dict) or 'optimizer' not in optim_wrapper_cfg[key]:
                raise ValueError(f'optim_wrapper.{key} must be a dict with an optimizer config, '
                                 f'got {optim_wrapper_cfg[key]!r}')
        self.optim_wrapper_cfg = copy.deepcopy(dict(optim_wrapper_cfg))

    def __call__(self, model: nn.Module) -> OptimWrapperDict:
        module = model.module if is_model_wrapper(model) else model
        backbone = getattr(module, 'backbone', None)
        if backbone is None or not callable(getattr(backbone, 'arch_parameters', None)):
            raise TypeError('DARTSOptimWrapperConstructor needs a model whose backbone has arch_parameters() '
                            f'(a DARTS supernet); got backbone {type(backbone).__name__}')
        arch = list(backbone.arch_parameters())
        arch_ids = {id(p) for p in arch}
        all_ids = {id(p) for p in module.parameters()}
        if not arch_ids <= all_ids:
            raise ValueError('backbone.arch_parameters() returned tensors that are not parameters of the model')
        weights = [p for p in module.parameters() if id(p) not in arch_ids and p.requires_grad]
        wrappers = {}
        for key, params in (('weights', weights), ('architecture', arch)):
            cfg = copy.deepcopy(self.optim_wrapper_cfg[key])
            optimizer_cfg = cfg.pop('optimizer')
            optimizer_cfg['params'] = params
            cfg.setdefault('type', 'OptimWrapper')
            cfg['optimizer'] = OPTIMIZERS.build(optimizer_cfg)
            wrappers[key] = OPTIM_WRAPPERS.build(cfg)
        return OptimWrapperDict(**wrappers)
