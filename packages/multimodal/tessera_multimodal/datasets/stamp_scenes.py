"""StampScenes: deterministic scenes of real Tux Paint stamps with captions of three controlled lengths.

Every scene pastes one to ``max_objects`` stamps (:mod:`tuxpaint_stamps`: real PNGs with alpha, described by
their own English ``.txt``) on a two-colour gradient background: each stamp is cropped to its alpha, resized
(longer side a random share of the canvas), placed so that no two boxes overlap or touch (``GAP`` pixels
apart) and alpha-composited. Because nothing overlaps, every box is exact: the tight box of the stamp's
visible pixels (alpha > 0), ``[x1, y1, x2, y2)`` in pixels (``x2``/``y2`` exclusive). The stamps of one
scene have distinct descriptions, so every caption names each unambiguously.

Captions, all of the same image, composed from the descriptions (as noun phrases: trailing stop dropped,
a leading article lower-cased) and relations true of the boxes:

==========  =====================================================================================
level       content
==========  =====================================================================================
``short``   the stamps, left to right: "A penguin and a red apple."
``medium``  each with its place in the picture (thirds of its box centre): "A penguin on the left
            and a red apple at the bottom right."
``long``    the count ("There are two things."), the medium sentence, then for every pair its
            position relation and its size relation, or for one stamp its size in the picture
==========  =====================================================================================

Relations (``relations`` of a scene record, rendered as "The penguin is to the left of the red apple."):

- position of a pair: along the axis where the boxes are further apart, ``left of`` / ``right of``
  (``x2_a <= x1_b`` / ``x2_b <= x1_a``) or ``above`` / ``below`` (same on y);
- size of a pair, box areas ``A_a / A_b``: ``bigger than`` if >= ``SIZE_RATIO``, ``smaller than`` if
  <= 1 / ``SIZE_RATIO``, else ``about as big as``;
- size of a lone stamp, box area over canvas area: ``small`` < 0.1 <= ``medium-sized`` < 0.25 <= ``large``.

So every level has strictly more words than the one before (medium adds >= 2 words per stamp, long a
count sentence of >= 4 words).

Split by stamp (:func:`split_stamps`, ``split_seed``): train scenes use only train stamps, test scenes only
test stamps. Scene ``i`` of a split draws its randomness from ``np.random.default_rng([seed, split, i])``.
Generated once and cached under ``<cache_root>/<name>-v<VERSION>-<seed>/`` (``images.npy`` (N, H, W, 3)
uint8 RGB, ``scenes.json`` one record per image, ``spec.json``), written to a temporary folder and renamed,
so concurrent builders never see partial files; the same seed gives byte-identical files. The name holds a
checksum of the stamp list (names, descriptions, file sizes): another installed collection never reuses a
stale cache. ``cache_root`` defaults to ``$TESSERA_CACHE/multimodal``, else
``$XDG_CACHE_HOME/tessera/multimodal``, else ``~/.cache/tessera/multimodal``.
"""
import json
import os
import os.path as osp
import zlib
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from tessera_core.datasets import InMemoryImageDataset
from tessera_core.datasets.cache import ensure_built_folder, tessera_cache_dir
from tessera_multimodal.registry import DATASETS

from .tuxpaint_stamps import Stamp, check_stamp_root, read_stamps, split_stamps

VERSION = 1
CAPTION_LEVELS = ('short', 'medium', 'long')
SPLIT_CODES = dict(train=0, test=1)
GAP = 2                     # min pixels between two boxes
SIZE_RATIO = 1.5            # box-area ratio for bigger / smaller
SCALE_RANGE = (0.25, 0.55)  # longer side of a stamp / shorter side of the canvas
NUMBER_WORDS = ('zero', 'one', 'two', 'three', 'four', 'five')
_ARTICLES = ('A', 'An', 'The', 'Some')


def default_cache_root() -> str:
    """``<tessera cache>/multimodal`` (:func:`tessera_core.datasets.cache.tessera_cache_dir`)."""
    return tessera_cache_dir('multimodal')


