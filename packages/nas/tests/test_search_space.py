"""The DARTS search space: mixed ops, partial channels, search cells, the supernet backbone, its
architecture parameters and the derivation of genotypes (hand-set weights, JSON, PNG)."""
import json

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from tessera_nas.derivation import derive_genotype, load_genotype_json, parse_cell, plot_cell, save_genotype_json
from tessera_nas.genotypes import PDARTS, PRIMITIVES, Genotype
from tessera_nas.models.operations import FactorizedReduce
from tessera_nas.models.search import (DARTSSearchBackbone, MixedOp, PartialChannelMixedOp, SearchCell, cell_edges,
                                       channel_shuffle, node_edge_softmax, num_cell_edges)
from tessera_nas.registry import MODELS

NONE, MAX, AVG, SKIP, SEP3, SEP5, DIL3, DIL5 = range(8)  # indices in PRIMITIVES


def small_backbone(**kwargs):
    cfg = dict(in_channels=1, init_channels=8, layers=3)
    cfg.update(kwargs)
    return DARTSSearchBackbone(**cfg)


# ----------------------------------------------------------------------------------------- MixedOp
def test_mixed_op_is_the_weighted_sum_of_its_candidates_and_one_hot_picks_one_op_exactly():
    op = MixedOp(4, 1)
    assert op.primitives == PRIMITIVES and op.num_ops == 8
    x = torch.randn(2, 4, 6, 6)
    w = F.softmax(torch.randn(8), dim=-1)
    expected = sum(w[i] * op._ops[i](x) for i in range(8))
    assert torch.allclose(op(x, w), expected, atol=1e-6)
    for i in range(8):
        one_hot = F.one_hot(torch.tensor(i), 8).float()
        assert torch.equal(op(x, one_hot), op._ops[i](x)), PRIMITIVES[i]


def test_mixed_op_candidates_follow_the_official_search_network():
    op = MixedOp(4, 2)
    pools = [op._ops[MAX], op._ops[AVG]]
    for pool in pools:  # pooling, then BatchNorm(affine=False)
        assert isinstance(pool, nn.Sequential) and isinstance(pool[1], nn.BatchNorm2d) and not pool[1].affine
    assert isinstance(op._ops[SKIP], FactorizedReduce)  # stride 2
    bns = [m for m in op.modules() if isinstance(m, nn.BatchNorm2d)]
    assert bns and not any(bn.affine for bn in bns)  # search network: affine=False everywhere
    assert op(torch.randn(2, 4, 8, 8), torch.full((8,), 1 / 8)).shape == (2, 4, 4, 4)


def test_pdarts_op_dropout_follows_the_identity_skip_only():
    # official P-DARTS: nn.Dropout after the Identity candidate (skip_connect at stride 1) only
    op = MixedOp(4, 1, op_dropout=0.5)
    dropouts = op.dropouts()
    assert len(dropouts) == 1 and op._ops[SKIP][1] is dropouts[0] and isinstance(op._ops[SKIP][0], nn.Identity)
    assert MixedOp(4, 2, op_dropout=0.5).dropouts() == ()  # stride 2: skip is a FactorizedReduce
    assert MixedOp(4, 1).dropouts() == ()

    skip_only = MixedOp(4, 1, ['skip_connect'], op_dropout=0.5).train()
    x = torch.rand(4, 4, 8, 8) + 0.5
    y = skip_only(x, torch.ones(1))
    kept = y != 0
    assert torch.allclose(y[kept], 2 * x[kept])  # inverted dropout scaling 1 / (1 - p)
    assert 0.35 < kept.float().mean() < 0.65
    assert torch.equal(skip_only.eval()(x, torch.ones(1)), x)
    skip_only.train().set_op_dropout(0.0)
    assert torch.equal(skip_only(x, torch.ones(1)), x)
    with pytest.raises(ValueError, match='built with op_dropout=0'):
        MixedOp(4, 1).set_op_dropout(0.3)


