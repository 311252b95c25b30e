"""Readers (and a writer) of temporal action localization ground truth: ActivityNet json and THUMOS'14 txt.

ActivityNet (http://activity-net.org/download.html, ``activity_net.v1-3.min.json``)::

    {"version": "...", "database": {"<video_id>": {"subset": "training", "duration": 120.3,
        "annotations": [{"segment": [12.1, 30.5], "label": "Long jump"}, ...]}, ...}}

mmaction2's BMN/BSN files (``anet_anno_train.json``) are the same records without the ``database`` wrapper and
with ``duration_second`` / ``duration_frame``; both are accepted. THUMOS'14 (https://www.crcv.ucf.edu/THUMOS14/)
ships one ``<Class>_<subset>.txt`` per class with ``<video_name> <start s> <end s>`` lines.

Every reader returns ``{video_id: dict(duration_second, annotations=[dict(segment=(start, end), label)], ...)}``
and refuses a segment whose end precedes its start, naming the file and the annotation's index (json) or line
(txt).
"""
import glob
import json
import os.path as osp
from typing import Dict, Iterable, Optional


class TemporalAnnotationError(ValueError):
    """Malformed temporal ground truth; the message names the file and the annotation."""


def _check_segment(segment, where: str):
    if not isinstance(segment, (list, tuple)) or len(segment) != 2:
        raise TemporalAnnotationError(f'{where}: a segment is [start, end], got {segment!r}')
    try:
        start, end = float(segment[0]), float(segment[1])
    except (TypeError, ValueError):
        raise TemporalAnnotationError(f'{where}: segment {segment!r} is not numeric') from None
    if end < start:
        raise TemporalAnnotationError(f'{where}: segment end {end} < start {start}')
    return start, end


def load_activitynet_json(path: str, subset: Optional[str] = None) -> Dict[str, dict]:
    """Videos of an ActivityNet (or mmaction2 BMN) json, those of ``subset`` (e.g. ``'training'``) only if given.

    Each video: ``duration_second`` (ActivityNet's ``duration`` if that is what the file has), ``annotations``
    (list of ``dict(segment=(start, end), label)`` in seconds) and the file's other fields (``subset``, ``fps``,
    ``duration_frame``, ...).
    """
    with open(path, encoding='utf-8') as f:
        data = json.load(f)
    database = data.get('database', data) if isinstance(data, dict) else None
    if not isinstance(database, dict):
        raise TemporalAnnotationError(f'{path}: expected {{"database": {{video_id: ...}}}} or {{video_id: ...}}')
    videos = {}
    for vid, info in database.items():
        if not isinstance(info, dict):
            raise TemporalAnnotationError(f'{path}: video {vid}: expected a dict, got {type(info).__name__}')
        if subset is not None and info.get('subset') != subset:
            continue
        duration = info.get('duration_second', info.get('duration'))
        if duration is None:
            raise TemporalAnnotationError(f'{path}: video {vid} has no duration_second (or duration)')
        anns = []
        for i, ann in enumerate(info.get('annotations', [])):
            where = f'{path}: video {vid}, annotation {i}'
            if not isinstance(ann, dict) or 'segment' not in ann or 'label' not in ann:
                raise TemporalAnnotationError(f'{where}: expected {{"segment": [s, e], "label": ...}}, got {ann!r}')
            anns.append(dict(segment=_check_segment(ann['segment'], where), label=ann['label']))
        videos[vid] = dict(info, duration_second=float(duration), annotations=anns)
    return videos


def dump_activitynet_json(videos: Dict[str, dict], path: str, version: str = 'tessera') -> None:
    """Write ``{video_id: dict(duration_second, annotations, ...)}`` in ActivityNet's layout (with ``database``)."""
    database = {}
    for vid, info in videos.items():
        anns = [dict(segment=[float(a['segment'][0]), float(a['segment'][1])], label=a['label'])
                for a in info['annotations']]
        database[vid] = {**{k: v for k, v in info.items() if k != 'annotations'},
                         'duration': float(info['duration_second']), 'annotations': anns}
    with open(path, 'w', encoding='utf-8') as f:
        json.dump(dict(version=version, database=database), f, indent=1)


def load_thumos_annotations(files: Iterable[str], durations: Optional[Dict[str, float]] = None) -> Dict[str, dict]:
    """THUMOS'14 per-class files (``<Class>_<subset>.txt``; a folder, a glob pattern or a list of paths).

    The label is the class part of the file name (``BaseballPitch_val.txt`` -> ``'BaseballPitch'``). THUMOS lists
    no durations: pass ``durations`` (seconds per video) or get ``duration_second=None``.
    """
    if isinstance(files, str):
        files = sorted(glob.glob(osp.join(files, '*.txt'))) if osp.isdir(files) else sorted(glob.glob(files))
    videos: Dict[str, dict] = {}
    for path in files:
        label = osp.splitext(osp.basename(path))[0].rsplit('_', 1)[0]
        with open(path, encoding='utf-8') as f:
            for lineno, line in enumerate(f, 1):
                fields = line.split()
                if not fields:
                    continue
                where = f'{path}, line {lineno}'
                if len(fields) != 3:
                    raise TemporalAnnotationError(f'{where}: expected "video start end", got {line.strip()!r}')
                vid = fields[0]
                segment = _check_segment(fields[1:], where)
                entry = videos.setdefault(vid, dict(duration_second=(durations or {}).get(vid), annotations=[]))
                entry['annotations'].append(dict(segment=segment, label=label))
    return videos
