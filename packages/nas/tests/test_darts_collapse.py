"""benchmarks/darts_collapse.py reads a search work dir correctly: skip / parameter-free counts of the derived
cells, the skip weight at the index of the search's own candidate list, the per-epoch arch-gradient norm and
the validation accuracy matched to the right epoch."""
import importlib.util
import json
import os.path as osp

import pytest
import torch

SCRIPT = osp.join(osp.dirname(__file__), '..', 'benchmarks', 'darts_collapse.py')


@pytest.fixture(scope='module')
def collapse():
    spec = importlib.util.spec_from_file_location('darts_collapse', SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _work_dir(tmp_path, primitives):
    (tmp_path / 'search.py').write_text(f'model = dict(backbone=dict(type="DARTSSearchBackbone", '
                                        f'primitives={primitives!r}))\n')
    normal = [['skip_connect', 0], ['sep_conv_3x3', 1], ['skip_connect', 1], ['max_pool_3x3', 2],
              ['sep_conv_3x3', 0], ['avg_pool_3x3', 3], ['sep_conv_3x3', 2], ['sep_conv_3x3', 4]]
    reduce = [['sep_conv_3x3', 0]] * 8
    for epoch in (1, 2):
        with open(tmp_path / f'genotype_epoch_{epoch}.json', 'w') as f:
            json.dump(dict(normal=normal if epoch == 2 else reduce, normal_concat=[2, 3, 4, 5],
                           reduce=reduce, reduce_concat=[2, 3, 4, 5]), f)
    n = len(primitives)
    alphas = torch.zeros(14, n)
    alphas[:, primitives.index('skip_connect')] = torch.log(torch.tensor(3.0))  # skip weight 3 / (n + 2)
    torch.save(dict(state_dict={'backbone.alphas_normal': alphas, 'backbone.alphas_reduce': -2 * alphas}),
               tmp_path / 'epoch_2.pth')
    vis = tmp_path / '20260101_000000' / 'vis_data'
    vis.mkdir(parents=True)
    records = [dict(arch_grad_norm=1.0, epoch=1, iter=10, step=10), dict(arch_grad_norm=3.0, epoch=1, iter=16, step=16),
               {'accuracy/top1': 40.0, 'step': 1}, dict(arch_grad_norm=5.0, epoch=2, iter=26, step=26),
               {'accuracy/top1': 60.0, 'step': 2}]
    (vis / 'scalars.json').write_text('\n'.join(json.dumps(r) for r in records) + '\n')
    return str(tmp_path)


@pytest.mark.parametrize('primitives', [['none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3'],
                                        ['sep_conv_3x3', 'skip_connect']])
def test_epoch_rows(collapse, tmp_path, primitives):
    rows = collapse.epoch_rows(_work_dir(tmp_path, primitives))
    assert [r['epoch'] for r in rows] == [1, 2]
    first, second = rows
    assert (first['normal_skip'], first['normal_free']) == (0, 0)
    assert (second['normal_skip'], second['normal_free']) == (2, 4)
    assert (second['reduce_skip'], second['reduce_free']) == (0, 0)
    assert 'skip_weight' not in first  # no epoch_1.pth
    n = len(primitives)
    assert second['skip_weight'] == pytest.approx(3 / (n + 2))
    assert second['max_weight'] == pytest.approx(3 / (n + 2))
    assert second['max_abs_alpha'] == pytest.approx(2 * float(torch.log(torch.tensor(3.0))))
    assert (first['arch_grad_norm'], second['arch_grad_norm']) == (2.0, 5.0)
    assert (first['val_top1'], second['val_top1']) == (40.0, 60.0)


def test_missing_files_are_named(collapse, tmp_path):
    with pytest.raises(FileNotFoundError, match='scalars.json'):
        collapse.epoch_rows(str(tmp_path))