# ------------------------------------------------------------------------------- partial channels
def test_channel_shuffle_is_the_official_permutation_and_is_invertible():
    x = torch.arange(12.).view(1, 12, 1, 1).expand(2, 12, 3, 3)
    y = channel_shuffle(x, 4)
    # output channel j * groups + g is input channel g * (C / groups) + j
    assert y[0, :, 0, 0].tolist() == [0, 3, 6, 9, 1, 4, 7, 10, 2, 5, 8, 11]
    z = torch.randn(2, 12, 5, 5)
    assert torch.equal(channel_shuffle(channel_shuffle(z, 4), 3), z)
    assert torch.equal(channel_shuffle(z, 1), z)
    with pytest.raises(ValueError, match='groups=5 must be a positive divisor of the 12 channels'):
        channel_shuffle(z, 5)


@pytest.mark.parametrize('stride', [1, 2])
def test_partial_channel_op_shapes_and_closed_form(stride):
    op = PartialChannelMixedOp(16, stride, k=4)
    assert op.mixed.channels == 4  # candidates built on C / k channels
    x = torch.randn(2, 16, 8, 8)
    w = F.softmax(torch.randn(8), dim=-1)
    y = op(x, w)
    assert y.shape == (2, 16, 8 // stride, 8 // stride)
    bypass = x[:, 4:] if stride == 1 else F.max_pool2d(x[:, 4:], 2, 2)
    expected = channel_shuffle(torch.cat([op.mixed(x[:, :4], w), bypass], dim=1), 4)
    assert torch.allclose(y, expected, atol=1e-6)


def test_only_one_kth_of_the_channels_goes_through_the_ops():
    op = PartialChannelMixedOp(16, 1, k=4)
    w = F.softmax(torch.randn(8), dim=-1)
    x = torch.randn(2, 16, 6, 6)
    bypass_zeroed = x.clone()
    bypass_zeroed[:, 4:] = 0
    y, y0 = op(x, w), op(bypass_zeroed, w)
    # un-shuffle: the first C / k channels are the op outputs, the rest the bypass
    y, y0 = channel_shuffle(y, 4), channel_shuffle(y0, 4)
    assert torch.equal(y[:, :4], y0[:, :4])  # the ops never see the bypassed channels
    assert torch.equal(y[:, 4:], x[:, 4:]) and torch.equal(y0[:, 4:], torch.zeros_like(x[:, 4:]))
    # gradient: nothing flows from the op weights to the bypassed input channels
    x.requires_grad_(True)
    sum(o.sum() for o in [channel_shuffle(op(x, w), 4)[:, :4]]).backward()
    assert x.grad[:, 4:].abs().sum() == 0 and x.grad[:, :4].abs().sum() > 0


# ------------------------------------------------------------------------------------ search cell
def test_edge_order_and_edge_normalization_softmax_per_node():
    assert num_cell_edges(4) == 14 and num_cell_edges(2) == 5
    assert cell_edges(3) == [(0, 0), (1, 0), (0, 1), (1, 1), (2, 1), (0, 2), (1, 2), (2, 2), (3, 2)]
    betas = torch.randn(14)
    w = node_edge_softmax(betas, 4)
    for start, end in [(0, 2), (2, 5), (5, 9), (9, 14)]:
        assert torch.allclose(w[start:end], F.softmax(betas[start:end], dim=0))
        assert torch.isclose(w[start:end].sum(), torch.tensor(1.))
    with pytest.raises(ValueError, match=r'shape \(14,\)'):
        node_edge_softmax(torch.randn(13), 4)


@pytest.mark.parametrize('mixed_op', [dict(type='MixedOp'), dict(type='PartialChannelMixedOp', k=4)])
@pytest.mark.parametrize('edge_norm', [False, True])
def test_search_cell_matches_its_wiring_by_hand(mixed_op, edge_norm):
    steps = 3
    prims = [PRIMITIVES] * num_cell_edges(steps)
    cell = SearchCell(steps, 2, 12, 10, 8, reduction=True, reduction_prev=True, edge_primitives=prims,
                      mixed_op=mixed_op)
    s0, s1 = torch.randn(2, 12, 16, 16), torch.randn(2, 10, 8, 8)
    weights = F.softmax(torch.randn(num_cell_edges(steps), 8), dim=-1)
    edge_weights = node_edge_softmax(torch.randn(num_cell_edges(steps)), steps) if edge_norm else None
    out = cell(s0, s1, weights, edge_weights)
    assert out.shape == (2, 2 * 8, 4, 4) and cell.out_channels == 16
    assert [op.stride for op in cell._ops] == [2 if j < 2 else 1 for j, _ in cell_edges(steps)]
    states = [cell.preprocess0(s0), cell.preprocess1(s1)]
    for e, (j, i) in enumerate(cell_edges(steps)):
        h = cell._ops[e](states[j], weights[e]) * (edge_weights[e] if edge_norm else 1)
        if len(states) == i + 2:
            states.append(h)
        else:
            states[i + 2] = states[i + 2] + h
    assert torch.allclose(out, torch.cat(states[-2:], dim=1), atol=1e-5)


# -------------------------------------------------------------------------------------- backbone
def test_backbone_output_shape_reductions_and_registry():
    m = small_backbone(layers=5)
    assert m.reduction_layers == (1, 3)
    assert [c.reduction for c in m.cells] == [False, True, False, True, False]
    assert m.out_channels == 4 * 8 * 4
    y = m(torch.randn(2, 1, 16, 16))
    assert isinstance(y, tuple) and len(y) == 1 and y[0].shape == (2, 128, 4, 4)
    clf = MODELS.build(dict(
        type='ImageClassifier', backbone=dict(type='DARTSSearchBackbone', in_channels=1, init_channels=8, layers=3,
                                              mixed_op=dict(type='PartialChannelMixedOp', k=4),
                                              edge_normalization=True),
        neck=dict(type='GlobalAveragePooling'), head=dict(type='LinearClsHead', num_classes=10, in_channels=128)))
    assert clf(torch.randn(2, 1, 16, 16)).shape == (2, 10)


def test_arch_and_weight_parameters_are_complete_and_disjoint():
    for edge_norm, n_arch in [(False, 2), (True, 4)]:
        m = small_backbone(mixed_op=dict(type='PartialChannelMixedOp', k=4), edge_normalization=edge_norm)
        arch, weights = m.arch_parameters(), m.weight_parameters()
        assert len(arch) == n_arch and m.alphas_normal.shape == m.alphas_reduce.shape == (14, 8)
        assert {id(p) for p in arch}.isdisjoint({id(p) for p in weights})
        assert {id(p) for p in arch} | {id(p) for p in weights} == {id(p) for p in m.parameters()}
        assert sum(p.numel() for p in arch) == 2 * 14 * 8 + (2 * 14 if edge_norm else 0)
        assert all(p.abs().max() < 0.01 for p in arch)  # 1e-3 * randn
        y = m(torch.randn(2, 1, 8, 8))[0]
        (y * torch.randn_like(y)).sum().backward()
        assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in arch)


