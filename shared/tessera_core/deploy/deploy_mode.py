"""Switch every part of a model that has an inference-only form into it (``switch_to_deploy()``).

Backbones such as GhostNet, MicroNet, MobileNetV2 and G-GhostRegNet fold their BatchNorms into
the convs before them; layers (``ConvBnAct``, MicroNet's factorized convs) do the same on their
own. Each ``switch_to_deploy`` is idempotent, so calling it top-down on every module that has one
folds everything a model offers whatever the nesting.
"""
from typing import List, Tuple

from torch import nn


def switch_to_deploy(model: nn.Module) -> List[Tuple[str, str]]:
    """Put ``model`` in eval mode and call ``switch_to_deploy()`` on every module that has it.

    The change is in place (training afterwards is no longer the same model: no batch
    statistics). Returns ``[(module path, class name), ...]`` of the outermost modules switched
    ('' is ``model`` itself); inner modules switched by their parent's call are not listed.
    """
    model.eval()
    candidates = [(name, module) for name, module in model.named_modules()
                  if callable(getattr(module, 'switch_to_deploy', None))]
    switched = []
    for name, module in candidates:
        module.switch_to_deploy()
        covered = any(name == outer or name.startswith(f'{outer}.') if outer else True
                      for outer, _ in switched)
        if not covered:
            switched.append((name, type(module).__name__))
    model.eval()
    return switched
