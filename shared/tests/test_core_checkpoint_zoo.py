"""OpenMMLab model-zoo checkpoints load: numpy-1.x pickle names and the mmcv-1.x / mmdet-2.x layout.

Every checkpoint OpenMMLab published was written under numpy 1.x, whose pickles name
``numpy.core.multiarray._reconstruct`` / ``.scalar``; numpy 2 writes ``numpy._core...``. The numpy-1.x files
here are real checkpoints written by mmengine's Runner (and one in the mmcv-1.x layout) whose ``data.pkl`` is
rewritten to the numpy-1.x module names.
"""
import pickle
import pickletools
import time
import zipfile
from collections import OrderedDict

import numpy as np
import pytest
import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.model import BaseModel
from mmengine.runner import Runner
from mmengine.runner.checkpoint import CheckpointLoader
from torch.utils.data import Dataset

from tessera_core.engine import safe_checkpoint


class _Data(Dataset):
    def __len__(self):
        return 8

    def __getitem__(self, i):
        return dict(inputs=torch.full((3,), float(i)), data_samples=torch.tensor([i % 2], dtype=torch.float32))


class _Model(BaseModel):
    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(3, 4)
        self.head = nn.Linear(4, 1)

    def forward(self, inputs, data_samples=None, mode='tensor'):
        out = self.head(self.backbone(inputs).relu())
        return dict(loss=F.mse_loss(out, data_samples)) if mode == 'loss' else out


def _runner(work_dir, **kwargs):
    torch.manual_seed(0)
    return Runner(model=_Model(), work_dir=str(work_dir), experiment_name=f'zoo-{time.time()}',
                  train_dataloader=dict(dataset=_Data(), batch_size=4, sampler=dict(type='DefaultSampler', shuffle=True),
                                        collate_fn=dict(type='default_collate')),
                  train_cfg=dict(by_epoch=True, max_epochs=kwargs.pop('max_epochs', 1)),
                  optim_wrapper=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9)),
                  randomness=dict(seed=0), default_scope='mmengine', log_level='WARNING', **kwargs)


def to_numpy1_names(src, dst):
    """Copy a torch.save archive, rewriting numpy 2's module names in data.pkl to numpy 1.x's."""
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, 'w', zipfile.ZIP_STORED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename.endswith('/data.pkl'):
                assert b'numpy._core.multiarray\n' in data
                data = data.replace(b'numpy._core.multiarray\n', b'numpy.core.multiarray\n')
            zout.writestr(info, data)
    return str(dst)


def _globals_in(path):
    with zipfile.ZipFile(path) as zf:
        data = zf.read(next(n for n in zf.namelist() if n.endswith('/data.pkl')))
    return {arg.replace(' ', '.') for op, arg, _ in pickletools.genops(data) if op.name == 'GLOBAL'}


@pytest.fixture
def mmengine_checkpoint(tmp_path):
    """A checkpoint written by mmengine's Runner (function scope: inside the test's default-scope fixture)."""
    _runner(tmp_path / 'train', default_hooks=dict(checkpoint=dict(type='CheckpointHook', interval=1))).train()
    return str(tmp_path / 'train' / 'epoch_1.pth')


def test_numpy1_checkpoint_loads_and_resumes(mmengine_checkpoint, tmp_path):
    original = mmengine_checkpoint
    old = to_numpy1_names(original, tmp_path / 'numpy1.pth')
    names = _globals_in(old)
    assert {'numpy.core.multiarray._reconstruct', 'numpy.core.multiarray.scalar'} <= names
    assert not any(n.startswith('numpy._core') for n in names)

    # without the aliases this file is refused (what users saw before)
    numpy2_only = [e for e in safe_checkpoint.allowed_globals()
                   if not (isinstance(e, tuple) and e[1].startswith('numpy.core.'))]
    with torch.serialization.safe_globals(numpy2_only), pytest.raises(pickle.UnpicklingError, match='numpy.core'):
        torch.load(old, weights_only=True)

    a = CheckpointLoader.load_checkpoint(original, map_location='cpu')
    b = CheckpointLoader.load_checkpoint(old, map_location='cpu')
    assert a['meta']['seed'] == b['meta']['seed'] and type(b['meta']['seed']) is type(a['meta']['seed'])
    for k, v in a['state_dict'].items():
        assert torch.equal(v, b['state_dict'][k])
    loss_a, loss_b = (c['message_hub']['log_scalars']['train/loss'] for c in (a, b))
    assert type(loss_b) is HistoryBuffer and all(np.array_equal(x, y) for x, y in zip(loss_a.data, loss_b.data))

    runner = _runner(tmp_path / 'resume', max_epochs=2, resume=True, load_from=old)
    runner.train()
    assert runner.epoch == 2


def _mmcv1_checkpoint(state_dict, path):
    """The layout of an mmcv-1.x / mmdet-2.x zoo checkpoint (mmcv.runner.save_checkpoint)."""
    param = next(iter(state_dict.values()))
    ckpt = {'meta': {'mmcv_version': '1.7.1', 'time': 'Tue Mar 14 10:00:00 2023', 'env_info': 'sys.platform: linux',
                     'config': "model = dict(type='RetinaNet')\n", 'seed': np.int64(42), 'exp_name': 'retinanet.py',
                     'epoch': 12, 'iter': 87936, 'hook_msgs': {'last_ckpt': '/work_dirs/epoch_12.pth'},
                     'CLASSES': ('person', 'bicycle'), 'PALETTE': [(220, 20, 60), (119, 11, 32)],
                     'mean': np.array([123.675, 116.28, 103.53], dtype=np.float32)},
            'state_dict': OrderedDict(state_dict),
            'optimizer': {'state': {0: {'momentum_buffer': torch.zeros_like(param)}},
                          'param_groups': [{'lr': 0.0001, 'momentum': 0.9, 'weight_decay': 0.0001, 'params': [0]}]}}
    torch.save(ckpt, path.with_suffix('.tmp'))
    return to_numpy1_names(path.with_suffix('.tmp'), path)


def test_legacy_mmcv1_checkpoint_with_load_from(tmp_path):
    torch.manual_seed(1)
    weights = {k: torch.randn_like(v) for k, v in _Model().state_dict().items()}
    path = _mmcv1_checkpoint(weights, tmp_path / 'retinanet_r50_fpn_1x_coco_20200130-c2398f9e.pth')

    runner = _runner(tmp_path / 'finetune', load_from=path)
    runner.load_or_resume()
    for k, v in runner.model.state_dict().items():
        assert torch.equal(v, weights[k]), k  # weights loaded; meta and optimizer are ignored by load_from
    meta = CheckpointLoader.load_checkpoint(path)['meta']
    assert meta['CLASSES'] == ('person', 'bicycle') and meta['mean'].dtype == np.float32

    # not an mmengine checkpoint (no message_hub; a numpy seed mmengine's resume can not re-seed with):
    # mmengine's resume fails on it, the README says to use load_from
    with pytest.raises((KeyError, TypeError)):
        _runner(tmp_path / 'resume', resume=True, load_from=path).load_or_resume()
