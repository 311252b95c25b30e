"""A file that is not a complete checkpoint gives an error naming the file and what is wrong."""
import io
import zipfile

import pytest
import torch
from mmengine.runner.checkpoint import CheckpointLoader

from tessera_core.engine.safe_checkpoint import CheckpointFileError, safe_load


@pytest.fixture
def good(tmp_path):
    path = tmp_path / 'good.pth'
    torch.save({'state_dict': {'w': torch.arange(50000.0)}, 'meta': {'epoch': 1}}, path)
    return path


def _load(path):
    return CheckpointLoader.load_checkpoint(str(path), map_location='cpu')


def test_empty(tmp_path):
    path = tmp_path / 'empty.pth'
    path.write_bytes(b'')
    with pytest.raises(CheckpointFileError, match=r'empty\.pth is empty \(0 bytes\)'):
        _load(path)


@pytest.mark.parametrize('keep', [0.99, 0.5, 0.01])
def test_truncated(tmp_path, good, keep):
    data = good.read_bytes()
    path = tmp_path / 'epoch_3.pth'
    path.write_bytes(data[:int(len(data) * keep)])
    with pytest.raises(CheckpointFileError, match=r'epoch_3\.pth is truncated .*interrupted'):
        _load(path)


def test_corrupted_pickle(tmp_path, good):
    """Bytes of data.pkl changed in place (same length: the zip directory is intact)."""
    data = bytearray(good.read_bytes())
    with zipfile.ZipFile(good) as zf:
        info = next(i for i in zf.infolist() if i.filename.endswith('/data.pkl'))
    with open(good, 'rb') as f:  # the local header's extra field may differ from the directory's
        f.seek(info.header_offset + 26)
        n_name, n_extra = int.from_bytes(f.read(2), 'little'), int.from_bytes(f.read(2), 'little')
    start = info.header_offset + 30 + n_name + n_extra + 10
    data[start:start + 8] = b'\xff' * 8
    path = tmp_path / 'bitrot.pth'
    path.write_bytes(bytes(data))
    with pytest.raises(CheckpointFileError, match=r'bitrot\.pth is corrupted: its data\.pkl fails'):
        _load(path)


@pytest.mark.parametrize('content, what', [
    (b'<!DOCTYPE html><html><body>404 Not Found</body></html>', 'HTML'),
    (b"model = dict(type='ResNet')\n", 'text file'),
    (b'\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR', 'unknown format'),
])
def test_not_a_checkpoint(tmp_path, content, what):
    path = tmp_path / 'weights.pth'
    path.write_bytes(content)
    with pytest.raises(CheckpointFileError, match=rf'weights\.pth is not a PyTorch checkpoint.*{what}'):
        _load(path)


def test_zip_that_is_not_a_checkpoint(tmp_path):
    path = tmp_path / 'archive.pth'
    with zipfile.ZipFile(path, 'w') as zf:
        zf.writestr('README.txt', 'hello')
    with pytest.raises(CheckpointFileError, match=r'archive\.pth is a zip archive but not a PyTorch checkpoint'):
        _load(path)


def test_legacy_format_still_loads(tmp_path):
    """torch < 1.6 files (a pickle stream, e.g. torchvision's resnet18-5c106cde.pth) are not refused."""
    path = tmp_path / 'legacy.pth'
    torch.save({'w': torch.ones(3)}, path, _use_new_zipfile_serialization=False)
    assert torch.equal(_load(path)['w'], torch.ones(3))
    path.write_bytes(path.read_bytes()[:40])
    with pytest.raises(CheckpointFileError, match=r'legacy\.pth could not be read'):
        _load(path)


def test_file_objects_are_named(good):
    buffer = io.BytesIO(good.read_bytes()[:100])
    with pytest.raises(CheckpointFileError, match=r's3://bucket/x\.pth is truncated'):
        safe_load(buffer, name='s3://bucket/x.pth')
    assert safe_load(io.BytesIO(good.read_bytes()), name='s3://bucket/x.pth')['meta'] == {'epoch': 1}