def test_op_weights_are_a_softmax_over_the_ops_of_each_edge():
    m = small_backbone().eval()
    w = m.arch_weights()
    assert torch.allclose(w['normal'], F.softmax(m.alphas_normal, dim=-1)) and 'edge_normal' not in w
    assert torch.allclose(w['reduce'].sum(dim=1), torch.ones(14))
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        ref = m(x)[0]
        m.alphas_normal.add_(torch.randn(14, 1))  # a constant per edge: softmax over ops is unchanged
        m.alphas_reduce.add_(torch.randn(14, 1))
        assert torch.allclose(m(x)[0], ref, atol=1e-5)
        m.alphas_normal[3].add_(torch.randn(8))
        assert not torch.allclose(m(x)[0], ref, atol=1e-3)


def test_normal_and_reduction_cells_read_their_own_alphas():
    m = small_backbone().eval()  # cells: normal, reduce, reduce -> the output is a reduction cell's
    x = torch.randn(2, 1, 8, 8)
    with torch.no_grad():
        m.alphas_reduce.zero_()[:, NONE] = 1000.  # softmax -> exactly one-hot on 'none'
        assert torch.equal(m(x)[0], torch.zeros(2, 128, 2, 2))
        m.alphas_reduce.zero_()
        m.alphas_normal.zero_()[:, NONE] = 1000.
        assert m(x)[0].abs().sum() > 0


