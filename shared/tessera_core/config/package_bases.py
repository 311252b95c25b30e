"""``_base_ = ['tessera_core::_base_/datasets/fashion_mnist.py']``: base configs from any Tessera package.

mmengine 0.10.7 resolves ``pkg::path`` bases only for the OpenMMLab projects it lists in
``mmengine.config.utils.MODULE2PACKAGE`` and only inside a package's ``.mim/configs`` folder,
which ``setup.py``-based OpenMMLab builds create by copying. Tessera packages ship their configs as
package data at ``<module>/configs/`` (the same folder in a wheel and in the editable development
install), so :func:`install_package_bases` teaches :class:`mmengine.config.Config` to resolve a
``tessera_<x>::<path>`` base there and leaves every other ``pkg::`` path to mmengine.

The semantics are mmengine's own: the base's variables keep their values, and every dict with a
``type`` key that comes from a ``tessera_core::`` base gets ``_scope_='tessera_core'``, so it is
built from tessera-core's registries whatever the inheriting config's ``default_scope`` is. A
config that replaces such a dict's ``type`` with one of its own package must therefore also set
``_scope_`` (or name the type with its scope, ``type='tessera_reid.X'``).

It is installed on ``import tessera_core``; every Tessera tool imports it before reading a config,
so ``mim train`` resolves these bases. A script that calls ``Config.fromfile`` directly imports
``tessera_core`` first.
"""
import importlib.util
import os.path as osp
import re
from typing import Optional, Tuple

from mmengine.config import Config

__all__ = ['install_package_bases', 'package_config_path']

_TESSERA_BASE = re.compile(r'^(tessera_\w+)::(.+)$')
_mmengine_get_cfg_path = Config.__dict__['_get_cfg_path']  # a staticmethod object


def package_config_path(module: str, relative_path: str) -> str:
    """Absolute path of ``<module>/configs/<relative_path>`` in the installed package ``module``.

    Raises:
        ModuleNotFoundError: ``module`` is not installed (names the pip distribution).
        FileNotFoundError: the package has no such config (names the package and the path looked in).
    """
    spec = importlib.util.find_spec(module)
    distribution = module.replace('_', '-')
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"base config '{module}::{relative_path}': the package {module} is not installed "
            f"(pip install {distribution})", name=module)
    package_dir = list(spec.submodule_search_locations)[0]
    path = osp.join(package_dir, 'configs', relative_path)
    if not osp.isfile(path):
        raise FileNotFoundError(
            f"base config '{module}::{relative_path}': package {module} ({distribution}, installed at "
            f"{package_dir}) has no config '{relative_path}'; looked for {path}")
    return path


def _get_cfg_path(cfg_path: str, filename: str) -> Tuple[str, Optional[str]]:
    """``Config._get_cfg_path`` with ``tessera_<x>::`` bases resolved in the package's ``configs/``."""
    match = _TESSERA_BASE.match(cfg_path)
    if match is None:
        return _mmengine_get_cfg_path.__func__(cfg_path, filename)
    module, relative_path = match.groups()
    return package_config_path(module, relative_path), module


def install_package_bases() -> None:
    """Route ``tessera_<x>::`` bases through :func:`package_config_path` (idempotent)."""
    Config._get_cfg_path = staticmethod(_get_cfg_path)
