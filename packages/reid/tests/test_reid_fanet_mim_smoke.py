"""End to end through mim on a tiny CamStyle-ReID subset: FANet (mask-supervised) trains one epoch; the log carries
every loss term of both branches and the validation scores the learned mask against the true one."""
import re

import pytest

from tessera_core.testing import run_mim

FANET = 'fanet/fanet_resnet18-w16_camstyle-fashion.py'


@pytest.mark.slow
def test_mim_fanet_train_logs_branch_losses_and_mask_iou(tmp_path):
    cache = str(tmp_path / 'cache')
    # 16 train identities x 6 cameras x 2 shots = 192 images: 6 PK iterations of 8 x 4
    opts = [f'{loader}.dataset.{key}={value}' for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader')
            for key, value in (('num_train_ids', 16), ('num_test_ids', 8), ('shots_per_camera', 2),
                               ('cache_root', cache))]
    opts += ['model.head.num_classes=16', 'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
             'default_hooks.checkpoint.interval=1', 'default_hooks.logger.interval=2', 'custom_hooks.0.num_queries=2']
    out = run_mim(['train', 'tessera-reid', FANET, '--work-dir', str(tmp_path / 'train'), '--cfg-options', *opts],
                  env=dict(OMP_NUM_THREADS='1')).stdout
    for key in ('loss_cls', 'loss_triplet', 'loss_center', 'loss_camera', 'loss_tal', 'loss_mask', 'camera_accuracy'):
        assert key + ':' in out, key
    iou = re.findall(r'mask/IoU: ([\d.]+)', out)
    assert iou and 0 <= float(iou[-1]) <= 100 and 'reid/mAP' in out
    assert (tmp_path / 'train' / 'epoch_1.pth').is_file()
