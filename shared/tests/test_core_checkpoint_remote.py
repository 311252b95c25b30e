"""Every mmengine checkpoint scheme goes through the allowlist, even with TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD=1.

Remote files are served offline by an HTTP server on 127.0.0.1 (a daemon thread, shut down after each test
and by a timer at the latest). Each scheme is given a genuine mmengine-style checkpoint (must load) and one
whose unpickling would create a file (must be refused, the file never created).
"""
import builtins
import functools
import http.server
import json
import os
import shutil
import sys
import threading
import types

import numpy as np
import pytest
import torch
import torch.nn as nn
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModule
from mmengine.runner.checkpoint import CheckpointLoader

import mmengine.runner.checkpoint as mm_ckpt
from tessera_core.engine import checkpoint_safety, safe_checkpoint, safe_remote
from tessera_core.engine.safe_checkpoint import UntrustedCheckpointError


class _Reduce:
    def __init__(self, fn, *args):
        self.fn, self.args = fn, args

    def __reduce__(self):
        return self.fn, self.args


@pytest.fixture
def files(tmp_path):
    """A genuine checkpoint (``good.pth``) and a code-carrying one (``evil.pth``) in ``served/``."""
    served = tmp_path / 'served'
    served.mkdir()
    buf = HistoryBuffer()
    buf.update(0.5)
    good = {'meta': {'epoch': 3, 'seed': np.int64(7)}, 'message_hub': {'log_scalars': {'loss': buf}},
            'state_dict': {'fc.weight': torch.arange(6.0).reshape(2, 3), 'fc.bias': torch.ones(2)}}
    torch.save(good, served / 'good.pth')
    victim = tmp_path / 'pwned.txt'
    torch.save({'state_dict': {'weight': torch.zeros(2, 3), 'bias': torch.zeros(2)},
                'x': _Reduce(builtins.open, str(victim), 'w')}, served / 'evil.pth')
    return types.SimpleNamespace(dir=served, victim=victim)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture
def server(files, tmp_path, monkeypatch):
    """Serves ``files.dir`` on 127.0.0.1; downloads are cached under tmp_path (TORCH_HOME)."""
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    httpd = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(_QuietHandler,
                                                                                directory=str(files.dir)))
    httpd.timeout = 5
    thread = threading.Thread(target=httpd.serve_forever, kwargs=dict(poll_interval=0.05), daemon=True)
    thread.start()
    deadline = threading.Timer(60, httpd.shutdown)  # stops by itself even if a test hangs
    deadline.start()
    yield f'http://127.0.0.1:{httpd.server_address[1]}'
    deadline.cancel()
    httpd.shutdown()
    httpd.server_close()
    thread.join(5)


@pytest.fixture(autouse=True)
def no_weights_only_default(monkeypatch):
    """torch's own safety switched off: only Tessera's loader stands between a file and code."""
    monkeypatch.setenv('TORCH_FORCE_NO_WEIGHTS_ONLY_LOAD', '1')
    monkeypatch.delenv('TESSERA_TRUST_CHECKPOINTS', raising=False)


def _assert_good(ckpt):
    assert ckpt['meta']['epoch'] == 3 and int(ckpt['meta']['seed']) == 7
    assert type(ckpt['message_hub']['log_scalars']['loss']) is HistoryBuffer
    assert torch.equal(ckpt['state_dict']['fc.weight'], torch.arange(6.0).reshape(2, 3))


def _assert_refused(filename, victim):
    with pytest.raises(UntrustedCheckpointError, match='io.open') as err:
        CheckpointLoader.load_checkpoint(filename, map_location='cpu')
    assert '--trust-checkpoint' in str(err.value)
    assert not victim.exists()


def test_payload_is_live(files):
    """The evil file really runs code when unpickled without the allowlist (so refusing it means something)."""
    with safe_checkpoint.trusted_checkpoints():
        CheckpointLoader.load_checkpoint(str(files.dir / 'evil.pth'), map_location='cpu')
    assert files.victim.exists()


def test_local_path(files):
    _assert_good(CheckpointLoader.load_checkpoint(str(files.dir / 'good.pth'), map_location='cpu'))
    _assert_refused(str(files.dir / 'evil.pth'), files.victim)


def test_http_url(server, files, tmp_path):
    _assert_good(CheckpointLoader.load_checkpoint(f'{server}/good.pth', map_location='cpu'))
    assert (tmp_path / 'torch_home' / 'hub' / 'checkpoints' / 'good.pth').is_file()  # torch.hub's cache
    _assert_refused(f'{server}/evil.pth', files.victim)
    with pytest.raises(UntrustedCheckpointError, match=r'downloaded from http://127\.0\.0\.1'):
        CheckpointLoader.load_checkpoint(f'{server}/evil.pth')


def test_load_url_of_mmengine_is_replaced(server, files):
    """Code calling mmengine's ``load_url`` / ``load_from_http`` itself gets the safe loader too."""
    from mmengine.utils.dl_utils import load_url  # noqa: F401  (the package attribute is what is patched)
    import mmengine.utils.dl_utils as dl_utils
    _assert_good(dl_utils.load_url(f'{server}/good.pth', map_location='cpu'))
    with pytest.raises(UntrustedCheckpointError):
        mm_ckpt.load_from_http(f'{server}/evil.pth', map_location='cpu')
    with pytest.raises(UntrustedCheckpointError):
        safe_remote.safe_load_url(f'{server}/evil.pth', weights_only=False)  # not an opt-in
    assert not files.victim.exists()


