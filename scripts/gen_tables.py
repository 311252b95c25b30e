#!/usr/bin/env python
"""Regenerate Tessera's README method tables from the OpenMMLab metafiles.

Sources (read only):

* ``docs/catalog.md``: the catalog table ``| package | wave | method | arXiv | title |``.
* every distribution's ``<module>/model-index.yml`` (``Import:`` list of
  ``configs/<method>/metafile.yml``, relative to the module folder) and the
  metafiles it imports. The distributions are ``shared/`` (module
  ``tessera_core``, catalog package ``core``) and ``packages/<task>/`` (module
  ``tessera_<task>``, catalog package ``<task>``).

Targets (only the text between the markers is rewritten):

* ``shared/README.md`` and ``packages/<task>/README.md``, between
  ``<!-- metafile-table:start -->`` and ``<!-- metafile-table:end -->``: one row per
  model, ``| method | paper | config | status | measured here |``.
* ``README.md``, between ``<!-- status-table:start -->`` and
  ``<!-- status-table:end -->``: every catalog method in catalog order with its best
  status (implemented > smoke > planned), a count per status, and the foundation
  components (models whose ``Catalog Method`` is ``none``).

In a git work tree only metafiles and model indexes that git tracks are read (an untracked
one is skipped with a note on stderr), so someone's uncommitted new work never reaches a
table; outside git (``--root`` on a plain folder) every file counts.

Usage::

    python scripts/gen_tables.py            # rewrite the READMEs, print what changed
    python scripts/gen_tables.py --check    # change nothing; exit 1 + diff if out of date
    python scripts/gen_tables.py --root DIR # work on another tree (tests)

Exit codes: 0 done / in sync, 1 ``--check`` found a README out of date,
2 invalid metadata or README (every problem is listed with its file and key).
Standard library + PyYAML only.
"""
from __future__ import annotations

import argparse
import difflib
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Set, Tuple

import yaml

STATUSES = ('planned', 'smoke', 'implemented')  # ascending: the best status is the last
STATUS_RANK = {name: rank for rank, name in enumerate(STATUSES)}
NO_CATALOG_METHOD = 'none'
CORE_PACKAGE = 'core'  # catalog package of the shared/ distribution

CATALOG = 'docs/catalog.md'
CATALOG_COLUMNS = ('package', 'wave', 'method', 'arXiv', 'title')
TOP_README = 'README.md'
PACKAGE_MARKERS = ('<!-- metafile-table:start -->', '<!-- metafile-table:end -->')
STATUS_MARKERS = ('<!-- status-table:start -->', '<!-- status-table:end -->')
MODEL_INDEX = 'model-index.yml'
METAFILE = 'metafile.yml'
DASH = '—'
ARXIV_URL = re.compile(r'arxiv\.org/(?:abs|pdf)/([0-9]{4}\.[0-9]{4,5}|[a-z-]+(?:\.[A-Z]{2})?/[0-9]{7})',
                       re.IGNORECASE)


class MetadataError(Exception):
    """Raised with every problem found, one ``file: key: problem`` line each."""

    def __init__(self, problems: List[str]):
        self.problems = problems
        super().__init__('\n'.join(problems))


# --------------------------------------------------------------------------- YAML loading
class _Int(int):
    """An int that remembers how it was written in the YAML file."""

    text: str


class _Float(float):
    """A float that remembers how it was written (``97.30`` stays ``97.30``)."""

    text: str


class _Loader(yaml.SafeLoader):
    """SafeLoader that keeps numbers' source text and rejects duplicate keys."""

    duplicate_keys: List[Tuple[str, int]]


def _construct_int(loader: _Loader, node: yaml.ScalarNode) -> _Int:
    value = _Int(yaml.SafeLoader.construct_yaml_int(loader, node))
    value.text = node.value
    return value


def _construct_float(loader: _Loader, node: yaml.ScalarNode) -> _Float:
    value = _Float(yaml.SafeLoader.construct_yaml_float(loader, node))
    value.text = node.value
    return value


