"""The measurement scripts under shared/benchmarks: scalar reading picks the latest run that logged the
key and names the logged keys otherwise; the robustness script's norm summary equals the per-layer
closed forms and its table carries every requested attack; plotting writes a PNG; the seed table
reads the latest test run of each work dir."""
import importlib.util
import json
import os.path as osp

import pytest
import torch
from torch import nn

from tessera_core.analysis import module_operator_norm

BENCHMARKS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'benchmarks')


def _script(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(BENCHMARKS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _write_run(work_dir, stamp, records):
    path = work_dir / stamp / 'vis_data'
    path.mkdir(parents=True)
    (path / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))


def test_read_scalars_takes_the_latest_run_that_logged_the_key(tmp_path):
    plot_scalars = _script('plot_scalars')
    _write_run(tmp_path, '20260101_000000', [dict(step=1, op_norm_sum=5.0), dict(step=2, op_norm_sum=4.0)])
    _write_run(tmp_path, '20260102_000000', [dict(step=3, op_norm_sum=3.0)])
    _write_run(tmp_path, '20260103_000000', [dict(step=1, **{'accuracy/top1': 90.0})])  # a later `mim test`
    assert plot_scalars.read_scalars(str(tmp_path), 'op_norm_sum') == ([3], [3.0])
    with pytest.raises(KeyError, match=r"'lr' was never logged.*accuracy/top1.*op_norm_sum"):
        plot_scalars.read_scalars(str(tmp_path), 'lr')
    with pytest.raises(FileNotFoundError, match='no \\*/vis_data/scalars.json'):
        plot_scalars.read_scalars(str(tmp_path / 'missing'), 'lr')
    plot_scalars.main(['--run', 'a', str(tmp_path), '--key', 'op_norm_sum', '--out', str(tmp_path / 'p.png')])
    assert (tmp_path / 'p.png').stat().st_size > 1000


def test_robustness_norm_summary_and_table():
    robustness = _script('norm_decay_robustness')
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.ReLU(), nn.Conv2d(4, 4, 3, stride=2), nn.Flatten(),
                          nn.Linear(4, 2))
    norms = robustness.operator_norms(model)
    layers = [model[0], model[2], model[4]]
    for norm in ('l1', 'linf'):
        values = [module_operator_norm(m, norm).item() for m in layers]
        assert norms[f'{norm}_sum'] == pytest.approx(sum(values))
        assert norms[f'{norm}_max'] == pytest.approx(max(values))
    assert norms['layers'] == 3
    row = dict(name='plain', **norms, train_top1=95.0, test_top1=90.0, gap=5.0, attack_clean=89.5,
               **{'fgsm@2': 60.0, 'pgd10@2': 50.0})
    table = robustness.markdown_table([row], eps=[2.0], steps=10).splitlines()
    assert table[0].split('|')[-3:-1] == [' fgsm@2 ', ' pgd10@2 ']
    assert table[2].startswith('| plain |') and '+5.00' in table[2] and table[2].endswith('| 60.00 | 50.00 |')


def test_seed_table_reads_the_latest_test_run_and_summarises(tmp_path, capsys):
    seed_table = _script('seed_table')
    for seed, value in enumerate([50.0, 90.0, 70.0]):
        work_dir = tmp_path / f's{seed}'
        train = work_dir / '20260101_000000'
        train.mkdir(parents=True)
        (train / '20260101_000000.json').write_text('{"loss": 1.0, "step": 1}\n{"loss": 0.5, "step": 2}\n')
        old_test = work_dir / '20260102_000000'
        old_test.mkdir()
        (old_test / '20260102_000000.json').write_text('{"acc": 1.0}\n')
        test = work_dir / '20260103_000000'
        test.mkdir()
        (test / '20260103_000000.json').write_text(json.dumps({'acc': value}) + '\n')
    assert seed_table.read_test_metrics(str(tmp_path / 's1')) == {'acc': 90.0}
    summary = seed_table.summarise([50.0, 90.0, 70.0])
    assert (summary['mean'], summary['median'], summary['std']) == (70.0, 70.0, 20.0)
    seed_table.main(['--metric', 'acc', '--group', 'a', *(str(tmp_path / f's{i}') for i in range(3))])
    assert '| a | 50.00 | 90.00 | 70.00 | 70.00 | 20.00 | 70.00 |' in capsys.readouterr().out
    with pytest.raises(KeyError, match=r"'top1' not in the test metrics"):
        seed_table.main(['--metric', 'top1', '--group', 'a', str(tmp_path / 's0')])
    with pytest.raises(FileNotFoundError, match='no mim test metrics'):
        seed_table.read_test_metrics(str(tmp_path))


def test_seed_table_reads_the_last_validation_of_the_latest_training(tmp_path, capsys):
    seed_table = _script('seed_table')
    for seed, value in enumerate([60.0, 80.0]):
        for stamp, final in (('20260101_000000', 1.0), ('20260102_000000', value)):  # an older run, then the latest
            vis = tmp_path / f's{seed}' / stamp / 'vis_data'
            vis.mkdir(parents=True)
            records = [dict(lr=0.1, loss=2.0, step=1), dict(acc=10.0, step=1),
                       dict(lr=0.1, loss=1.0, step=2), dict(acc=final, step=2)]
            (vis / 'scalars.json').write_text(''.join(json.dumps(r) + '\n' for r in records))
    assert seed_table.read_last_val_metrics(str(tmp_path / 's1')) == {'acc': 80.0, 'step': 2}
    seed_table.main(['--source', 'val', '--metric', 'acc', '--group', 'v', str(tmp_path / 's0'), str(tmp_path / 's1')])
    assert '| v | 60.00 | 80.00 | 70.00 |' in capsys.readouterr().out
    with pytest.raises(FileNotFoundError, match='no validation metrics'):
        seed_table.read_last_val_metrics(str(tmp_path))
    with pytest.raises(KeyError, match=r"'top1' not in the val metrics"):
        seed_table.main(['--source', 'val', '--metric', 'top1', '--group', 'v', str(tmp_path / 's0')])
