"""End to end through mim on CamStyle-ReID: a few training iterations, validation with mINP and the
ranked-gallery picture, then the direct-transfer config tests the checkpoint on the other domain."""
import json

import pytest

from tessera_core.testing import run_mim

CONFIG = 'camstyle/bnneck_resnet18-w16_camstyle-fashion.py'
TRANSFER = 'camstyle/bnneck_resnet18-w16_camstyle-fashion-to-digits.py'


def small(cache):
    # 16 train identities x 6 cameras x 2 shots = 192 images: 6 PK iterations of 8 x 4; 8 test identities
    opts = [f'{loader}.dataset.{key}={value}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key, value in (('num_train_ids', 16), ('num_test_ids', 8), ('shots_per_camera', 2),
                               ('cache_root', cache))]
    return opts + ['model.head.num_classes=16', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
                   'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=2']


@pytest.mark.slow
def test_mim_train_then_direct_transfer_test(tmp_path):
    env = dict(OMP_NUM_THREADS='1')
    opts = small(str(tmp_path / 'cache'))
    train = run_mim(['train', 'tessera-reid', CONFIG, '--work-dir', str(tmp_path / 'train'), '--cfg-options', *opts],
                    env=env)
    assert 'loss_triplet' in train.stdout and 'reid/mINP' in train.stdout and 'RankedGalleryHook: wrote' in train.stdout
    assert list((tmp_path / 'train').glob('*/ranked_gallery/val_*.png'))
    out = tmp_path / 'transfer.json'
    test = run_mim(['test', 'tessera-reid', TRANSFER, '--checkpoint', str(tmp_path / 'train' / 'epoch_1.pth'),
                    '--work-dir', str(tmp_path / 'test'), '--out', str(out), '--cfg-options', *opts], env=env)
    assert 'camstyle-digits' in test.stdout   # the digits domain was built and evaluated
    metrics = json.loads(out.read_text())
    assert set(metrics) == {'reid/rank1', 'reid/rank5', 'reid/rank10', 'reid/mAP', 'reid/mINP'}
    assert all(0 <= v <= 100 for v in metrics.values())
    assert metrics['reid/rank1'] <= metrics['reid/rank5'] <= metrics['reid/rank10']
