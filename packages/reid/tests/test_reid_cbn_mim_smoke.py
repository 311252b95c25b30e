"""End to end through mim on a tiny CamStyle-ReID subset: CBN trains on the fashion domain (its statistics
re-estimated on the validation cameras), then the direct-transfer config re-estimates them on the digits test
cameras before testing."""
import json
import re

import pytest

from tessera_core.testing import run_mim

CBN = 'cbn/cbn_resnet18-w16_camstyle-fashion.py'
CBN_TO_DIGITS = 'cbn/cbn_resnet18-w16_camstyle-fashion-to-digits.py'


def small(cache, epochs):
    # 16 train identities x 6 cameras x 2 shots = 192 images: 6 PK iterations of 8 x 4 per epoch
    opts = [f'{loader}.dataset.{key}={value}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key, value in (('num_train_ids', 16), ('num_test_ids', 8), ('shots_per_camera', 2),
                               ('cache_root', cache))]
    return opts + ['model.head.num_classes=16', f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
                   f'default_hooks.checkpoint.interval={epochs}', 'default_hooks.logger.interval=2',
                   'custom_hooks.1.num_queries=2']


@pytest.mark.slow
def test_mim_cbn_train_then_direct_transfer_test(tmp_path):
    env = dict(OMP_NUM_THREADS='1')
    opts = small(str(tmp_path / 'cache'), 1)
    train = run_mim(['train', 'tessera-reid', CBN, '--work-dir', str(tmp_path / 'train'), '--cfg-options', *opts],
                    env=env).stdout
    assert 'loss_triplet' in train and 'reid/mAP' in train
    # 8 test identities x 6 cameras x 2 shots: 16 images per camera, every camera re-estimated
    pattern = (r'CameraBNStatsHook \((val|test)\): re-estimated per-camera statistics of 21 CBN layers on cameras '
               r'\[0, 1, 2, 3, 4, 5\] \(96 images.*?backbone\.stem\.1 ([\d.]+)')
    val = re.findall(pattern, train)
    assert val and val[0][0] == 'val' and float(val[0][1]) > 0
    out = tmp_path / 'test.json'
    test = run_mim(['test', 'tessera-reid', CBN_TO_DIGITS, '--checkpoint', str(tmp_path / 'train' / 'epoch_1.pth'),
                    '--work-dir', str(tmp_path / 'test'), '--out', str(out), '--cfg-options', *opts], env=env).stdout
    assert [m[0] for m in re.findall(pattern, test)] == ['test']
    metrics = json.loads(out.read_text())
    assert 0 <= metrics['reid/mAP'] <= 100 and metrics['reid/rank1'] <= metrics['reid/rank5']
