"""End to end through mim on a tiny CamStyle-ReID subset: the strong baseline (center loss logged, test run on
its checkpoint) and ITM (the margin rises at the stage boundaries, the hard-identity search runs and selects
identities closer than random ones)."""
import json
import re

import pytest

from tessera_core.testing import run_mim

STRONG = 'strong_baseline/strong-baseline_resnet18-w16_camstyle-fashion.py'
ITM = 'itm/itm_resnet18-w16_camstyle-fashion.py'


def small(cache, epochs):
    # 16 train identities x 6 cameras x 2 shots = 192 images: 6 PK iterations of 8 x 4 per epoch
    opts = [f'{loader}.dataset.{key}={value}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key, value in (('num_train_ids', 16), ('num_test_ids', 8), ('shots_per_camera', 2),
                               ('cache_root', cache))]
    return opts + ['model.head.num_classes=16', f'train_cfg.max_epochs={epochs}', f'train_cfg.val_interval={epochs}',
                   f'default_hooks.checkpoint.interval={epochs}', 'default_hooks.logger.interval=2']


@pytest.mark.slow
def test_mim_strong_baseline_train_then_test(tmp_path):
    env = dict(OMP_NUM_THREADS='1')
    opts = small(str(tmp_path / 'cache'), 1) + ['custom_hooks=[]']
    train = run_mim(['train', 'tessera-reid', STRONG, '--work-dir', str(tmp_path / 'train'), '--cfg-options', *opts],
                    env=env)
    assert 'loss_center' in train.stdout and 'loss_triplet' in train.stdout
    out = tmp_path / 'test.json'
    run_mim(['test', 'tessera-reid', STRONG, '--checkpoint', str(tmp_path / 'train' / 'epoch_1.pth'),
             '--work-dir', str(tmp_path / 'test'), '--out', str(out), '--cfg-options', *opts], env=env)
    metrics = json.loads(out.read_text())
    assert 0 <= metrics['reid/mAP'] <= 100 and metrics['reid/rank1'] <= metrics['reid/rank5']


@pytest.mark.slow
def test_mim_itm_margin_schedule_and_hard_identity_search(tmp_path):
    env = dict(OMP_NUM_THREADS='1')
    opts = small(str(tmp_path / 'cache'), 3) + ['custom_hooks.0.stage_epochs=[0,1,2]',
                                                'custom_hooks.1.search_epochs=[1,2]', 'custom_hooks.2.num_queries=2']
    train = run_mim(['train', 'tessera-reid', ITM, '--work-dir', str(tmp_path / 'train'), '--cfg-options', *opts],
                    env=env).stdout
    assert 'triplet margin 0.3 -> 0.5' in train and 'triplet margin 0.5 -> 0.7' in train
    margins = [float(m) for m in re.findall(r'Epoch\(train\) \[(?:\d+)\]\[\d+/\d+\].*?triplet_margin: ([\d.]+)', train)]
    epochs = [int(e) for e in re.findall(r'Epoch\(train\) \[(\d+)\]\[\d+/\d+\].*?triplet_margin', train)]
    assert {e: m for e, m in zip(epochs, margins)} == {1: 0.3, 2: 0.5, 3: 0.7}
    searches = re.findall(r'HardIdentitySearchHook: epoch (\d+): searched 16 identity centroids \(192 images.*?'
                          r'within this epoch\'s batches ([\d.]+) vs ([\d.]+) between random', train)
    assert [int(s[0]) for s in searches] == [1, 2]
    assert all(float(hard) < float(rand) for _, hard, rand in searches)
    assert 'reid/mAP' in train
