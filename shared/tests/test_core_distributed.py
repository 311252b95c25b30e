"""Two processes (torch.distributed, gloo on CPU) give the metric of one process with
the same global batch (64 = 2 x 32), within tolerance."""
import re

from tessera_core.testing import run_mim

CONFIG = 'demo/resnet18-w16_embedded-digits.py'
COMMON = ['train_cfg.max_epochs=2', 'train_cfg.val_interval=2', 'default_hooks.checkpoint.interval=2']


def _top1(out: str) -> float:
    return float(re.findall(r'accuracy/top1: ([\d.]+)', out)[-1])


def test_two_processes_match_one(tmp_path):
    env = {'OMP_NUM_THREADS': '1'}
    single = run_mim(['train', 'tessera-core', CONFIG, '--work-dir', str(tmp_path / 'one'),
                      '--cfg-options', *COMMON, 'train_dataloader.batch_size=64'], env=env).stdout
    double = run_mim(['train', 'tessera-core', CONFIG, '-l', 'pytorch', '-G', '2', '--work-dir',
                      str(tmp_path / 'two'), '--cfg-options', *COMMON, 'train_dataloader.batch_size=32'],
                     env=env).stdout
    assert 'Distributed training: True' in double and 'Distributed training: False' in single
    assert 'Epoch(train) [1][60/63]' in double  # 4,000 / 64 = 63 iterations per epoch in both runs
    assert 'Epoch(train) [1][60/63]' in single
    one, two = _top1(single), _top1(double)
    assert one > 80 and two > 80, (one, two)
    assert abs(one - two) < 3.0, (one, two)