# ---------------------------------------------------------------- language
def noun_phrase(description: str) -> str:
    """``'A red apple.'`` -> ``'a red apple'``: trailing stops dropped, a leading article lower-cased."""
    text = description.strip().rstrip('.!').strip()
    first, _, rest = text.partition(' ')
    if first in _ARTICLES:
        text = first.lower() + (' ' + rest if rest else '')
    return text


def definite(phrase: str) -> str:
    """``'a red apple'`` -> ``'the red apple'`` (second mention); other phrases unchanged."""
    first, _, rest = phrase.partition(' ')
    return 'the ' + rest if first in ('a', 'an', 'some') and rest else phrase


def sentence(text: str) -> str:
    return text[:1].upper() + text[1:] + '.'


def join_list(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ', '.join(items[:-1]) + ' and ' + items[-1]


def place_in_picture(box: Sequence[float], size: Tuple[int, int]) -> str:
    """Where the box centre lies in the thirds of the picture: 'at the top left', 'on the right', ..."""
    h, w = size
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    col = ('left', 'centre', 'right')[min(int(3 * cx / w), 2)]
    row = ('top', 'middle', 'bottom')[min(int(3 * cy / h), 2)]
    if row == 'middle':
        return 'in the middle' if col == 'centre' else f'on the {col}'
    return f'at the {row}' if col == 'centre' else f'at the {row} {col}'


def box_area(box: Sequence[float]) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))


def position_relation(a: Sequence[float], b: Sequence[float]) -> str:
    """Relation of disjoint box ``a`` to box ``b`` along the axis where they are further apart."""
    gx = max(b[0] - a[2], a[0] - b[2])
    gy = max(b[1] - a[3], a[1] - b[3])
    if max(gx, gy) < 0:
        raise ValueError(f'boxes {a} and {b} overlap: no position relation')
    if gx >= gy:
        return 'left of' if a[2] <= b[0] else 'right of'
    return 'above' if a[3] <= b[1] else 'below'


def size_relation(a: Sequence[float], b: Sequence[float]) -> str:
    ratio = box_area(a) / box_area(b)
    if ratio >= SIZE_RATIO:
        return 'bigger than'
    if ratio <= 1 / SIZE_RATIO:
        return 'smaller than'
    return 'about as big as'


def picture_size(box: Sequence[float], size: Tuple[int, int]) -> str:
    share = box_area(box) / float(size[0] * size[1])
    return 'small' if share < 0.1 else 'medium-sized' if share < 0.25 else 'large'


RELATION_TEXT = {'left of': 'to the left of', 'right of': 'to the right of', 'above': 'above', 'below': 'below',
                 'bigger than': 'bigger than', 'smaller than': 'smaller than', 'about as big as': 'about as big as'}


def scene_relations(boxes: Sequence[Sequence[float]], size: Tuple[int, int]) -> List[dict]:
    """The relations true of ``boxes``: per pair (i < j) position then size, or the lone stamp's size."""
    if len(boxes) == 1:
        return [dict(kind='picture_size', subject=0, relation=picture_size(boxes[0], size))]
    rels = []
    for i in range(len(boxes)):
        for j in range(i + 1, len(boxes)):
            rels.append(dict(kind='position', subject=i, object=j, relation=position_relation(boxes[i], boxes[j])))
            rels.append(dict(kind='size', subject=i, object=j, relation=size_relation(boxes[i], boxes[j])))
    return rels


def compose_captions(descriptions: Sequence[str], boxes: Sequence[Sequence[float]], size: Tuple[int, int],
                     relations: Sequence[dict]) -> Dict[str, str]:
    """The short / medium / long captions of a scene (see the module docstring)."""
    phrases = [noun_phrase(d) for d in descriptions]
    order = sorted(range(len(boxes)), key=lambda i: ((boxes[i][0] + boxes[i][2]) / 2, i))
    short = sentence(join_list([phrases[i] for i in order]))
    medium = sentence(join_list([f'{phrases[i]} {place_in_picture(boxes[i], size)}' for i in order]))
    k = len(boxes)
    count = f'There is {NUMBER_WORDS[k]} thing.' if k == 1 else f'There are {NUMBER_WORDS[k]} things.'
    parts = [count, medium]
    for rel in relations:
        subject = definite(phrases[rel['subject']])
        if rel['kind'] == 'picture_size':
            parts.append(sentence(f'{subject} is {rel["relation"]} in the picture'))
        else:
            parts.append(sentence(f'{subject} is {RELATION_TEXT[rel["relation"]]} {definite(phrases[rel["object"]])}'))
    return dict(short=short, medium=medium, long=' '.join(parts))


