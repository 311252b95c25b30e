"""Retraining a genotype: JSON paths and random genotypes resolve through get_genotype, and the
retrain config trains a searched genotype file through mim."""
import json

import pytest
from tessera_core.testing import run_mim

from tessera_nas.derivation import save_genotype_json
from tessera_nas.genotypes import PRIMITIVES, DARTS_V2, PDARTS, get_genotype, random_genotype
from tessera_nas.models import DARTSNetwork


def test_random_genotypes_are_seeded_and_the_size_of_searched_ones():
    genotypes = [random_genotype(seed) for seed in range(20)]
    assert random_genotype(3) == random_genotype(3) == get_genotype('random:3')
    assert len(set(genotypes)) == 20
    for g in genotypes:
        assert len(g.normal) == len(g.reduce) == 8 and g.normal_concat == g.reduce_concat == (2, 3, 4, 5)
        for cell in (g.normal, g.reduce):
            assert all(op in PRIMITIVES and op != 'none' for op, _ in cell)
            for node in range(4):  # two distinct inputs among the earlier states
                (_, a), (_, b) = cell[2 * node], cell[2 * node + 1]
                assert a != b and max(a, b) <= node + 1
    ops = {op for g in genotypes for op, _ in g.normal + g.reduce}
    assert ops == set(PRIMITIVES) - {'none'}  # every candidate can be drawn
    # same size: the CIFAR-10 network of a random cell is in the range of the published ones
    params = DARTSNetwork(random_genotype(0), 36, 20, auxiliary=True).num_parameters()
    assert 1.5e6 < params < 5e6
    with pytest.raises(ValueError, match="'random:<int seed>'"):
        get_genotype('random:x')


def test_genotype_json_paths_resolve(tmp_path):
    path = save_genotype_json(PDARTS, str(tmp_path / 'genotype.json'))
    assert get_genotype(path) == PDARTS
    with pytest.raises(FileNotFoundError, match='genotype JSON file not found'):
        get_genotype(str(tmp_path / 'missing.json'))
    bad = tmp_path / 'bad.json'
    bad.write_text(json.dumps(dict(DARTS_V2.to_dict(), normal=[['conv_7x7', 0]] * 8)))
    with pytest.raises(ValueError, match="unknown operation 'conv_7x7'"):
        get_genotype(str(bad))


@pytest.mark.slow
def test_retrain_config_trains_a_genotype_file_through_mim(tmp_path):
    path = save_genotype_json(random_genotype(7), str(tmp_path / 'genotype.json'))
    small = [f'model.backbone.genotype={path}', 'model.backbone.init_channels=4', 'model.backbone.layers=5',
             'train_dataloader.dataset.indices=64', 'train_dataloader.batch_size=32', 'train_cfg.max_epochs=1',
             'train_cfg.val_interval=1', 'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100']
    work = tmp_path / 'work'
    out = run_mim(['train', 'tessera-nas', 'retrain_c16-l8_fashion-mnist.py', '--work-dir', str(work),
                   '--cfg-options', *small]).stdout
    assert 'accuracy/top1' in out
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-nas', 'retrain_c16-l8_fashion-mnist.py', '--checkpoint', str(work / 'epoch_1.pth'),
             '--work-dir', str(tmp_path / 'test'), '--out', str(metrics_file), '--cfg-options', *small])
    assert set(json.loads(metrics_file.read_text())) == {'accuracy/top1', 'accuracy/top5'}
