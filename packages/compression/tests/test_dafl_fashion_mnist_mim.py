"""DAFL's Fashion-MNIST comparison end to end through mim, on a few images: the LeNet-5 teacher config, its
checkpoint as the teacher of the real-data KD student, of the data-free DAFL student and of the noise
baseline, then the generator probe tool on the DAFL checkpoint (as tests/test_dafl_mim.py on digits)."""
import re

import pytest

from tessera_core.config import package_config_path
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

RUN = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.batch_size=16',
       'val_dataloader.dataset.indices=100', 'default_hooks.logger.interval=1']
REAL = RUN + ['train_dataloader.dataset.indices=48']  # 48 real training images
DATA_FREE = RUN + ['train_dataloader.dataset.length=48']  # 48 noise seeds


def train(config, work, options, *extra):
    return run_mim(['train', 'tessera-compression', f'dafl/{config}', '--work-dir', str(work),
                    '--cfg-options', *options, *extra]).stdout


@pytest.mark.slow
def test_fashion_mnist_teacher_kd_dafl_noise_then_probe_through_mim(tmp_path):
    out = train('lenet5_fashion-mnist.py', tmp_path / 'teacher', REAL)
    assert re.search(r'accuracy/top1: [\d.]+', out) and re.search(r'loss: [\d.]+', out)
    teacher = str(tmp_path / 'teacher' / 'epoch_1.pth')
    state = safe_load(teacher, map_location='cpu')['state_dict']
    assert state['backbone.conv1.weight'].shape == (6, 1, 5, 5)  # LeNet-5 (full)

    out = train('kd_lenet5-to-lenet5-half_fashion-mnist.py', tmp_path / 'kd', REAL, f'model.teacher_ckpt={teacher}')
    assert re.search(r'distill\.loss_kd: [\d.]+', out) and re.search(r'accuracy/top1: [\d.]+', out)

    work = tmp_path / 'dafl'
    config = 'dafl_lenet5-to-lenet5-half_fashion-mnist.py'
    out = train(config, work, DATA_FREE, f'model.teacher_ckpt={teacher}')
    for key in ('generator.loss_oh', 'generator.loss_a', 'generator.loss_ie', 'distill.loss_kd'):
        assert re.search(rf'{re.escape(key)}: -?[\d.]+', out), key
    assert re.search(r'accuracy/top1: [\d.]+', out)
    ckpt = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')
    state = ckpt['state_dict']
    assert any(k.startswith('generator.') for k in state) and any(k.startswith('student.') for k in state)
    assert not any(k.startswith('teacher.') for k in state)
    assert set(ckpt['optimizer']) == {'student', 'generator'}
    assert int(state['step']) == 3  # 48 seeds / batch 16

    out = train('noise-kd_lenet5-to-lenet5-half_fashion-mnist.py', tmp_path / 'noise', DATA_FREE,
                f'model.teacher_ckpt={teacher}')
    assert re.search(r'distill\.loss_kd: [\d.]+', out) and 'generator.loss' not in out
    assert set(safe_load(str(tmp_path / 'noise' / 'epoch_1.pth'), map_location='cpu')['optimizer']) == {'student'}

    png = tmp_path / 'grid.png'
    out = run_mim(['run', 'tessera-compression', 'dafl_samples',
                   str(package_config_path('tessera_compression', 'dafl/' + config)), str(work / 'epoch_1.pth'),
                   '--num', '64', '--batch', '32', '--png', str(png), '--compare-init',
                   '--teacher-ckpt', teacher]).stdout
    counts = re.search(r'trained generator: teacher classes \[([\d, ]+)\]', out)
    assert counts and sum(int(c) for c in counts.group(1).split(',')) == 64
    assert 'initial generator' in out and png.stat().st_size > 0
