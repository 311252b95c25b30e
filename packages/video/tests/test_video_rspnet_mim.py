"""RSPNet end to end through mim: pretrain on a few unlabelled moving-digit videos, then linear-probe and fine-tune
the pretrained backbone (its weights loaded through ``init_cfg=Pretrained``, prefix ``backbone.``)."""
import json

import pytest
import torch

from tessera_core.engine import safe_load
from tessera_core.testing import run_mim

PRETRAIN = 'rspnet/rspnet_c3d-resnet18-w16_moving-digits-pretrain.py'


@pytest.mark.slow
def test_mim_pretrain_then_probe_and_finetune(tmp_path):
    env = dict(OMP_NUM_THREADS='1')
    pre = run_mim(['train', 'tessera-video', PRETRAIN, '--work-dir', str(tmp_path / 'pre'), '--cfg-options',
                   'train_cfg.max_epochs=1', 'train_dataloader.dataset.indices=64', 'model.queue_len=64',
                   'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1'], env=env)
    for word in ('loss_avid', 'loss_rsp', 'acc_rsp', 'acc_avid'):
        assert word in pre.stdout
    ckpt = tmp_path / 'pre' / 'epoch_1.pth'
    state = safe_load(str(ckpt), map_location='cpu')['state_dict']
    assert 'queue' in state and any(k.startswith('momentum_encoder.backbone.') for k in state)
    small = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=32',
             'val_dataloader.dataset.indices=20', 'test_dataloader.dataset.indices=20',
             'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1',
             f'model.backbone.init_cfg.checkpoint={ckpt}']
    for name in ('linear-probe', 'finetune'):
        config = f'rspnet/rspnet_c3d-resnet18-w16_moving-digits-{name}.py'
        out = run_mim(['train', 'tessera-video', config, '--work-dir', str(tmp_path / name), '--cfg-options',
                       *small], env=env)
        assert 'accuracy/top1' in out.stdout
        log = next((tmp_path / name).glob('*/*.log')).read_text()
        assert f'PretrainedInit: load from {ckpt}' in log
        probe_state = safe_load(str(tmp_path / name / 'epoch_1.pth'), map_location='cpu')
        w = probe_state['state_dict']['backbone.stem.0.weight']
        if name == 'linear-probe':   # frozen: the backbone is exactly the pretrained one
            torch.testing.assert_close(w, state['backbone.stem.0.weight'])
    metrics = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-video', 'rspnet/rspnet_c3d-resnet18-w16_moving-digits-linear-probe.py', '--checkpoint',
             str(tmp_path / 'linear-probe' / 'epoch_1.pth'), '--work-dir', str(tmp_path / 'test'), '--out',
             str(metrics), '--cfg-options', *small], env=env)
    assert 0 <= json.loads(metrics.read_text())['accuracy/top1'] <= 100
