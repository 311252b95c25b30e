"""The import-time check of mmcv: which one is installed, and the two ways to get a supported one.

No Tessera distribution declares mmcv, for the reason mmdet does not either (mmdet checks the version
at import time instead): mmcv 2.1.0 exists on the package index only as an sdist whose build fails
against current torch (C++20), so a declared ``mmcv`` makes pip attempt that build, and a declared
``mmcv-lite`` would install a second distribution over the files of a working full mmcv (both import as
``mmcv``). So the choice is the user's, made once, and importing tessera-core checks it:

- ``pip install "tessera-core[lite]"``: mmcv-lite 2.1.0, a pure-Python wheel without compiled ops;
  enough for every package but tessera-detection.
- ``tessera-build-mmcv`` (shipped in tessera-core, :mod:`tessera_core.tools.build_mmcv`): the full mmcv
  2.1.0 with compiled CPU ops, built once and cached; tessera-detection (mmdet's nms, RoIAlign, ...)
  needs it.

The check is skipped while ``tessera-build-mmcv`` itself runs, since it exists to fix exactly this.
"""
import importlib.metadata as md
import os.path as osp
import sys
import warnings
from typing import List, Optional, Tuple

# mmdet 3.3's range (mmdet/__init__.py), which tessera-detection builds on
MMCV_MIN = '2.0.0rc4'
MMCV_MAX = '2.2.0'
SUPPORTED = f'mmcv>={MMCV_MIN},<{MMCV_MAX}'
LITE_INSTALL = 'pip install "tessera-core[lite]"'
FULL_INSTALL = 'tessera-build-mmcv'
BUILD_MODULE = 'tessera_core.tools.build_mmcv'
MMCV_DISTRIBUTIONS = ('mmcv', 'mmcv-lite', 'mmcv-full')  # every distribution that installs `import mmcv`


def mmcv_distributions() -> List[Tuple[str, str]]:
    """``(name, version)`` of every installed distribution providing the ``mmcv`` module."""
    found = []
    for name in MMCV_DISTRIBUTIONS:
        try:
            found.append((name, md.version(name)))
        except md.PackageNotFoundError:
            pass
    return found


def describe_installed() -> str:
    """What provides ``mmcv`` here, e.g. ``'mmcv-lite 2.1.0'``, ``'mmcv 2.1.0 + mmcv-lite 2.1.0'`` or ``'none'``."""
    dists = mmcv_distributions()
    return ' + '.join(f'{name} {version}' for name, version in dists) if dists else 'none'


def in_range(version: str) -> bool:
    from mmengine.utils import digit_version  # what mmdet compares with
    return digit_version(MMCV_MIN) <= digit_version(version) < digit_version(MMCV_MAX)


def mmcv_message(installed: str, problem: Optional[str] = None) -> str:
    """The one message for a missing or unsupported mmcv: what is installed and the two install commands."""
    first = f'tessera-core needs {SUPPORTED} (the full mmcv or mmcv-lite); installed: {installed}'
    if problem:
        first += f' ({problem})'
    lines = [first + '. Install it one of two ways:',
             f'  {LITE_INSTALL:<34}# mmcv-lite 2.1.0 from the index, pure Python, seconds: '
             'every Tessera package but tessera-detection',
             f'  {FULL_INSTALL:<34}# full mmcv 2.1.0 with compiled CPU ops, built once (~13 min on 2 cores) '
             'and cached: needed by tessera-detection']
    if installed != 'none':
        lines.append('  (for the lite path, first remove the installed one: '
                     f'pip uninstall -y {" ".join(n for n, _ in mmcv_distributions())})')
    return '\n'.join(lines)


def running_build_tool() -> bool:
    """Whether the running program is ``tessera-build-mmcv`` (console script or ``python -m``)."""
    argv0 = osp.basename(sys.argv[0]) if sys.argv else ''
    if argv0 in ('tessera-build-mmcv', 'tessera-build-mmcv.exe'):
        return True
    orig = list(getattr(sys, 'orig_argv', []))
    return any(a == '-m' and b == BUILD_MODULE for a, b in zip(orig, orig[1:]))


def check_mmcv() -> None:
    """Raise one :class:`ImportError` naming the installed mmcv and the two install commands unless
    mmcv imports and lies in :data:`SUPPORTED` (full or lite)."""
    if running_build_tool():
        return
    try:
        import mmcv
    except ModuleNotFoundError as e:
        if e.name != 'mmcv':  # mmcv is there but one of its own imports is missing
            raise ImportError(mmcv_message(describe_installed(), f'import mmcv fails: {e}')) from e
        installed = describe_installed()
        problem = None if installed == 'none' else 'its files are missing: reinstall it'
        raise ImportError(mmcv_message(installed, problem)) from None
    except ImportError as e:
        raise ImportError(mmcv_message(describe_installed(), f'import mmcv fails: {e}')) from e
    version = getattr(mmcv, '__version__', '?')
    if version == '?' or not in_range(version):
        installed = describe_installed()
        if installed == 'none':  # a module named mmcv that no distribution installed
            installed = f'mmcv {version} at {osp.dirname(getattr(mmcv, "__file__", None) or "?")}'
        raise ImportError(mmcv_message(installed, f'mmcv.__version__ is {version}, outside the range'))
    names = [name for name, _ in mmcv_distributions()]
    if len(names) > 1:
        warnings.warn(f'{" and ".join(names)} are all installed and share the files of `mmcv`: uninstalling one '
                      'breaks the others. Keep one (tessera-build-mmcv replaces mmcv-lite by the full mmcv).',
                      stacklevel=2)
