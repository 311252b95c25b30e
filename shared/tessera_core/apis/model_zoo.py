"""The models of every installed Tessera package, read from their metafiles.

Installed packages are the distributions named ``tessera-*``; each ships
``<module>/model-index.yml`` (what ``mim search`` reads), whose ``Import`` list
names the ``metafile.yml`` files, whose ``Models`` entries give a ``Name`` and a
``Config`` path relative to the module. Packages are located with
:func:`importlib.util.find_spec` and never imported, so tessera-core depends on
no task package.
"""
import difflib
import fnmatch
import functools
import importlib.metadata
import importlib.util
import os.path as osp
import re
from typing import Dict, List, NamedTuple, Optional, Tuple

import yaml


class ModelInfo(NamedTuple):
    """One model of a metafile: ``name``, absolute ``config`` path, the
    ``package`` (distribution) and ``module`` (import name, also the scope)."""
    name: str
    config: str
    package: str
    module: str


def _normalize(dist_name: str) -> str:
    return re.sub(r'[-_.]+', '-', dist_name).lower()


def installed_packages() -> List[Tuple[str, str]]:
    """``[(distribution, module_dir)]`` of the installed ``tessera-*`` packages, sorted."""
    found = {}
    for dist in importlib.metadata.distributions():
        name = _normalize(dist.metadata['Name'] or '')
        if not name.startswith('tessera-') or name in found:
            continue
        spec = importlib.util.find_spec(name.replace('-', '_'))
        if spec is not None and spec.submodule_search_locations:
            found[name] = list(spec.submodule_search_locations)[0]
    return sorted(found.items())


def read_model_index(module_dir: str) -> List[dict]:
    """The ``Models`` entries of all metafiles listed by ``module_dir/model-index.yml``."""
    index_file = osp.join(module_dir, 'model-index.yml')
    if not osp.isfile(index_file):
        return []
    with open(index_file) as f:
        index = yaml.safe_load(f) or {}
    models = []
    for metafile in index.get('Import', []):
        path = osp.join(module_dir, metafile)
        if not osp.isfile(path):
            raise FileNotFoundError(f'{index_file} lists {metafile}, which does not exist ({path})')
        with open(path) as f:
            models.extend((yaml.safe_load(f) or {}).get('Models', []))
    return models


@functools.lru_cache(maxsize=None)
def _model_table() -> Dict[str, Tuple[ModelInfo, ...]]:
    table: Dict[str, List[ModelInfo]] = {}
    for package, module_dir in installed_packages():
        module = osp.basename(module_dir)
        for entry in read_model_index(module_dir):
            info = ModelInfo(entry['Name'], osp.join(module_dir, entry['Config']), package, module)
            table.setdefault(info.name, []).append(info)
    return {name: tuple(infos) for name, infos in table.items()}


def list_models(pattern: Optional[str] = None) -> List[str]:
    """Sorted names of the models of every installed Tessera package.

    Args:
        pattern (str, optional): An :mod:`fnmatch` pattern such as ``'*resnet18*'``
            (case-insensitive); all names when ``None``.
    """
    names = sorted(_model_table())
    if pattern is None:
        return names
    return [n for n in names if fnmatch.fnmatch(n.lower(), pattern.lower())]


def find_model(name: str) -> ModelInfo:
    """The :class:`ModelInfo` of ``name``.

    Raises:
        ValueError: unknown name (the message lists the close matches) or a name
            defined by more than one package.
    """
    infos = _model_table().get(name)
    if infos is None:
        names = list(_model_table())
        close = difflib.get_close_matches(name, names, n=5, cutoff=0.5)
        hint = f'close matches: {", ".join(close)}' if close else 'no close match'
        raise ValueError(f'unknown model {name!r} ({hint}); list_models() lists all {len(names)} models '
                         'of the installed Tessera packages, or pass a config path')
    if len(infos) > 1:
        raise ValueError(f'model {name!r} is defined by several packages: '
                         + ', '.join(f'{i.package} ({i.config})' for i in infos) + '; pass the config path')
    return infos[0]
