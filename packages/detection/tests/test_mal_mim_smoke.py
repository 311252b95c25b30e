"""MAL end to end through mim: `mim train` 12 iterations of the digit-canvas config on a tiny dataset."""
import re

from tessera_core.testing import run_mim

CONFIG = 'mal_retinanet_resnet18-w16_fpn_digit-canvas.py'
ENV = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}  # see configs/digit_canvas/README.md


def test_mim_train_mal_logs_the_schedules_and_evaluates(tmp_path):
    data_root = tmp_path / 'canvases'
    opts = ['train_cfg.max_iters=12', 'train_cfg.val_interval=12', 'default_hooks.checkpoint.interval=12',
            'default_hooks.logger.interval=4', 'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4',
            'param_scheduler.0.end=4', 'param_scheduler.1.begin=4', 'param_scheduler.1.end=12',
            'param_scheduler.1.T_max=8']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.dataset.generator.num_train=24',
                 f'{loader}.dataset.generator.num_val=8']
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *opts], env=ENV).stdout
    lines = re.findall(r'Iter\(train\) \[\s*(\d+)/12\].*', out)
    assert lines == ['4', '8', '12'], out[-3000:]
    logs = re.findall(r'Iter\(train\).*positive_bag_loss: [\d.]+\s+negative_bag_loss: [\d.]+.*'
                      r'mal_bag_k: ([\d.]+)\s+mal_depress_ratio: ([\d.]+)', out)
    assert len(logs) == 3, out[-3000:]
    ks = [float(k) for k, _ in logs]
    assert ks[0] > ks[-1] >= 1  # the bag shrinks (window-averaged k_t)
    assert max(float(r) for _, r in logs) > 0  # depression acted
    assert re.search(r'coco/bbox_mAP: [\d.]+\s+coco/bbox_mAP_50: [\d.]+', out)
    assert (tmp_path / 'work' / 'iter_12.pth').is_file()
