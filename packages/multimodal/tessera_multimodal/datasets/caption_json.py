"""Readers of the two standard image-caption json formats.

COCO captions (``captions_train2014.json``)::

    {"images": [{"id": 391895, "file_name": "COCO_val2014_000000391895.jpg", ...}, ...],
     "annotations": [{"id": 770337, "image_id": 391895, "caption": "A man with a red helmet ..."}, ...]}

Karpathy split (``dataset_coco.json``, also Flickr8k/30k)::

    {"dataset": "coco",
     "images": [{"filepath": "val2014", "filename": "COCO_val2014_000000391895.jpg", "imgid": 0,
                 "split": "test", "cocoid": 391895,
                 "sentences": [{"raw": "A man with ...", "tokens": ["a", "man", ...], "imgid": 0, "sentid": 0},
                               ...]}, ...]}

Both return one record per image, in file order: ``dict(image_id, file_name, captions=[str, ...])``, the
Karpathy reader adding ``split`` and ``filepath`` (``file_name`` is then ``filepath/filename`` when a
``filepath`` is given) and ``tokens`` (the file's tokenisation, one list per caption). Bad input raises a
``ValueError`` naming the file and the entry (its index and id), e.g. a caption whose ``image_id`` no entry
of ``images`` has.
"""
import json
from typing import Dict, List, Optional, Sequence, Union

KARPATHY_SPLITS = ('train', 'restval', 'val', 'test')


def _load(path: str) -> dict:
    try:
        with open(path, encoding='utf-8') as f:
            data = json.load(f)
    except FileNotFoundError:
        raise FileNotFoundError(f'caption file {path} does not exist') from None
    except json.JSONDecodeError as err:
        raise ValueError(f'{path} is not valid json: {err}') from None
    if not isinstance(data, dict) or not isinstance(data.get('images'), list):
        raise ValueError(f'{path}: expected a json object with an "images" list')
    return data


def _field(path: str, what: str, i: int, entry, key: str, types):
    if not isinstance(entry, dict):
        raise ValueError(f'{path}: {what} #{i} is not an object: {entry!r:.100}')
    if key not in entry:
        raise ValueError(f'{path}: {what} #{i} ({_ident(entry)}) has no {key!r} key')
    value = entry[key]
    if not isinstance(value, types) or isinstance(value, bool):
        raise ValueError(f'{path}: {what} #{i} ({_ident(entry)}) {key!r} must be '
                         f'{" or ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))}, '
                         f'got {value!r:.100}')
    return value


def _ident(entry: dict) -> str:
    for key in ('id', 'imgid', 'cocoid', 'sentid', 'image_id', 'file_name', 'filename'):
        if key in entry:
            return f'{key}={entry[key]!r}'
    return 'no id'


def read_coco_captions(ann_file: str) -> List[dict]:
    """``[dict(image_id, file_name, captions), ...]`` of a COCO-captions json, images in file order.

    Images without a caption are kept (``captions=[]``); captions are stripped, in annotation order.

    Raises:
        ValueError: a missing/mistyped key, an empty caption, a duplicate image id, or an annotation whose
            ``image_id`` no image has (naming the file, the annotation and the id).
    """
    data = _load(ann_file)
    if not isinstance(data.get('annotations'), list):
        raise ValueError(f'{ann_file}: expected an "annotations" list (COCO captions format)')
    records: Dict[Union[int, str], dict] = {}
    for i, img in enumerate(data['images']):
        image_id = _field(ann_file, 'image', i, img, 'id', (int, str))
        file_name = _field(ann_file, 'image', i, img, 'file_name', str)
        if image_id in records:
            raise ValueError(f'{ann_file}: image #{i} repeats image id {image_id!r}')
        records[image_id] = dict(image_id=image_id, file_name=file_name, captions=[])
    for i, ann in enumerate(data['annotations']):
        image_id = _field(ann_file, 'annotation', i, ann, 'image_id', (int, str))
        caption = _field(ann_file, 'annotation', i, ann, 'caption', str).strip()
        if image_id not in records:
            raise ValueError(f'{ann_file}: annotation #{i} ({_ident(ann)}) has image_id {image_id!r}, '
                             f'which no entry of "images" has ({len(records)} images)')
        if not caption:
            raise ValueError(f'{ann_file}: annotation #{i} ({_ident(ann)}) has an empty caption')
        records[image_id]['captions'].append(caption)
    return list(records.values())