@pytest.mark.parametrize('scheme, table', [('torchvision://', 'get_torchvision_models'),
                                           ('modelzoo://', 'get_torchvision_models')])
def test_torchvision_names(server, files, monkeypatch, scheme, table):
    monkeypatch.setattr(mm_ckpt, table, lambda: {'good_net': f'{server}/good.pth', 'evil_net': f'{server}/evil.pth'})
    _assert_good(CheckpointLoader.load_checkpoint(f'{scheme}good_net', map_location='cpu'))
    _assert_refused(f'{scheme}evil_net', files.victim)


def test_mmcls_names(server, files, monkeypatch):
    monkeypatch.setattr(mm_ckpt, 'get_mmcls_models', lambda: {'good': f'{server}/good.pth', 'evil': f'{server}/evil.pth'})
    ckpt = CheckpointLoader.load_checkpoint('mmcls://good', map_location='cpu')
    assert ckpt == {'state_dict': {}}  # mmengine's own post-processing (keeps only backbone.*) still applies
    _assert_refused('mmcls://evil', files.victim)


@pytest.mark.parametrize('prefix', ['open-mmlab://', 'openmmlab://'])
def test_openmmlab_names_url_and_local(server, files, tmp_path, monkeypatch, prefix):
    home = tmp_path / 'mmengine_home'
    home.mkdir()
    shutil.copy(files.dir / 'good.pth', home / 'good_local.pth')
    shutil.copy(files.dir / 'evil.pth', home / 'evil_local.pth')
    (home / 'open_mmlab.json').write_text(json.dumps({
        'good_url': f'{server}/good.pth', 'evil_url': f'{server}/evil.pth',
        'good_local': 'good_local.pth', 'evil_local': 'evil_local.pth'}))
    monkeypatch.setenv('MMENGINE_HOME', str(home))
    for name in ('good_url', 'good_local'):
        _assert_good(CheckpointLoader.load_checkpoint(f'{prefix}{name}', map_location='cpu'))
    for name in ('evil_url', 'evil_local'):
        _assert_refused(f'{prefix}{name}', files.victim)


def test_ceph_and_pavi(files, monkeypatch):
    class Backend:
        def get(self, filename):
            return (files.dir / filename.split('/')[-1]).read_bytes()

    monkeypatch.setattr(mm_ckpt, 'get_file_backend', lambda filename, backend_args=None: Backend())
    _assert_good(CheckpointLoader.load_checkpoint('s3://bucket/good.pth', map_location='cpu'))
    _assert_refused('petrel://bucket/evil.pth', files.victim)

    class Model:
        def __init__(self, path):
            self.name, self.path = os.path.basename(path), path

        def download(self, dst):
            shutil.copy(files.dir / self.name, dst)

    pavi = types.ModuleType('pavi')
    pavi.modelcloud = types.SimpleNamespace(get=Model)
    monkeypatch.setitem(sys.modules, 'pavi', pavi)
    _assert_good(CheckpointLoader.load_checkpoint('pavi://project/good.pth', map_location='cpu'))
    _assert_refused('pavi://project/evil.pth', files.victim)


class _Net(BaseModule):
    """``fc.weight`` / ``fc.bias``; with a ``prefix='fc'`` init_cfg, the fc layer's own ``weight`` / ``bias``."""

    def __init__(self, init_cfg):
        super().__init__(init_cfg=init_cfg)
        self.fc = nn.Linear(3, 2)
        if init_cfg.get('prefix'):
            self.weight, self.bias = self.fc.weight, self.fc.bias
            del self.fc


@pytest.mark.parametrize('prefix', [None, 'fc'])  # load_checkpoint / _load_checkpoint_with_prefix
def test_init_cfg_pretrained_url(server, files, prefix):
    net = _Net(dict(type='Pretrained', checkpoint=f'{server}/good.pth', prefix=prefix))
    net.init_weights()
    assert torch.equal(net.weight if prefix else net.fc.weight, torch.arange(6.0).reshape(2, 3))
    with pytest.raises(UntrustedCheckpointError):
        _Net(dict(type='Pretrained', checkpoint=f'{server}/evil.pth', prefix=prefix)).init_weights()
    assert not files.victim.exists()


def test_every_scheme_is_covered():
    """No scheme is left to a loader that calls torch.load itself: each is Tessera's, or mmengine's
    load_from_http family, whose only loading call (load_url) is Tessera's."""
    ours = {safe_checkpoint.load_from_local, safe_remote.load_from_openmmlab, safe_remote.load_from_pavi,
            safe_remote.load_from_ceph}
    via_http = {mm_ckpt.load_from_http, mm_ckpt.load_from_torchvision, mm_ckpt.load_from_mmcls}
    loaders = checkpoint_safety.installed_loaders()
    assert {'', 'http://', 'https://', 'torchvision://', 'modelzoo://', 'open-mmlab://', 'openmmlab://',
            'mmcls://', 'pavi://'} <= set(loaders)
    for prefix, loader in loaders.items():
        assert loader in ours | via_http, prefix
    assert mm_ckpt.load_url is safe_remote.safe_load_url
    checkpoint_safety.install()  # idempotent
    assert checkpoint_safety.installed_loaders() == loaders