def _construct_mapping(loader: _Loader, node: yaml.MappingNode) -> Dict[Any, Any]:
    loader.flatten_mapping(node)
    seen = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, (str, int, float)) and key in seen:
            loader.duplicate_keys.append((str(key), key_node.start_mark.line + 1))
        seen.add(key if isinstance(key, (str, int, float)) else id(key))
    return yaml.SafeLoader.construct_mapping(loader, node, deep=True)


_Loader.add_constructor('tag:yaml.org,2002:int', _construct_int)
_Loader.add_constructor('tag:yaml.org,2002:float', _construct_float)
_Loader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path, rel: str, problems: List[str]) -> Any:
    """Load ``path`` (named ``rel`` in messages); problems are appended, None returned."""
    try:
        text = path.read_text(encoding='utf-8')
    except OSError as exc:
        problems.append(f'{rel}: cannot read: {exc.strerror}')
        return None
    loader = _Loader(text)
    loader.duplicate_keys = []
    try:
        data = loader.get_single_data()
    except yaml.YAMLError as exc:
        message = ' '.join(str(exc).replace('"<unicode string>"', rel).split())
        problems.append(f'{rel}: invalid YAML: {message}')
        return None
    finally:
        loader.dispose()
    for key, line in loader.duplicate_keys:
        problems.append(f'{rel}: line {line}: duplicate key {key!r}')
    return data


def format_number(value: Any) -> str:
    return getattr(value, 'text', None) or str(value)


# --------------------------------------------------------------------------- catalog
@dataclass
class CatalogEntry:
    package: str
    wave: str
    method: str
    arxiv: str
    title: str


def distribution_dir(package: str) -> str:
    """Catalog package -> distribution folder (``core`` -> ``shared``)."""
    return 'shared' if package == CORE_PACKAGE else f'packages/{package}'


def _split_row(line: str) -> List[str]:
    cells = line.strip()
    cells = cells[1:] if cells.startswith('|') else cells
    cells = cells[:-1] if cells.endswith('|') else cells
    return [cell.strip() for cell in cells.split('|')]


def load_catalog(root: Path) -> List[CatalogEntry]:
    path = root / CATALOG
    try:
        lines = path.read_text(encoding='utf-8').splitlines()
    except OSError as exc:
        raise MetadataError([f'{CATALOG}: cannot read: {exc.strerror}'])
    problems: List[str] = []
    entries: List[CatalogEntry] = []
    header_at = None
    for number, line in enumerate(lines):
        if line.lstrip().startswith('|') and 'method' in _split_row(line) and 'package' in _split_row(line):
            header_at = number
            break
    if header_at is None:
        raise MetadataError([f'{CATALOG}: no table with the columns | {" | ".join(CATALOG_COLUMNS)} |'])
    header = _split_row(lines[header_at])
    missing = [col for col in CATALOG_COLUMNS if col not in header]
    if missing:
        raise MetadataError([f'{CATALOG}: line {header_at + 1}: table header lacks the column(s) '
                             f'{", ".join(missing)} (has: {", ".join(header)})'])
    index = {col: header.index(col) for col in CATALOG_COLUMNS}
    seen: Dict[str, int] = {}
    for number in range(header_at + 1, len(lines)):
        line = lines[number]
        if not line.lstrip().startswith('|'):
            break
        cells = _split_row(line)
        if all(set(cell) <= set('-: ') for cell in cells):  # the |---| separator
            continue
        if len(cells) != len(header):
            problems.append(f'{CATALOG}: line {number + 1}: {len(cells)} cells, expected {len(header)}')
            continue
        entry = CatalogEntry(*(cells[index[col]] for col in CATALOG_COLUMNS))
        if not entry.method or not entry.package:
            problems.append(f'{CATALOG}: line {number + 1}: empty package or method')
            continue
        if entry.method in seen:
            problems.append(f'{CATALOG}: line {number + 1}: method {entry.method!r} '
                            f'already listed on line {seen[entry.method]}')
            continue
        if entry.method == NO_CATALOG_METHOD:
            problems.append(f'{CATALOG}: line {number + 1}: {NO_CATALOG_METHOD!r} is reserved '
                            'for foundation components')
            continue
        seen[entry.method] = number + 1
        entries.append(entry)
    if problems:
        raise MetadataError(problems)
    if not entries:
        raise MetadataError([f'{CATALOG}: the catalog table has no rows'])
    return entries