def read_karpathy_split(json_file: str, splits: Optional[Union[str, Sequence[str]]] = None) -> List[dict]:
    """``[dict(image_id, file_name, filepath, split, captions, tokens), ...]`` of a Karpathy-split json.

    Args:
        json_file (str): ``dataset_coco.json`` / ``dataset_flickr30k.json`` / ...
        splits (str | sequence, optional): Keep only these splits (``'train'``, ``'restval'``, ``'val'``,
            ``'test'``); ``None`` keeps all. Karpathy's "train" for COCO is usually ``('train', 'restval')``.

    ``image_id`` is ``cocoid`` when present (COCO), else ``imgid``.

    Raises:
        ValueError: an unknown split (requested or in the file), a missing/mistyped key, an image without
            sentences, or a sentence whose ``imgid`` is not its image's (naming the file, image and sentence).
    """
    if isinstance(splits, str):
        splits = (splits,)
    if splits is not None:
        bad = [s for s in splits if s not in KARPATHY_SPLITS]
        if bad:
            raise ValueError(f'unknown Karpathy split(s) {bad}; valid: {KARPATHY_SPLITS}')
    data = _load(json_file)
    records, seen = [], set()
    for i, img in enumerate(data['images']):
        filename = _field(json_file, 'image', i, img, 'filename', str)
        split = _field(json_file, 'image', i, img, 'split', str)
        if split not in KARPATHY_SPLITS:
            raise ValueError(f'{json_file}: image #{i} ({_ident(img)}) has split {split!r}; valid: {KARPATHY_SPLITS}')
        imgid = _field(json_file, 'image', i, img, 'imgid', (int, str)) if 'imgid' in img else None
        image_id = _field(json_file, 'image', i, img, 'cocoid', (int, str)) if 'cocoid' in img else imgid
        if image_id is None:
            raise ValueError(f'{json_file}: image #{i} (filename={filename!r}) has neither "cocoid" nor "imgid"')
        if image_id in seen:
            raise ValueError(f'{json_file}: image #{i} ({_ident(img)}) repeats image id {image_id!r}')
        seen.add(image_id)
        sentences = _field(json_file, 'image', i, img, 'sentences', list)
        if not sentences:
            raise ValueError(f'{json_file}: image #{i} ({_ident(img)}) has no sentences')
        captions, tokens = [], []
        for j, sent in enumerate(sentences):
            what = f'image #{i} ({_ident(img)}) sentence'
            raw = _field(json_file, what, j, sent, 'raw', str).strip()
            if 'imgid' in sent and imgid is not None and sent['imgid'] != imgid:
                raise ValueError(f'{json_file}: {what} #{j} ({_ident(sent)}) has imgid {sent["imgid"]!r}, '
                                 f'but its image has imgid {imgid!r}')
            if not raw:
                raise ValueError(f'{json_file}: {what} #{j} ({_ident(sent)}) has an empty "raw" caption')
            captions.append(raw)
            toks = sent.get('tokens')
            tokens.append(list(toks) if isinstance(toks, list) else raw.lower().split())
        if splits is not None and split not in splits:
            continue
        filepath = img.get('filepath', '')
        records.append(dict(image_id=image_id, file_name=f'{filepath}/{filename}' if filepath else filename,
                            filepath=filepath, split=split, captions=captions, tokens=tokens))
    return records
