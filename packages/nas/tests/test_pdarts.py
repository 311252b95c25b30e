"""P-DARTS: search-space approximation (ops kept per edge), the skip-connect cap of the final normal
cell, the operation-level dropout schedule, and the 3-stage search end to end through mim (stages,
pruned candidates, genotype files, resume across a stage boundary)."""
import json
import math

import pytest
import torch
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.testing import run_mim

from tessera_nas.engine.loops import derive_capped_genotype, op_dropout_rate, prune_edge_primitives
from tessera_nas.genotypes import PRIMITIVES


def test_search_space_approximation_keeps_the_largest_weights_in_primitive_order():
    prims = [PRIMITIVES, PRIMITIVES]
    weights = torch.tensor([[0.30, 0.05, 0.10, 0.20, 0.02, 0.15, 0.08, 0.10],
                            [0.10, 0.10, 0.10, 0.10, 0.10, 0.10, 0.30, 0.10]])
    kept = prune_edge_primitives(weights, prims, 5)
    # edge 0 drops its 3 smallest (sep_conv_3x3 0.02, max_pool 0.05, dil_conv_3x3 0.08)
    assert kept[0] == ('none', 'avg_pool_3x3', 'skip_connect', 'sep_conv_5x5', 'dil_conv_5x5')
    # edge 1: seven ties at 0.1, the first ones are dropped first (official repeated argmin)
    assert kept[1] == ('skip_connect', 'sep_conv_3x3', 'sep_conv_5x5', 'dil_conv_3x3', 'dil_conv_5x5')
    assert prune_edge_primitives([[0.2, 0.5, 0.3]], [CANDIDATES], 1) == [('skip_connect',)]
    with pytest.raises(ValueError, match='cannot keep 4 of its 3 candidates'):
        prune_edge_primitives([[0.2, 0.5, 0.3]], [('none', 'skip_connect', 'sep_conv_3x3')], 4)


CANDIDATES = ('none', 'skip_connect', 'sep_conv_3x3')
# (none, skip, sep) per edge; edges 0-1 feed node 0, 2-4 node 1, 5-8 node 2, 9-13 node 3
CAP_WEIGHTS = [
    (0.10, 0.60, 0.30), (0.10, 0.50, 0.40),                      # node 0: two skips
    (0.40, 0.55, 0.05), (0.50, 0.05, 0.45), (0.65, 0.05, 0.30),  # node 1: skip on edge 2
    (0.10, 0.80, 0.10), (0.60, 0.10, 0.30), (0.90, 0.05, 0.05), (0.90, 0.05, 0.05),  # node 2: skip
    (0.30, 0.10, 0.60), (0.40, 0.10, 0.50), (0.90, 0.05, 0.05), (0.90, 0.05, 0.05), (0.95, 0.02, 0.03)]


def test_skip_connect_cap_removes_the_weakest_skips_and_rederives_the_cell():
    prims = dict(normal=[CANDIDATES] * 14, reduce=[CANDIDATES] * 14)
    free = derive_capped_genotype(CAP_WEIGHTS, CAP_WEIGHTS, prims, max_skip_connect=None)
    assert [op for op, _ in free.normal].count('skip_connect') == 4  # edges 0, 1, 2, 5
    capped = derive_capped_genotype(CAP_WEIGHTS, CAP_WEIGHTS, prims, max_skip_connect=2)
    # removed: edge 1 (0.50), then edge 2 (0.55); edge 2 loses its rank in node 1 to edge 4
    assert capped.normal == (('skip_connect', 0), ('sep_conv_3x3', 1),
                             ('sep_conv_3x3', 1), ('sep_conv_3x3', 2),
                             ('skip_connect', 0), ('sep_conv_3x3', 1),
                             ('sep_conv_3x3', 0), ('sep_conv_3x3', 1))
    assert capped.reduce == free.reduce  # the cap is on the normal cell only (official)
    assert [op for op, _ in derive_capped_genotype(CAP_WEIGHTS, CAP_WEIGHTS, prims, max_skip_connect=0).normal] \
        .count('skip_connect') == 0
    only_skip = dict(prims, normal=[('none', 'skip_connect')] * 14)
    with pytest.raises(ValueError, match='no other candidate'):
        derive_capped_genotype([w[:2] for w in CAP_WEIGHTS], CAP_WEIGHTS, only_skip, max_skip_connect=2)


def test_operation_dropout_schedule_is_the_official_one():
    assert op_dropout_rate(0.4, 0, 25, 10) == pytest.approx(0.4 * 24 / 25)
    assert op_dropout_rate(0.4, 9, 25, 10) == pytest.approx(0.4 * 15 / 25)
    assert op_dropout_rate(0.4, 10, 25, 10) == pytest.approx(0.4)
    assert op_dropout_rate(0.7, 14, 25, 10) == pytest.approx(0.7 * math.exp(-0.8))


CONFIG = 'pdarts_search_c8-l3-5-7_fashion-mnist.py'
# 4 initial channels, stages of 3, 5, 7 cells of one epoch each (64 + 64 images in batches of 32),
# architecture steps from the first epoch of each stage
SMALL = ['model.backbone.init_channels=4', 'model.head.in_channels=64', 'model.warmup_epochs=0',
         'train_cfg.epochs_per_stage=1', 'train_dataloader.dataset.dataset.indices=128',
         'train_dataloader.batch_size=32', 'val_dataloader.dataset.indices=100']


@pytest.mark.slow
def test_pdarts_search_through_mim_and_resume_across_a_stage(tmp_path):
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL]).stdout
    for stage, (cells, ops, dropout) in enumerate([(3, 8, 0.1), (5, 5, 0.4), (7, 3, 0.7)], 1):
        assert f'P-DARTS stage {stage}/3 (epochs {stage}-{stage}): {cells} cells, 4 initial channels, {ops} ' \
               f'candidate ops per edge, op dropout {dropout}' in out
    stage2 = json.loads((work / 'pdarts_stage_2_edge_primitives.json').read_text())
    stage3 = json.loads((work / 'pdarts_stage_3_edge_primitives.json').read_text())
    for cell in ('normal', 'reduce'):
        assert [len(p) for p in stage2[cell]] == [5] * 14 and [len(p) for p in stage3[cell]] == [3] * 14
        assert all(set(p3) <= set(p2) for p2, p3 in zip(stage2[cell], stage3[cell]))  # pruned, never added
    state = safe_load(str(work / 'epoch_3.pth'), map_location='cpu')['state_dict']
    assert state['backbone.alphas_normal'].shape == (14, 3) and 'backbone.cells.6.preprocess1.op.1.weight' in state
    genotype = json.loads((work / 'genotype.json').read_text())
    assert [op for op, _ in genotype['normal']].count('skip_connect') <= 2
    for (op, state_in), position in zip(genotype['normal'], range(8)):  # every op was kept on its edge
        node = position // 2
        assert op in stage3['normal'][node * (node + 3) // 2 + state_in]
    assert (work / 'genotype_normal.png').stat().st_size > 1000

    # resume from the end of stage 2: the loop rebuilds the stage-2 supernet, loads it, and prunes
    # the same candidates for stage 3 from the restored architecture weights
    resumed = tmp_path / 'resumed'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(resumed), '--resume', str(work / 'epoch_2.pth'),
                   '--cfg-options', *SMALL]).stdout
    assert 'resumed epoch: 2' in out and 'P-DARTS stage 2/3' in out and 'P-DARTS stage 3/3' in out
    assert json.loads((resumed / 'pdarts_stage_3_edge_primitives.json').read_text()) == stage3
    assert (resumed / 'genotype.json').is_file()
