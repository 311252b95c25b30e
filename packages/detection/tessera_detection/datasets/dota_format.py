"""The DOTA text format of oriented-object annotations: one file per image, one object per line.

::

    imagesource:GoogleEarth                 optional header lines (DOTA v1.x), skipped
    gsd:0.146343590398
    x1 y1 x2 y2 x3 y3 x4 y4 class difficult
    ...

``x1 ... y4`` are the four corners of the object's quadrilateral in pixels,
``class`` is a name without spaces, ``difficult`` is 0 or 1 and may be absent
(then 0), as in ``parse_gt`` of DOTA_devkit's ``dota_evaluation_task1.py``.
HRSC2016 converted to this format (as mmrotate's tools do) reads the same way.
Unlike the devkit, which silently skips lines it cannot read, every line that
is neither a header, blank, nor a valid object raises ``ValueError`` naming the
file and the line number.
"""
from typing import Dict, Iterable, List

HEADER_KEYS = ('imagesource', 'gsd')


def _is_float(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _is_header(line: str) -> bool:
    key, sep, _ = line.partition(':')
    return bool(sep) and key.strip().strip('\'"').lower() in HEADER_KEYS


def parse_dota_line(line: str, where: str) -> Dict:
    """One object line -> ``dict(poly=[8 floats], name=str, difficult=int)``.

    Args:
        line: The line without its newline.
        where: ``'file, line n'`` for the error messages.
    """
    tokens = line.split()
    n_numeric = 0
    for token in tokens[:8]:
        if not _is_float(token):
            break
        n_numeric += 1
    if n_numeric < 8 and n_numeric % 2 == 0 and len(tokens) in (n_numeric + 1, n_numeric + 2):
        raise ValueError(f'{where}: a polygon of {n_numeric // 2} points ({line.strip()!r}); DOTA objects are '
                         'quadrilaterals of 4 points: x1 y1 x2 y2 x3 y3 x4 y4 class difficult')
    if len(tokens) not in (9, 10) or n_numeric < 8:
        raise ValueError(f'{where}: malformed line {line.strip()!r}; expected "x1 y1 x2 y2 x3 y3 x4 y4 class '
                         f'[difficult]" (9 or 10 fields, 8 numbers first), got {len(tokens)} fields')
    difficult = 0
    if len(tokens) == 10:
        if tokens[9] not in ('0', '1'):
            raise ValueError(f'{where}: malformed line {line.strip()!r}; difficult must be 0 or 1, '
                             f'got {tokens[9]!r}')
        difficult = int(tokens[9])
    return dict(poly=[float(t) for t in tokens[:8]], name=tokens[8], difficult=difficult)


def parse_dota_file(path: str) -> List[Dict]:
    """All objects of a DOTA label file.

    Returns:
        list[dict]: ``dict(poly, name, difficult, line)`` per object, ``line``
        being its 1-based line number (for later error messages).
    """
    objects = []
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, start=1):
            if not line.strip() or _is_header(line):
                continue
            obj = parse_dota_line(line, f'{path}, line {lineno}')
            obj['line'] = lineno
            objects.append(obj)
    return objects


def format_dota_line(poly: Iterable[float], name: str, difficult: int = 0, decimals: int = 3) -> str:
    """``x1 y1 ... y4 class difficult`` (without newline)."""
    poly = [float(v) for v in poly]
    if len(poly) != 8:
        raise ValueError(f'a DOTA polygon has 8 coordinates, got {len(poly)}')
    if not name or any(c.isspace() for c in name):
        raise ValueError(f'DOTA class names cannot be empty or hold spaces, got {name!r}')
    coords = ' '.join(f'{v:.{decimals}f}' for v in poly)
    return f'{coords} {name} {int(difficult)}'


def write_dota_file(path: str, objects: Iterable[Dict], decimals: int = 3) -> None:
    """Write ``dict(poly, name, difficult)`` objects, one line each."""
    lines = [format_dota_line(o['poly'], o['name'], o.get('difficult', 0), decimals) for o in objects]
    with open(path, 'w', encoding='utf-8') as f:
        f.write(''.join(line + '\n' for line in lines))
