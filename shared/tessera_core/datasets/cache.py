"""Tessera's cache folder and the atomic build of a cached data folder.

Generated data (re-ID benchmarks, stamp scenes, detection canvases) is cached under one root so that
every package follows the same rule as ``tessera-build-mmcv`` (``tools/build_mmcv.py``, which stays
standalone because it runs before tessera-core can be imported):

``$TESSERA_CACHE``, else ``$TESSERA_CACHE_DIR`` (the older name tessera-detection read), else
``$XDG_CACHE_HOME/tessera``, else ``~/.cache/tessera``.

:func:`ensure_built_folder` builds a folder into a temporary sibling and renames it into place, so an
interrupted build leaves nothing that looks finished, and two processes building the same folder at once
(two tox environments, two dataloader workers) both end with the same complete folder.
"""
import json
import os
import os.path as osp
import shutil
import tempfile
from typing import Callable

SPEC_FILE = 'spec.json'


def tessera_cache_dir(*parts: str) -> str:
    """``<tessera cache>/<parts...>`` (see the module docstring for the root); ``~`` is expanded."""
    base = (os.environ.get('TESSERA_CACHE') or os.environ.get('TESSERA_CACHE_DIR')
            or osp.join(os.environ.get('XDG_CACHE_HOME') or '~/.cache', 'tessera'))
    return osp.join(osp.expanduser(base), *parts)


def ensure_built_folder(final: str, spec: dict, build: Callable[[str], None], what: str = 'data') -> str:
    """``final``, built first by ``build(folder)`` if it does not hold ``spec`` yet.

    ``build`` must write everything into the folder it is given, ending with ``spec.json`` (the JSON of
    ``spec``): its presence in ``final`` is what marks a finished build.

    Raises:
        ValueError: If ``final`` holds a finished build of another spec (names both and the folder;
            ``what`` says what the folder holds, e.g. ``'benchmark'``, ``'scenes'``).
    """
    spec_path = osp.join(final, SPEC_FILE)
    if osp.isfile(spec_path):
        with open(spec_path) as f:
            cached = json.load(f)
        if cached != json.loads(json.dumps(spec)):
            raise ValueError(f'{final} holds other {what} ({cached}) than requested ({spec}); remove it')
        return final
    parent = osp.dirname(osp.abspath(final))
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=osp.basename(final) + '.tmp-', dir=parent)
    try:
        folder = osp.join(tmp, 'data')
        build(folder)
        if not osp.isfile(osp.join(folder, SPEC_FILE)):
            raise RuntimeError(f'building {final} wrote no {SPEC_FILE}: the build function must write it last')
        try:
            os.rename(folder, final)
        except OSError:
            if not osp.isfile(spec_path):   # not a concurrent builder that won the race
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return final