# --------------------------------------------------------------------------- metafiles
@dataclass
class Distribution:
    folder: str  # 'shared' or 'packages/<task>', relative to the root
    module: str  # 'tessera_core' / 'tessera_<task>'
    package: str  # catalog package: 'core' / '<task>'

    @property
    def name(self) -> str:
        return f'tessera-{self.package}'

    @property
    def module_dir(self) -> str:
        return f'{self.folder}/{self.module}'

    @property
    def readme(self) -> str:
        return f'{self.folder}/README.md'


@dataclass
class Collection:
    name: str
    paper_title: Optional[str]
    paper_url: Optional[str]
    readme: Optional[str]  # relative to the module folder
    metafile: str


@dataclass
class Model:
    name: str
    collection: str
    config: str  # relative to the module folder
    status: str
    catalog_method: str
    results: List[Tuple[str, List[Tuple[str, str]]]]  # [(dataset, [(metric, value text)])]
    metafile: str
    dist: Distribution
    paper: Optional[Collection] = None


@dataclass
class Repo:
    catalog: List[CatalogEntry]
    distributions: List[Distribution]
    collections: Dict[str, Dict[str, Collection]] = field(default_factory=dict)  # folder -> name -> ...
    models: List[Model] = field(default_factory=list)


def discover_distributions(root: Path, problems: List[str]) -> List[Distribution]:
    dists: List[Distribution] = []
    candidates: List[Tuple[str, str]] = []
    if (root / 'shared').is_dir():
        candidates.append(('shared', CORE_PACKAGE))
    packages = root / 'packages'
    if packages.is_dir():
        for sub in sorted(packages.iterdir()):
            if sub.is_dir() and not sub.name.startswith(('.', '_')):
                candidates.append((f'packages/{sub.name}', sub.name))
    for folder, package in candidates:
        dist = Distribution(folder=folder, module=f'tessera_{package}', package=package)
        if not (root / dist.module_dir).is_dir():
            problems.append(f'{folder}/: module folder {dist.module_dir}/ not found')
            continue
        dists.append(dist)
    if not dists:
        problems.append(f'{root}: no distribution found (expected shared/ or packages/<task>/)')
    return dists


def _is_str(value: Any) -> bool:
    return isinstance(value, str) and value.strip() != ''


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
        return True
    except ValueError:
        return False


def _close_matches(value: str, choices: List[str]) -> List[str]:
    folded = {choice.casefold(): choice for choice in choices}
    exact = [folded[value.casefold()]] if value.casefold() in folded else []
    fuzzy = difflib.get_close_matches(value.casefold(), list(folded), n=3, cutoff=0.6)
    out: List[str] = []
    for match in exact + [folded[f] for f in fuzzy]:
        if match not in out:
            out.append(match)
    return out


