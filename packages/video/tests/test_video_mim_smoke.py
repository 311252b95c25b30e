"""End to end through mim: train each recognizer's embedded-data config for one epoch of a few clips, then test
its checkpoint (with the config's own test pipeline, e.g. 2-view clip averaging for the 3D configs)."""
import json

import pytest

from tessera_core.testing import run_mim

# config (under tessera_video/configs) | train items | val/test items | a word the training log must print
CASES = [
    ('tsm/tsm_resnet18-w16_moving-digits.py', 64, 50, 'grad_norm'),        # 4 iterations of 16
    ('resnet3d/c3d_resnet18-w16_moving-digits.py', 32, 20, 'grad_norm'),   # 2 iterations, 2 views per test video
    ('cost/costb_resnet18-w16_moving-digits-8dir.py', 16, 4, 'grad_norm'),  # 1 iteration
    ('hcn/hcn_synthetic-skeletons-xsub.py', 16, 8, 'loss'),                # 1 iteration of skeleton sequences
]


@pytest.mark.slow
@pytest.mark.parametrize('config,num_train,num_test,train_word', CASES, ids=[c[0].split('/')[0] for c in CASES])
def test_mim_train_then_test(tmp_path, config, num_train, num_test, train_word):
    small = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', f'train_dataloader.dataset.indices={num_train}',
             f'val_dataloader.dataset.indices={num_test}', f'test_dataloader.dataset.indices={num_test}',
             'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=1']
    train = run_mim(['train', 'tessera-video', config, '--work-dir', str(tmp_path), '--cfg-options', *small],
                    env=dict(OMP_NUM_THREADS='1'))
    assert 'accuracy/top1' in train.stdout and train_word in train.stdout
    ckpt = tmp_path / 'epoch_1.pth'
    assert ckpt.is_file()
    out = tmp_path / 'metrics.json'
    test = run_mim(['test', 'tessera-video', config, '--checkpoint', str(ckpt), '--work-dir', str(tmp_path / 'test'),
                    '--out', str(out), '--cfg-options', *small], env=dict(OMP_NUM_THREADS='1'))
    assert 'accuracy/top1' in test.stdout
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'accuracy/top1'} and 0 <= metrics['accuracy/top1'] <= 100