def test_edge_normalization_weights_of_the_backbone():
    m = small_backbone(edge_normalization=True)
    assert m.betas_normal.shape == m.betas_reduce.shape == (14,)
    w = m.arch_weights()
    assert torch.allclose(w['edge_reduce'], node_edge_softmax(m.betas_reduce, 4))
    x = torch.randn(2, 1, 8, 8)
    m.eval()
    with torch.no_grad():
        ref = m(x)[0]
        m.betas_normal[5:9] += 3.  # a constant over one node's inputs: unchanged
        assert torch.allclose(m(x)[0], ref, atol=1e-5)
        m.betas_normal[5] += 3.
        assert not torch.allclose(m(x)[0], ref, atol=1e-3)


def pdarts_like_edge_primitives():
    """Different candidate lists (and counts) per edge, as after P-DARTS pruning."""
    subsets = [['none', 'sep_conv_3x3', 'skip_connect'], ['max_pool_3x3', 'dil_conv_5x5'], ['sep_conv_5x5'],
               ['skip_connect', 'avg_pool_3x3', 'sep_conv_3x3', 'dil_conv_3x3']]
    return dict(normal=[subsets[e % 4] for e in range(14)], reduce=[subsets[(e + 1) % 4] for e in range(14)])


def test_edge_primitives_with_different_candidates_per_edge():
    prims = pdarts_like_edge_primitives()
    m = small_backbone(edge_primitives=prims, op_dropout=0.2)
    assert isinstance(m.alphas_normal, nn.ParameterList) and len(m.alphas_normal) == 14
    assert [a.numel() for a in m.alphas_normal] == [len(p) for p in prims['normal']]
    normal_cell, reduce_cell = m.cells[0], m.cells[1]
    assert [op.primitives for op in normal_cell._ops] == [tuple(p) for p in prims['normal']]
    assert [op.primitives for op in reduce_cell._ops] == [tuple(p) for p in prims['reduce']]
    assert len(m.arch_parameters()) == 28
    assert all(d.p == 0.2 for d in m.modules() if isinstance(d, nn.Dropout))
    m.set_op_dropout(0.05)
    assert all(d.p == 0.05 for d in m.modules() if isinstance(d, nn.Dropout))
    y = m(torch.randn(2, 1, 8, 8))[0]
    (y * torch.randn_like(y)).sum().backward()
    assert all(p.grad is not None for p in m.arch_parameters())
    g = m.genotype()
    for cell in ('normal', 'reduce'):
        for k, (op, j) in enumerate(getattr(g, cell)):
            node = k // 2
            e = node * (node + 3) // 2 + j  # first edge of node i is i (i + 3) / 2
            assert op in prims[cell][e] and op != 'none'


# ------------------------------------------------------------------------------------- derivation
def hand_set_weights():
    """Per-edge weights of a normal cell (PRIMITIVES order) with a known derivation."""
    w = torch.full((14, 8), 0.01)
    w[0, NONE], w[0, SEP3] = 0.9, 0.05  # node 0: 'none' strongest on edge 0 ...
    w[1, MAX] = 0.3  # ... but edge 1 (state 1) ranks first: 0.3 > 0.05
    w[2, NONE], w[2, DIL5] = 0.95, 0.04  # node 1: 'none' largest of the node, edge dropped
    w[3] = 0.125  # uniform: op tie -> first non-none candidate (max_pool_3x3)
    w[4, SEP5] = 0.5
    w[5, SKIP], w[7, DIL3], w[6, AVG], w[8, SEP3] = 0.4, 0.4, 0.1, 0.2  # node 2: edge tie -> lower state first
    w[13, SEP3], w[10, AVG], w[9, MAX] = 0.6, 0.3, 0.2  # node 3
    return w


EXPECTED_NORMAL = [('max_pool_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_5x5', 2), ('max_pool_3x3', 1),
                   ('skip_connect', 0), ('dil_conv_3x3', 2), ('sep_conv_3x3', 4), ('avg_pool_3x3', 1)]


