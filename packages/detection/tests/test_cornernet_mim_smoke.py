"""CornerNet baseline end to end through mim: `mim train` 12 iterations of the digit-canvas config on a tiny
dataset (mmdet's CornerNet + CornerHead on the FPN's finest level), then COCO AP and AR@100."""
import re

from tessera_core.testing import run_mim

CONFIG = 'cornernet_resnet18-w16_fpn_digit-canvas.py'
ENV = {'OMP_NUM_THREADS': '1', 'MKL_NUM_THREADS': '1'}  # see configs/digit_canvas/README.md


def small_opts(data_root, iters=12):
    opts = [f'train_cfg.max_iters={iters}', f'train_cfg.val_interval={iters}',
            f'default_hooks.checkpoint.interval={iters}', 'default_hooks.logger.interval=4',
            'train_dataloader.batch_size=4', 'val_dataloader.batch_size=4', 'test_dataloader.batch_size=4',
            'param_scheduler.0.end=4', 'param_scheduler.1.begin=4', f'param_scheduler.1.end={iters}',
            f'param_scheduler.1.T_max={iters - 4}']
    for loader in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        opts += [f'{loader}.dataset.data_root={data_root}', f'{loader}.dataset.generator.num_train=24',
                 f'{loader}.dataset.generator.num_val=8']
    return opts


def test_mim_train_cornernet_logs_corner_losses_and_evaluates(tmp_path):
    out = run_mim(['train', 'tessera-detection', CONFIG, '--work-dir', str(tmp_path / 'work'),
                   '--cfg-options', *small_opts(tmp_path / 'canvases')], env=ENV).stdout
    assert re.findall(r'Iter\(train\) \[\s*(\d+)/12\]', out) == ['4', '8', '12'], out[-3000:]
    assert len(re.findall(r'Iter\(train\).*det_loss: [\d.]+\s+off_loss: [\d.]+\s+pull_loss: [\d.]+\s+'
                          r'push_loss: [\d.]+', out)) == 3, out[-3000:]
    assert re.search(r'coco/bbox_mAP: [\d.]+\s+coco/bbox_mAP_50: [\d.]+', out)
    assert re.search(r'coco/bbox_AR@100: [\d.]+', out)
    assert (tmp_path / 'work' / 'iter_12.pth').is_file()