# ---------------------------------------------------------------- images
def load_stamp_rgba(path: str) -> np.ndarray:
    """The stamp as RGBA uint8, cropped to its visible pixels (alpha > 0); opaque if it has no alpha."""
    img = cv2.imread(path, cv2.IMREAD_UNCHANGED)
    if img is None:
        raise ValueError(f'cannot decode stamp image {path}')
    if img.ndim == 2:
        img = cv2.cvtColor(img, cv2.COLOR_GRAY2BGRA)
    elif img.shape[2] == 3:
        img = cv2.cvtColor(img, cv2.COLOR_BGR2BGRA)
    if img.dtype != np.uint8:   # 16-bit PNG
        img = (img / 257).round().astype(np.uint8)
    img = cv2.cvtColor(img, cv2.COLOR_BGRA2RGBA)
    ys, xs = np.nonzero(img[..., 3])
    if len(ys) == 0:
        raise ValueError(f'stamp image {path} is fully transparent')
    return img[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def resize_rgba(rgba: np.ndarray, longer: int) -> np.ndarray:
    """Resize to a longer side of ``longer`` px (premultiplied alpha, area filter), cropped to alpha > 0."""
    h, w = rgba.shape[:2]
    scale = longer / max(h, w)
    nh, nw = max(1, int(round(h * scale))), max(1, int(round(w * scale)))
    a = rgba[..., 3:].astype(np.float32) / 255.0
    pre = np.concatenate([rgba[..., :3].astype(np.float32) * a, a * 255.0], axis=-1)
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    out = cv2.resize(pre, (nw, nh), interpolation=interp).reshape(nh, nw, 4)
    alpha = out[..., 3:] / 255.0
    rgb = np.where(alpha > 0, out[..., :3] / np.maximum(alpha, 1e-6), 0)
    res = np.concatenate([rgb, alpha * 255.0], axis=-1).round().clip(0, 255).astype(np.uint8)
    ys, xs = np.nonzero(res[..., 3])
    if len(ys) == 0:   # vanishingly thin stamp: keep its most opaque pixel
        y, x = np.unravel_index(np.argmax(out[..., 3]), out.shape[:2])
        res[y, x, 3] = 255
        ys, xs = np.array([y]), np.array([x])
    return res[ys.min():ys.max() + 1, xs.min():xs.max() + 1]


def gradient_background(size: Tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    h, w = size
    top, bottom = rng.integers(0, 256, size=(2, 3)).astype(np.float32)
    t = np.linspace(0, 1, h, dtype=np.float32)[:, None, None]
    return np.broadcast_to(top * (1 - t) + bottom * t, (h, w, 3)).round().astype(np.uint8)


def render_scene(pool: Sequence[Stamp], rng: np.random.Generator, size: Tuple[int, int], max_objects: int,
                 stamp_cache: Dict[str, np.ndarray]) -> Tuple[np.ndarray, List[Stamp], List[List[int]]]:
    """One scene: ``(image (H, W, 3) uint8, stamps, boxes [[x1, y1, x2, y2), ...])``, boxes pairwise apart."""
    h, w = size
    k = int(rng.integers(1, max_objects + 1))
    chosen, seen = [], set()
    for idx in rng.permutation(len(pool)):
        if pool[idx].description not in seen:
            chosen.append(pool[idx])
            seen.add(pool[idx].description)
            if len(chosen) == k:
                break
    canvas = gradient_background(size, rng).astype(np.float32)
    boxes = []
    for stamp in chosen:
        if stamp.name not in stamp_cache:
            stamp_cache[stamp.name] = load_stamp_rgba(stamp.image_path)
        longer = rng.uniform(*SCALE_RANGE) * min(h, w)
        for _ in range(200):
            item = resize_rgba(stamp_cache[stamp.name], max(2, int(round(longer))))
            ih, iw = item.shape[:2]
            x, y = int(rng.integers(0, w - iw + 1)), int(rng.integers(0, h - ih + 1))
            box = [x, y, x + iw, y + ih]
            if all(max(b[0] - box[2], box[0] - b[2], b[1] - box[3], box[1] - b[3]) >= GAP for b in boxes):
                break
            longer *= 0.97   # crowded: shrink a little and retry
        else:
            raise RuntimeError(f'could not place stamp {stamp.name} apart from {boxes} on a {size} canvas')
        a = item[..., 3:].astype(np.float32) / 255.0
        region = canvas[y:y + ih, x:x + iw]
        canvas[y:y + ih, x:x + iw] = region * (1 - a) + item[..., :3].astype(np.float32) * a
        boxes.append(box)
    return canvas.round().clip(0, 255).astype(np.uint8), chosen, boxes


def build_scenes(out_dir: str, spec: dict, parts: Dict[str, List[Stamp]]) -> None:
    """Render every scene of ``spec`` into ``out_dir`` (train scenes then test scenes)."""
    os.makedirs(out_dir)
    size = tuple(spec['size'])
    images, records, cache = [], [], {}
    for split, count in (('train', spec['num_train']), ('test', spec['num_test'])):
        for i in range(count):
            rng = np.random.default_rng([spec['seed'], SPLIT_CODES[split], i])
            img, stamps, boxes = render_scene(parts[split], rng, size, spec['max_objects'], cache)
            relations = scene_relations(boxes, size)
            descriptions = [s.description for s in stamps]
            images.append(img)
            records.append(dict(split=split, index=i, stamps=[s.name for s in stamps],
                                categories=[s.category for s in stamps], descriptions=descriptions, boxes=boxes,
                                relations=relations,
                                captions=compose_captions(descriptions, boxes, size, relations)))
    np.save(osp.join(out_dir, 'images.npy'), np.stack(images))
    with open(osp.join(out_dir, 'scenes.json'), 'w') as f:
        json.dump(records, f, indent=0, sort_keys=True)
    with open(osp.join(out_dir, 'spec.json'), 'w') as f:
        json.dump(spec, f, indent=1, sort_keys=True)


def stamps_checksum(stamps: Sequence[Stamp]) -> str:
    key = '\n'.join(f'{s.name}\t{s.description}\t{osp.getsize(s.image_path)}' for s in sorted(stamps))
    return f'{zlib.crc32(key.encode()):08x}'


def ensure_scenes(spec: dict, parts: Dict[str, List[Stamp]], cache_root: Optional[str] = None) -> str:
    """The cache folder of ``spec``, rendering it first if needed (atomically, see
    :func:`tessera_core.datasets.cache.ensure_built_folder`)."""
    final = osp.join(cache_root or default_cache_root(), f'{spec["name"]}-v{VERSION}-{spec["seed"]}')
    return ensure_built_folder(final, spec, lambda folder: build_scenes(folder, spec, parts), what='scenes')


@DATASETS.register_module()
class StampScenes(InMemoryImageDataset):
    """Scenes of one to ``max_objects`` real Tux Paint stamps with short / medium / long captions.

    Needs Debian's ``tuxpaint-stamps-default`` (``stamp_root``); absent, it raises a ``FileNotFoundError``
    naming the folder and ``sudo apt-get install tuxpaint-stamps-default``.

    Args:
        split (str): ``'train'`` or ``'test'`` (scenes of disjoint stamp sets).
        num_train, num_test (int): Scenes of each split.
        size (tuple): Canvas (H, W).
        max_objects (int): Stamps per scene are drawn from 1..max_objects (at most 5).
        max_description_words (int, optional): Stamps whose description has more words are left out of the
            scenes (default 8: keeps captions short; ~90% of the collection), ``None`` keeps all.
        test_fraction (float): Share of the stamps held out for test scenes.
        split_seed (int): Seed of the split by stamp.
        seed (int): Generation seed (the same seed gives byte-identical cached files).
        caption_level (str): The level put in ``caption`` (all three are in ``captions``).
        stamp_root (str, optional): The stamps folder (default ``/usr/share/tuxpaint/stamps``).
        cache_root (str, optional): Cache folder (default: see the module docstring).

    Items: ``img`` (H, W, 3) uint8 RGB, ``caption`` (str), ``captions`` (dict level -> str),
    ``gt_bboxes`` (k, 4) float32 xyxy (x2/y2 exclusive), ``num_objects``, ``gt_label`` (= ``num_objects - 1``),
    ``stamps``, ``categories``, ``descriptions``, ``relations``.
    """

    def __init__(self, split: str = 'train', num_train: int = 2000, num_test: int = 500,
                 size: Tuple[int, int] = (96, 96), max_objects: int = 3, test_fraction: float = 0.2,
                 split_seed: int = 0, seed: int = 0, caption_level: str = 'medium',
                 max_description_words: Optional[int] = 8,
                 stamp_root: Optional[str] = None, cache_root: Optional[str] = None, **kwargs):
        if split not in SPLIT_CODES:
            raise ValueError(f'invalid split {split!r}; valid: {tuple(SPLIT_CODES)}')
        if caption_level not in CAPTION_LEVELS:
            raise ValueError(f'invalid caption_level {caption_level!r}; valid: {CAPTION_LEVELS}')
        if not 1 <= max_objects < len(NUMBER_WORDS):
            raise ValueError(f'max_objects must lie in 1..{len(NUMBER_WORDS) - 1}, got {max_objects}')
        if num_train < 1 or num_test < 1:
            raise ValueError(f'num_train and num_test must be >= 1, got {num_train}, {num_test}')
        h, w = (int(s) for s in size)
        if min(h, w) < 16:
            raise ValueError(f'size must be at least 16x16, got {size}')
        self.split, self.caption_level = split, caption_level
        self.stamp_root, self.cache_root = check_stamp_root(stamp_root), cache_root
        self.spec = dict(num_train=int(num_train), num_test=int(num_test), size=[h, w], max_objects=int(max_objects),
                         test_fraction=float(test_fraction), split_seed=int(split_seed), seed=int(seed),
                         max_description_words=None if max_description_words is None else int(max_description_words))
        self.scenes = None
        super().__init__(**kwargs)

    def load_data_list(self) -> List[dict]:
        stamps, _ = read_stamps(self.stamp_root)
        limit = self.spec['max_description_words']
        if limit is not None:
            stamps = [s for s in stamps if len(s.description.split()) <= limit]
        if len(stamps) < 2 * self.spec['max_objects']:
            raise ValueError(f'{self.stamp_root}: only {len(stamps)} stamps with descriptions of at most {limit} '
                             f'words, too few for scenes of up to {self.spec["max_objects"]} stamps per split')
        parts = split_stamps(stamps, self.spec['test_fraction'], self.spec['split_seed'])
        spec = dict(self.spec, stamps_crc=stamps_checksum(stamps))
        h, w = spec['size']
        spec['name'] = (f'stamp-scenes-{spec["num_train"]}+{spec["num_test"]}-{h}x{w}-k{spec["max_objects"]}'
                        f'-t{spec["test_fraction"]:g}-s{spec["split_seed"]}-w{limit}-{spec["stamps_crc"]}')
        folder = ensure_scenes(spec, parts, self.cache_root)
        self.cache_dir = folder
        images = np.load(osp.join(folder, 'images.npy'), mmap_mode='r')
        with open(osp.join(folder, 'scenes.json')) as f:
            records = json.load(f)
        sel = [i for i, r in enumerate(records) if r['split'] == self.split]
        self.images = np.ascontiguousarray(images[sel])
        self.scenes = [records[i] for i in sel]
        self.labels = np.array([len(r['boxes']) - 1 for r in self.scenes], dtype=np.int64)
        self._metainfo.update(caption_levels=CAPTION_LEVELS, num_stamps=len(parts[self.split]))
        return [dict(sample_idx=i, gt_label=int(self.labels[i])) for i in range(len(self.scenes))]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        rec = self.scenes[info['sample_idx']]
        info.update(caption=rec['captions'][self.caption_level], captions=dict(rec['captions']),
                    gt_bboxes=np.asarray(rec['boxes'], dtype=np.float32).reshape(-1, 4),
                    num_objects=len(rec['boxes']), stamps=list(rec['stamps']), categories=list(rec['categories']),
                    descriptions=list(rec['descriptions']), relations=list(rec['relations']))
        return info