def test_genotype_derivation_on_hand_set_weights():
    w = hand_set_weights()
    assert parse_cell(w, [PRIMITIVES] * 14, 4) == EXPECTED_NORMAL
    reversed_prims = [PRIMITIVES[::-1]] * 14  # same weights per op, candidates in reverse order
    g = derive_genotype(w, torch.flip(w, dims=[1]), dict(normal=[PRIMITIVES] * 14, reduce=reversed_prims),
                        steps=4, multiplier=4)
    assert g.normal == tuple(EXPECTED_NORMAL) and g.normal_concat == (2, 3, 4, 5)
    # an op tie picks the first non-none candidate of the edge's list: dil_conv_5x5 now
    assert g.reduce[2:4] == (('sep_conv_5x5', 2), ('dil_conv_5x5', 1))
    assert derive_genotype(w, w, steps=4, multiplier=2).normal_concat == (4, 5)
    # PC-DARTS: op weights times edge weights; node 1 keeps edges 0 and 2 (0.032, 0.025 > 0.019)
    ew = torch.ones(14)
    ew[2:5] = torch.tensor([0.8, 0.15, 0.05])
    g = derive_genotype(w, w, PRIMITIVES, 4, 4, edge_weights=dict(normal=ew, reduce=torch.ones(14)))
    assert g.normal[2:4] == (('dil_conv_5x5', 0), ('sep_conv_5x5', 2))
    assert g.reduce[2:4] == (('sep_conv_5x5', 2), ('max_pool_3x3', 1))


def test_backbone_genotype_uses_softmaxed_alphas_and_edge_weights():
    m = small_backbone(edge_normalization=True)
    w = hand_set_weights()
    w[3, MAX], w[7, DIL3] = 0.13, 0.39  # remove the ties for the softmax round trip
    with torch.no_grad():
        m.alphas_normal.copy_(w.log())
        m.alphas_reduce.copy_(w.log())
        m.betas_normal.zero_()
        m.betas_reduce.zero_()
    expected = Genotype(normal=EXPECTED_NORMAL, normal_concat=[2, 3, 4, 5], reduce=EXPECTED_NORMAL,
                        reduce_concat=[2, 3, 4, 5])
    assert m.genotype() == expected
    with torch.no_grad():
        m.betas_normal[2:5] = torch.tensor([0.8, 0.15, 0.05]).log()  # softmax -> these edge weights
    # node 1 after the row softmax: dil5 0.038, max 0.129, sep5 0.877; times the edge weights:
    # 0.0305, 0.0194, 0.0439 -> edges 4 and 2 (without betas: edges 4 and 3)
    assert m.genotype().normal[2:4] == (('sep_conv_5x5', 2), ('dil_conv_5x5', 0))
    assert m.genotype().reduce == expected.reduce


def test_derivation_needs_two_non_none_edges_per_node():
    prims = [PRIMITIVES] * 14
    prims[0] = ['none']
    with pytest.raises(ValueError, match=r'node 0 has 1 incoming edge\(s\) with a non-none candidate'):
        parse_cell([torch.ones(1)] + [torch.ones(8)] * 13, prims, 4)
    with pytest.raises(ValueError, match='weights\\[2\\] has 8 entries but edge 2 has 3 candidates'):
        parse_cell([torch.ones(8)] * 14, [PRIMITIVES] * 2 + [PRIMITIVES[:3]] * 12, 4)


def test_genotype_json_round_trip_and_bad_files(tmp_path):
    path = save_genotype_json(PDARTS, str(tmp_path / 'run' / 'genotype.json'))
    assert load_genotype_json(path) == PDARTS
    assert json.load(open(path))['normal'][1] == ['dil_conv_3x3', 1]
    bad = tmp_path / 'bad.json'
    bad.write_text('{"normal": [')
    with pytest.raises(ValueError, match='bad.json is not a JSON genotype file'):
        load_genotype_json(str(bad))
    cfg = PDARTS.to_dict()
    cfg['reduce'][0] = ['conv_9x9', 0]
    bad.write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match=r"bad.json: Genotype.reduce\[0\]: unknown operation 'conv_9x9'; valid: "
                                         r"\['none', 'max_pool_3x3'"):
        load_genotype_json(str(bad))


