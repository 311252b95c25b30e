"""Reader of the Tux Paint stamp collection: real PNG stamps with human-written English descriptions.

Debian's ``tuxpaint-stamps-default`` installs ~800 PNG stamps (most RGBA, many photo cut-outs) under
``/usr/share/tuxpaint/stamps/<category>/.../<name>.png``. Beside a stamp, ``<name>.txt`` holds its description:
the first line is the English text, the following lines are translations ``<locale>.utf8=<text>``.

What the reader keeps and what it skips (every skip is returned with its reason, none is silent):

- ``<name>_mirror.png``: Tux Paint's pre-drawn mirror image of stamp ``<name>``, not a stamp of its own;
- a PNG without ``<name>.txt`` (e.g. some ``cartoon/tux`` poses): no description;
- a ``.txt`` whose English line is empty (or that holds only ``<locale>.utf8=`` lines): no description;
- a ``.txt`` without a PNG beside it: an SVG-only stamp (this reader decodes PNG only).

A stamp's ``name`` is its path below the root without extension (``animals/birds/penguin``); its
``category`` the folder part (``animals/birds``). :func:`split_stamps` splits *by stamp*, seeded, so the
stamps of the test scenes never appear in training scenes.
"""
import os
import os.path as osp
import re
from typing import Dict, List, NamedTuple, Optional, Sequence, Tuple

import numpy as np

TUXPAINT_STAMPS_ROOT = '/usr/share/tuxpaint/stamps'
INSTALL_HINT = 'sudo apt-get install tuxpaint-stamps-default'
MIRROR_SUFFIX = '_mirror'
_LOCALIZED = re.compile(r'^[A-Za-z]{2,3}(_[A-Za-z]{2})?(@[A-Za-z]+)?\.utf8=')


class Stamp(NamedTuple):
    """One stamp: ``name`` (path below the root, no extension), ``image_path`` (absolute PNG path),
    ``category`` (folder below the root, ``/``-separated), ``description`` (the English line)."""
    name: str
    image_path: str
    category: str
    description: str


class SkippedStamp(NamedTuple):
    """A file the reader did not turn into a stamp, and why."""
    path: str
    reason: str


def check_stamp_root(root: Optional[str] = None) -> str:
    """``root`` (default :data:`TUXPAINT_STAMPS_ROOT`), or a ``FileNotFoundError`` naming it and the install."""
    root = root or TUXPAINT_STAMPS_ROOT
    if not osp.isdir(root):
        raise FileNotFoundError(f'the Tux Paint stamp folder {root} is absent: install it with `{INSTALL_HINT}` '
                                '(Debian/Ubuntu) or pass the folder that holds the stamps as root/stamp_root')
    return root


def read_description(txt_path: str) -> Optional[str]:
    """The English description of a stamp ``.txt``: its first non-empty line that is not a ``<locale>.utf8=``
    translation, whitespace-collapsed; ``None`` when there is none."""
    with open(txt_path, encoding='utf-8', errors='replace') as f:
        for line in f:
            line = ' '.join(line.split())
            if not line:
                continue
            if _LOCALIZED.match(line):
                return None   # translations start: the English line is missing
            return line
    return None


def read_stamps(root: Optional[str] = None) -> Tuple[List[Stamp], List[SkippedStamp]]:
    """All described PNG stamps below ``root``, sorted by name, and the skipped files with their reasons.

    Raises:
        FileNotFoundError: the folder is absent (the message names it and the install command).
        ValueError: the folder holds no described PNG stamp.
    """
    root = check_stamp_root(root)
    pngs, txts = set(), set()
    for folder, _, files in os.walk(root):
        rel = osp.relpath(folder, root)
        for fname in files:
            stem, ext = osp.splitext(fname)
            name = stem if rel == '.' else '/'.join(rel.split(os.sep) + [stem])
            if ext.lower() == '.png':
                pngs.add(name)
            elif ext.lower() == '.txt':
                txts.add(name)
    stamps, skipped = [], []
    for name in sorted(pngs):
        png = osp.join(root, *name.split('/')) + '.png'
        if name.endswith(MIRROR_SUFFIX) and name[:-len(MIRROR_SUFFIX)] in pngs:
            skipped.append(SkippedStamp(png, f'mirror image of stamp {name[:-len(MIRROR_SUFFIX)]!r}'))
            continue
        if name not in txts:
            skipped.append(SkippedStamp(png, 'no .txt description beside it'))
            continue
        txt = osp.join(root, *name.split('/')) + '.txt'
        description = read_description(txt)
        if description is None:
            skipped.append(SkippedStamp(txt, 'no English line (empty, or only <locale>.utf8= translations)'))
            continue
        category = name.rsplit('/', 1)[0] if '/' in name else ''
        stamps.append(Stamp(name, png, category, description))
    for name in sorted(txts - pngs):
        skipped.append(SkippedStamp(osp.join(root, *name.split('/')) + '.txt',
                                    'no PNG beside it (SVG-only stamp; only PNG stamps are read)'))
    if not stamps:
        raise ValueError(f'{root} holds no PNG stamp with a .txt description ({len(skipped)} files skipped); '
                         f'is it the stamps folder of `{INSTALL_HINT}`?')
    return stamps, skipped


def split_stamps(stamps: Sequence[Stamp], test_fraction: float = 0.2, seed: int = 0) -> Dict[str, List[Stamp]]:
    """``{'train': [...], 'test': [...]}``: a seeded split *by stamp* (disjoint names), each part sorted by name.

    The permutation is drawn over the stamps sorted by name, so the split depends only on the set of stamps
    and ``seed``, not on the order they are passed in.
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f'test_fraction must lie in (0, 1), got {test_fraction}')
    ordered = sorted(stamps, key=lambda s: s.name)
    names = [s.name for s in ordered]
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f'duplicate stamp names: {dup[:5]}')
    num_test = int(round(test_fraction * len(ordered)))
    if not 0 < num_test < len(ordered):
        raise ValueError(f'test_fraction={test_fraction} of {len(ordered)} stamps leaves an empty part')
    perm = np.random.RandomState(seed).permutation(len(ordered))
    test_idx = set(perm[:num_test].tolist())
    return dict(train=[s for i, s in enumerate(ordered) if i not in test_idx],
                test=[s for i, s in enumerate(ordered) if i in test_idx])
