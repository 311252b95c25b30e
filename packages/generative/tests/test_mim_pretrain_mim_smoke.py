"""End to end, one per method: `mim train` of the MAE / SdAE pre-training config on a slice of
Fashion-MNIST, then `mim train` of the linear probe on its checkpoint, which ends by testing on
(a slice of) the test split."""
import os.path as osp
import re

import pytest

from tessera_core.testing import run_mim

FASHION = '/usr/share/datasets/fashion-mnist'
PROBE = 'vit-micro-p4_linear-probe_fashion-mnist.py'
pytestmark = pytest.mark.skipif(not osp.isdir(FASHION),
                                reason='needs Debian dataset-fashion-mnist (/usr/share/datasets/fashion-mnist)')


def pretrain_then_probe(tmp_path, config, expect_in_log):
    work = tmp_path / 'pre'
    proc = run_mim(['train', 'tessera-generative', config, '--work-dir', str(work), '--cfg-options',
                    'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=256', 'train_dataloader.batch_size=64',
                    'default_hooks.logger.interval=1'], cwd=str(tmp_path))
    for key in expect_in_log:
        assert key in proc.stdout
    ckpt = work / 'epoch_1.pth'
    assert ckpt.is_file()
    probe = tmp_path / 'probe'
    proc = run_mim(['train', 'tessera-generative', PROBE, '--work-dir', str(probe), '--cfg-options',
                    'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=128',
                    'model.backbone.init_cfg.checkpoint=' + str(ckpt), 'val_dataloader.dataset.indices=200'],
                   cwd=str(tmp_path))
    assert 'load backbone. in model from: ' + str(ckpt) in proc.stdout
    acc = re.findall(r'Epoch\(val\) \[1\]\[1/1\]\s+accuracy/top1: ([0-9.]+)', proc.stdout)
    assert acc and 0.0 <= float(acc[-1]) <= 100.0


@pytest.mark.slow
def test_mae_mim_train_and_linear_probe(tmp_path):
    pretrain_then_probe(tmp_path, 'mae_vit-micro-p4_fashion-mnist.py', ['loss:'])


@pytest.mark.slow
def test_sdae_mim_train_and_linear_probe(tmp_path):
    pretrain_then_probe(tmp_path, 'sdae_vit-micro-p4_fashion-mnist.py', ['loss:', 'teacher_momentum:'])