def test_plot_cell_writes_a_png(tmp_path):
    import matplotlib.image as mpimg
    for cell in ('normal', 'reduce'):
        path = plot_cell(PDARTS, cell, str(tmp_path / f'{cell}.png'))
        data = open(path, 'rb').read()
        assert data[:8] == b'\x89PNG\r\n\x1a\n' and len(data) > 10_000
        image = mpimg.imread(path)
        assert image.shape[0] > 200 and image.shape[1] > 500
        assert (image[..., :3] < 0.5).any()  # something was drawn on the white canvas
    with pytest.raises(ValueError, match="cell must be 'normal' or 'reduce', got 'both'"):
        plot_cell(PDARTS, 'both', str(tmp_path / 'x.png'))


# -------------------------------------------------------------------------------------- bad input
def test_bad_input_errors_name_the_value_and_list_the_valid_ones():
    with pytest.raises(ValueError, match=r"unknown primitive 'conv_7x7'; valid primitives: \['none', 'max_pool_3x3'"):
        MixedOp(4, 1, ['sep_conv_3x3', 'conv_7x7'])
    with pytest.raises(ValueError, match=r"edge_primitives.normal\[3\]: unknown primitive 'sep_conv_7x7'"):
        prims = pdarts_like_edge_primitives()
        prims['normal'][3] = ['sep_conv_7x7']
        small_backbone(edge_primitives=prims)
    with pytest.raises(ValueError, match='edge_primitives.reduce must list 14 edges for a 4-step cell.*got 13'):
        small_backbone(edge_primitives=dict(normal=[PRIMITIVES] * 14, reduce=[PRIMITIVES] * 13))
    with pytest.raises(ValueError, match=r"edge_primitives must be dict\(normal=\[...\], reduce=\[...\]\)"):
        small_backbone(edge_primitives=dict(normal=[PRIMITIVES] * 14))
    with pytest.raises(ValueError, match='k=4 must divide the edge channels, got channels=10'):
        PartialChannelMixedOp(10, 1, k=4)
    with pytest.raises(ValueError, match='k=4 must divide the edge channels, got channels=6'):
        small_backbone(init_channels=6, mixed_op=dict(type='PartialChannelMixedOp', k=4))
    with pytest.raises(KeyError, match=r"unknown mixed_op type 'PartialMixedOp'; valid: \['MixedOp', "
                                       r"'PartialChannelMixedOp'\]"):
        small_backbone(mixed_op=dict(type='PartialMixedOp'))
    with pytest.raises(ValueError, match=r'expects a \(8,\) weight vector .* got \(7,\)'):
        MixedOp(4, 1)(torch.randn(1, 4, 4, 4), torch.ones(7))
    cell = SearchCell(4, 4, 8, 8, 8, False, False, [PRIMITIVES] * 14)
    with pytest.raises(ValueError, match='needs weights for 14 edges, got 9'):
        cell(torch.randn(1, 8, 4, 4), torch.randn(1, 8, 4, 4), torch.ones(9, 8))
    with pytest.raises(ValueError, match=r'expects \(N, 1, H, W\) inputs, got \(2, 3, 8, 8\)'):
        small_backbone()(torch.randn(2, 3, 8, 8))
    with pytest.raises(ValueError, match='multiplier must be an int in \\[1, steps=4\\], got 5'):
        small_backbone(multiplier=5)


# ------------------------------------------------------------------------------ memory premise
def test_partial_channels_cut_the_peak_memory_of_a_training_step():
    """The benchmark's allocator-trace measurement at a tiny size: PC-DARTS K=4 needs < 0.45x the
    peak tensor memory of DARTS for the same step (benchmarks/search_memory.py prints the ratio)."""
    import argparse
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / 'benchmarks' / 'search_memory.py'
    spec = importlib.util.spec_from_file_location('search_memory', path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    args = argparse.Namespace(in_channels=1, init_channels=8, layers=3, num_classes=10, k=4)
    images, labels = torch.randn(2, 1, 16, 16), torch.tensor([1, 7])
    peaks = {}
    for variant in ('darts', 'pc-darts'):
        model = bench.build_supernet(variant, args).train()
        bench.training_step(model, images, labels)
        peaks[variant] = bench.measure_allocator_peak(model, images, labels)
    assert peaks['darts'] > 2 ** 20
    assert peaks['pc-darts'] / peaks['darts'] < 0.45