def git_tracked_files(root: Path) -> Optional[Set[str]]:
    """Paths (relative to ``root``, posix) that git tracks, or None when ``root`` is not in a git work tree."""
    try:
        top = subprocess.run(['git', '-C', str(root), 'rev-parse', '--show-toplevel'],
                             capture_output=True, text=True, check=True).stdout.strip()
        listed = subprocess.run(['git', '-C', str(root), 'ls-files', '-z', '--full-name'],
                                capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    if Path(top).resolve() != root.resolve():
        prefix = root.resolve().relative_to(Path(top).resolve()).as_posix() + '/'
        return {p[len(prefix):] for p in listed.split('\0') if p.startswith(prefix)}
    return {p for p in listed.split('\0') if p}


def _untracked(rel: str, tracked: Optional[Set[str]]) -> bool:
    if tracked is None or rel in tracked:
        return False
    print(f'gen_tables: {rel}: not tracked by git, skipped', file=sys.stderr)
    return True


def load_model_index(root: Path, dist: Distribution, problems: List[str],
                     tracked: Optional[Set[str]] = None) -> List[str]:
    """Return the imported metafiles of ``dist``, relative to the root (only git-tracked ones
    when ``tracked`` is given)."""
    index_rel = f'{dist.module_dir}/{MODEL_INDEX}'
    index_path = root / index_rel
    module_dir = root / dist.module_dir
    imported: List[str] = []
    if _untracked(index_rel, tracked):
        return imported
    if not index_path.is_file():
        problems.append(f'{index_rel}: missing (`mim search {dist.name}` reads it; '
                        f'it lists Import: [configs/<method>/{METAFILE}])')
    else:
        data = load_yaml(index_path, index_rel, problems)
        if data is not None:
            if not isinstance(data, dict):
                problems.append(f'{index_rel}: expected a mapping with the key Import, got {type(data).__name__}')
                data = {}
            for key in data:
                if key != 'Import':
                    problems.append(f'{index_rel}: {key}: unsupported key (only Import: a list of '
                                    f'metafiles; put models and collections in a {METAFILE})')
            imports = data.get('Import')
            if imports is None:
                problems.append(f'{index_rel}: Import: missing (a list of configs/<method>/{METAFILE})')
                imports = []
            elif not isinstance(imports, list):
                problems.append(f'{index_rel}: Import: expected a list of paths, got {type(imports).__name__}')
                imports = []
            for i, item in enumerate(imports):
                key = f'Import[{i}]'
                if not _is_str(item):
                    problems.append(f'{index_rel}: {key}: expected a path string, got {item!r}')
                    continue
                target = module_dir / item
                if not _inside(target, module_dir):
                    problems.append(f'{index_rel}: {key}: {item!r} is outside {dist.module_dir}/ '
                                    '(not shipped in the wheel)')
                    continue
                if not target.is_file():
                    problems.append(f'{index_rel}: {key}: {item!r} does not exist '
                                    f'(looked for {dist.module_dir}/{item})')
                    continue
                rel = target.resolve().relative_to(root.resolve()).as_posix()
                if _untracked(rel, tracked):
                    continue
                if rel in imported:
                    problems.append(f'{index_rel}: {key}: {item!r} is imported twice')
                    continue
                imported.append(rel)
    # Every metafile shipped in the module must be reachable from the model index.
    for path in sorted(module_dir.rglob(METAFILE)):
        if '__pycache__' in path.parts:
            continue
        rel = path.resolve().relative_to(root.resolve()).as_posix()
        if rel not in imported and (tracked is None or rel in tracked):
            entry = path.relative_to(module_dir).as_posix()
            problems.append(f'{rel}: not imported by {index_rel} (add {entry!r} to its Import list)')
    return imported


def load_metafile(root: Path, rel: str, dist: Distribution, catalog: Dict[str, CatalogEntry],
                  repo: Repo, problems: List[str]) -> None:
    data = load_yaml(root / rel, rel, problems)
    if data is None:
        return
    module_dir = root / dist.module_dir
    if not isinstance(data, dict):
        problems.append(f'{rel}: expected a mapping with Collections and Models, got {type(data).__name__}')
        return
    for key in data:
        if key not in ('Collections', 'Models'):
            problems.append(f'{rel}: {key}: unknown top-level key (valid: Collections, Models)')

    collections = repo.collections.setdefault(dist.folder, {})
    raw_collections = data.get('Collections') or []
    if not isinstance(raw_collections, list):
        problems.append(f'{rel}: Collections: expected a list, got {type(raw_collections).__name__}')
        raw_collections = []
    for i, coll in enumerate(raw_collections):
        where = f'Collections[{i}]'
        if not isinstance(coll, dict):
            problems.append(f'{rel}: {where}: expected a mapping, got {coll!r}')
            continue
        name = coll.get('Name')
        if not _is_str(name):
            problems.append(f'{rel}: {where}.Name: missing or not a string')
            continue
        where = f'{where} ({name})'
        if name in collections:
            problems.append(f'{rel}: {where}.Name: duplicate collection name {name!r} in {dist.name} '
                            f'(also in {collections[name].metafile})')
            continue
        paper = coll.get('Paper')
        title = url = None
        if paper is not None:
            if not isinstance(paper, dict):
                problems.append(f'{rel}: {where}.Paper: expected a mapping with Title and URL, got {paper!r}')
            else:
                title, url = paper.get('Title'), paper.get('URL')
                if title is not None and not _is_str(title):
                    problems.append(f'{rel}: {where}.Paper.Title: expected a string, got {title!r}')
                    title = None
                if url is not None and not (_is_str(url) and url.startswith(('http://', 'https://'))):
                    problems.append(f'{rel}: {where}.Paper.URL: expected an http(s) URL, got {url!r}')
                    url = None
        readme = coll.get('README')
        if readme is not None:
            if not _is_str(readme):
                problems.append(f'{rel}: {where}.README: expected a path string, got {readme!r}')
                readme = None
            elif not (module_dir / readme).is_file():
                problems.append(f'{rel}: {where}.README: {readme!r} does not exist '
                                f'(looked for {dist.module_dir}/{readme})')
                readme = None
        collections[name] = Collection(name=name, paper_title=title, paper_url=url, readme=readme,
                                       metafile=rel)

    raw_models = data.get('Models') or []
    if not isinstance(raw_models, list):
        problems.append(f'{rel}: Models: expected a list, got {type(raw_models).__name__}')
        raw_models = []
    for i, raw in enumerate(raw_models):
        where = f'Models[{i}]'
        if not isinstance(raw, dict):
            problems.append(f'{rel}: {where}: expected a mapping, got {raw!r}')
            continue
        name = raw.get('Name')
        if not _is_str(name):
            problems.append(f'{rel}: {where}.Name: missing or not a string')
            continue
        where = f'{where} ({name})'
        ok = True

        coll_name = raw.get('In Collection')
        if not _is_str(coll_name):
            problems.append(f'{rel}: {where}.In Collection: missing or not a string')
            ok = False

        config = raw.get('Config')
        if not _is_str(config):
            problems.append(f'{rel}: {where}.Config: missing or not a string')
            ok = False
        else:
            target = module_dir / config
            if not _inside(target, module_dir):
                problems.append(f'{rel}: {where}.Config: {config!r} is outside {dist.module_dir}/')
                ok = False
            elif not target.is_file():
                problems.append(f'{rel}: {where}.Config: {config!r} does not exist '
                                f'(looked for {dist.module_dir}/{config})')
                ok = False
            elif Path(config).stem != name:
                problems.append(f'{rel}: {where}.Name: must be the config file stem '
                                f'{Path(config).stem!r} (Config: {config})')
                ok = False

        meta = raw.get('Metadata')
        status = method = None
        if not isinstance(meta, dict):
            problems.append(f'{rel}: {where}.Metadata: missing (needs Catalog Method and Status)')
            ok = False
        else:
            status = meta.get('Status')
            if status not in STATUS_RANK:
                problems.append(f'{rel}: {where}.Metadata.Status: unknown status {status!r} '
                                f'(valid: {", ".join(STATUSES)})')
                ok = False
            method = meta.get('Catalog Method')
            if not _is_str(method):
                problems.append(f'{rel}: {where}.Metadata.Catalog Method: missing or not a string '
                                f'(a method of {CATALOG}, or {NO_CATALOG_METHOD!r} for a foundation component)')
                ok = False
            elif method == NO_CATALOG_METHOD:
                if status == 'implemented':
                    problems.append(f'{rel}: {where}.Metadata.Status: a foundation component '
                                    f'(Catalog Method: {NO_CATALOG_METHOD}) cannot be implemented '
                                    '(use smoke)')
                    ok = False
            elif method not in catalog:
                close = _close_matches(method, list(catalog))
                hint = f'close matches: {", ".join(close)}' if close else f'see {CATALOG}'
                if method.casefold() == NO_CATALOG_METHOD:
                    hint = f'write {NO_CATALOG_METHOD!r} in lower case for a foundation component'
                problems.append(f'{rel}: {where}.Metadata.Catalog Method: {method!r} is not in '
                                f'{CATALOG} ({hint})')
                ok = False
            elif catalog[method].package != dist.package:
                entry = catalog[method]
                problems.append(f'{rel}: {where}.Metadata.Catalog Method: {method!r} is a '
                                f'{entry.package} method in {CATALOG}: it belongs to '
                                f'{distribution_dir(entry.package)}/, not {dist.folder}/')
                ok = False

        results: List[Tuple[str, List[Tuple[str, str]]]] = []
        raw_results = raw.get('Results') or []
        if not isinstance(raw_results, list):
            problems.append(f'{rel}: {where}.Results: expected a list, got {type(raw_results).__name__}')
            raw_results = []
            ok = False
        for j, res in enumerate(raw_results):
            rwhere = f'{where}.Results[{j}]'
            if not isinstance(res, dict):
                problems.append(f'{rel}: {rwhere}: expected a mapping with Task, Dataset, Metrics')
                ok = False
                continue
            dataset = res.get('Dataset')
            if not _is_str(dataset):
                problems.append(f'{rel}: {rwhere}.Dataset: missing or not a string')
                ok = False
            metrics = res.get('Metrics')
            if not isinstance(metrics, dict) or not metrics:
                problems.append(f'{rel}: {rwhere}.Metrics: expected a non-empty mapping name: number')
                ok = False
                continue
            pairs = []
            for metric, value in metrics.items():
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    problems.append(f'{rel}: {rwhere}.Metrics.{metric}: expected a measured number, '
                                    f'got {value!r}')
                    ok = False
                    continue
                pairs.append((str(metric), format_number(value)))
            results.append((str(dataset), pairs))
        if ok:
            repo.models.append(Model(name=name, collection=coll_name, config=config, status=status,
                                     catalog_method=method, results=results, metafile=rel, dist=dist))


def load_repo(root: Path) -> Repo:
    catalog_entries = load_catalog(root)
    catalog = {entry.method: entry for entry in catalog_entries}
    problems: List[str] = []
    dists = discover_distributions(root, problems)
    repo = Repo(catalog=catalog_entries, distributions=dists)
    tracked = git_tracked_files(root)
    for dist in dists:
        for rel in load_model_index(root, dist, problems, tracked):
            load_metafile(root, rel, dist, catalog, repo, problems)
    # Cross-file checks within each distribution: model names, collection references.
    for dist in dists:
        seen: Dict[str, str] = {}
        collections = repo.collections.get(dist.folder, {})
        for model in [m for m in repo.models if m.dist is dist]:
            if model.name in seen:
                problems.append(f'{model.metafile}: Models ({model.name}).Name: duplicate model name '
                                f'{model.name!r} in {dist.name} (also in {seen[model.name]})')
            seen.setdefault(model.name, model.metafile)
            if model.collection not in collections:
                known = ', '.join(sorted(collections)) or 'none'
                problems.append(f'{model.metafile}: Models ({model.name}).In Collection: '
                                f'{model.collection!r} is not a collection of {dist.name} (known: {known})')
            else:
                model.paper = collections[model.collection]
    if problems:
        raise MetadataError(problems)
    return repo


# --------------------------------------------------------------------------- rendering
def cell(text: str) -> str:
    return ' '.join(str(text).split()).replace('|', '\\|') or DASH


def link(text: str, target: str) -> str:
    label = str(text).replace('[', '\\[').replace(']', '\\]')
    return f'[{label}]({target.replace(" ", "%20")})'


def relative(target: str, readme: str) -> str:
    """Posix link to root-relative ``target`` from root-relative ``readme``."""
    return os.path.relpath(target, os.path.dirname(readme) or '.').replace(os.sep, '/')


def arxiv_id(url: Optional[str]) -> Optional[str]:
    match = ARXIV_URL.search(url or '')
    return match.group(1) if match else None


def paper_cell(coll: Optional[Collection]) -> str:
    if coll is None or not coll.paper_title:
        if coll is not None and coll.paper_url:
            return link(coll.paper_url, coll.paper_url)
        return DASH
    title = ' '.join(coll.paper_title.split())
    text = link(title, coll.paper_url) if coll.paper_url else title
    ident = arxiv_id(coll.paper_url)
    if ident:
        text += f' (arXiv:{ident})'
    return text.replace('|', '\\|')


def measured_cell(model: Model) -> str:
    parts = []
    for dataset, pairs in model.results:
        metrics = ', '.join(f'{name} {value}' for name, value in pairs)
        parts.append(f'{metrics} ({dataset})')
    return cell('; '.join(parts)) if parts else DASH


def model_sort_key(model: Model) -> Tuple[str, str, str, str]:
    return (model.collection.casefold(), model.collection, model.name.casefold(), model.name)


def render_package_table(repo: Repo, dist: Distribution) -> str:
    readme = dist.readme
    rows = ['| method | paper | config | status | measured here |', '|---|---|---|---|---|']
    models = sorted((m for m in repo.models if m.dist is dist), key=model_sort_key)
    for model in models:
        coll = model.paper
        method = cell(model.collection)
        if coll is not None and coll.readme:
            method = link(model.collection, relative(f'{dist.module_dir}/{coll.readme}', readme))
        config_path = f'{dist.module_dir}/{model.config}'
        config = link(Path(model.config).name, relative(config_path, readme))
        rows.append(f'| {method} | {paper_cell(coll)} | {config} | {model.status} | {measured_cell(model)} |')
    if not models:
        rows.append(f'| {DASH} | {DASH} | {DASH} | {DASH} | {DASH} |')
    return '\n'.join(rows)


def render_status_table(repo: Repo) -> str:
    by_method: Dict[str, List[Model]] = {}
    for model in repo.models:
        by_method.setdefault(model.catalog_method, []).append(model)
    rows = ['| package | wave | method | arXiv | status | configs |', '|---|---|---|---|---|---|']
    counts = {status: 0 for status in STATUSES}
    for entry in repo.catalog:
        models = sorted(by_method.get(entry.method, []),
                        key=lambda m: (m.dist.folder, m.name.casefold(), m.name))
        status = max((m.status for m in models), key=STATUS_RANK.__getitem__, default='planned')
        counts[status] += 1
        arxiv = link(entry.arxiv, f'https://arxiv.org/abs/{entry.arxiv}') if entry.arxiv else DASH
        configs = ', '.join(link(Path(m.config).stem, relative(f'{m.dist.module_dir}/{m.config}', TOP_README))
                            for m in models) or DASH
        rows.append(f'| {cell(entry.package)} | {cell(entry.wave)} | {cell(entry.method)} | {arxiv} | '
                    f'{status} | {configs} |')
    total = len(repo.catalog)
    summary = ', '.join(f'{counts[status]} {status}' for status in reversed(STATUSES))
    lines = rows + ['', f'**{total} catalog methods:** {summary}.', '']
    foundation = sorted((m for m in repo.models if m.catalog_method == NO_CATALOG_METHOD),
                        key=lambda m: (m.dist.folder, m.collection.casefold(), m.name.casefold(), m.name))
    lines.append(f'Foundation components (models whose `Catalog Method` is `{NO_CATALOG_METHOD}`):')
    lines.append('')
    lines.append('| package | component | config | status |')
    lines.append('|---|---|---|---|')
    for model in foundation:
        config = link(Path(model.config).stem, relative(f'{model.dist.module_dir}/{model.config}', TOP_README))
        lines.append(f'| {model.dist.name} | {cell(model.collection)} | {config} | {model.status} |')
    if not foundation:
        lines.append(f'| {DASH} | {DASH} | {DASH} | {DASH} |')
    return '\n'.join(lines)


def replace_region(text: str, rel: str, markers: Tuple[str, str], content: str) -> str:
    start, end = markers
    problems = []
    for marker in markers:
        count = text.count(marker)
        if count == 0:
            problems.append(f'{rel}: marker {marker} not found (the generated table goes between '
                            f'{start} and {end})')
        elif count > 1:
            problems.append(f'{rel}: marker {marker} appears {count} times (expected once)')
    if problems:
        raise MetadataError(problems)
    head, rest = text.split(start, 1)
    if end not in rest:
        raise MetadataError([f'{rel}: marker {end} comes before {start}'])
    _, tail = rest.split(end, 1)
    return f'{head}{start}\n{content}\n{end}{tail}'


def plan(root: Path) -> List[Tuple[str, str, str]]:
    """Return ``[(readme, current text, generated text)]``; raise MetadataError on any problem."""
    problems: List[str] = []
    try:
        repo: Optional[Repo] = load_repo(root)
    except MetadataError as exc:
        problems.extend(exc.problems)
        repo = None
    # The READMEs and their markers are checked even when the metadata is invalid.
    dists = repo.distributions if repo else discover_distributions(root, [])
    targets = [(dist.readme, PACKAGE_MARKERS, dist) for dist in dists] + [(TOP_README, STATUS_MARKERS, None)]
    out = []
    for rel, markers, dist in targets:
        path = root / rel
        if not path.is_file():
            problems.append(f'{rel}: missing (it needs the markers {markers[0]} and {markers[1]})')
            continue
        current = path.read_text(encoding='utf-8')
        if repo is None:
            content = ''
        elif dist is None:
            content = render_status_table(repo)
        else:
            content = render_package_table(repo, dist)
        try:
            out.append((rel, current, replace_region(current, rel, markers, content)))
        except MetadataError as exc:
            problems.extend(exc.problems)
    if problems:
        raise MetadataError(problems)
    return out


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--check', action='store_true',
                        help='change nothing; exit 1 with a diff if any README is out of date')
    parser.add_argument('--root', type=Path, default=Path(__file__).resolve().parent.parent,
                        help='repository root (default: the parent of scripts/)')
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        results = plan(root)
    except MetadataError as exc:
        print(f'gen_tables: {len(exc.problems)} problem(s) in {root}:', file=sys.stderr)
        for problem in exc.problems:
            print(f'  {problem}', file=sys.stderr)
        return 2
    stale = [(rel, old, new) for rel, old, new in results if old != new]
    if args.check:
        for rel, old, new in stale:
            sys.stdout.writelines(difflib.unified_diff(
                old.splitlines(keepends=True), new.splitlines(keepends=True),
                fromfile=f'a/{rel}', tofile=f'b/{rel}'))
        if stale:
            names = ', '.join(rel for rel, _, _ in stale)
            print(f'gen_tables: {len(stale)} README(s) out of date: {names}; '
                  'run `python scripts/gen_tables.py`', file=sys.stderr)
            return 1
        print(f'gen_tables: all {len(results)} READMEs in sync')
        return 0
    for rel, old, new in results:
        if old == new:
            print(f'unchanged {rel}')
            continue
        diff = list(difflib.unified_diff(old.splitlines(), new.splitlines(), lineterm='', n=0))
        added = sum(1 for d in diff if d.startswith('+') and not d.startswith('+++'))
        removed = sum(1 for d in diff if d.startswith('-') and not d.startswith('---'))
        (root / rel).write_text(new, encoding='utf-8')
        print(f'updated   {rel} (+{added} -{removed} lines)')
    print(f'gen_tables: {len(stale)} of {len(results)} READMEs updated')
    return 0


if __name__ == '__main__':
    sys.exit(main())
