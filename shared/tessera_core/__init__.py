"""tessera-core: the shared core of Tessera.

Importing the package installs the safe checkpoint loader into mmengine (see
:mod:`tessera_core.engine.safe_checkpoint`) so that ``Runner(resume=True)`` and
``load_from`` work on current PyTorch without unpickling untrusted code, makes
every ``Runner`` save and restore the random generators' state so that a resume
is exact (:mod:`tessera_core.engine.hooks.exact_resume_hook`), and teaches
mmengine's ``Config`` the ``tessera_<pkg>::`` base configs (see
:mod:`tessera_core.config.package_bases`).
"""
from .version import __version__
from ._mmcv_check import check_mmcv as _check_mmcv

_check_mmcv()  # first: no supported mmcv -> one message naming the installed one and the two install commands
from .engine.checkpoint_safety import install as _install_checkpoint_safety

_install_checkpoint_safety()
from .engine.hooks.exact_resume_hook import install as _install_exact_resume

_install_exact_resume()  # every Runner saves and restores the random generators' state
from .config import install_package_bases as _install_package_bases

_install_package_bases()  # `_base_ = ['tessera_core::...']` from any package's config

__all__ = ['__version__']
