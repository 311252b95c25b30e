"""The NB201-style cell space of the tabular benchmark: strings, counts, isomorphism, macro network."""
import itertools

import pytest
import torch

from tessera_nas.benchmarks import space
from tessera_nas.benchmarks.network import TinyNetwork

OPS = space.OPS
CONV3 = '|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|'


def test_space_size_and_roundtrip():
    cells = list(itertools.product(OPS, repeat=6))
    assert len(cells) == space.NUM_ARCHS == 15625
    for idx, ops in enumerate(cells):  # index = base-5 digits in EDGES order, most significant first
        assert space.ops_of(idx) == ops
        assert space.index_of(space.to_str(ops)) == idx
        assert space.parse(space.to_str(ops)) == ops
    assert space.EDGES == ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
    assert space.to_str(space.ops_of(0)) == '|none~0|+|none~0|none~1|+|none~0|none~1|none~2|'


def _graph(ops):
    """Independent brute force of the rule: node = sorted multiset of terms, skip flattens, zero drops."""
    e = dict(zip(space.EDGES, ops))
    nodes = [('x',)]
    for j in range(1, 4):
        terms = []
        for i in range(j):
            if e[(i, j)] == 'none' or nodes[i] is None:
                continue
            inner = nodes[i]
            if e[(i, j)] == 'skip_connect':
                terms.extend(inner[1] if inner[0] == 'sum' else [inner])
            else:
                terms.append((e[(i, j)], inner))
        nodes.append(None if not terms else terms[0] if len(terms) == 1 else ('sum', tuple(sorted(terms, key=repr))))
    return nodes[3]


def test_number_of_unique_cells_brute_force():
    graphs = {repr(_graph(ops)) for ops in itertools.product(OPS, repeat=6)}
    assert len(graphs) == space.num_unique() == 4930
    assert len(space.canonical_indices()) == 4930
    assert sum(len(space.class_members(c)) for c in space.canonical_indices()) == 15625


def test_canonical_is_smallest_member_and_idempotent():
    for c in space.canonical_indices()[::37]:
        members = space.class_members(c)
        assert min(members) == c and space.is_canonical(c)
        for m in members:
            assert space.canonical_index(m) == c
            assert repr(space.computation_graph(m)) == repr(space.computation_graph(c))


@pytest.mark.parametrize('a, b, same', [
    # dead edge (node 1 has no input, so 1->3 carries nothing): same as with none there
    ('|none~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|',
     '|none~0|+|nor_conv_3x3~0|none~1|+|none~0|none~1|skip_connect~2|', True),
    # node 2 never reaches the output
    ('|nor_conv_3x3~0|+|avg_pool_3x3~0|nor_conv_1x1~1|+|none~0|nor_conv_3x3~1|none~2|',
     '|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|', True),
    # sums commute: the two intermediate nodes swapped
    ('|nor_conv_3x3~0|+|avg_pool_3x3~0|none~1|+|none~0|skip_connect~1|nor_conv_1x1~2|',
     '|avg_pool_3x3~0|+|nor_conv_3x3~0|none~1|+|none~0|nor_conv_1x1~1|skip_connect~2|', True),
    # skip is the identity: x -> skip -> node -> conv == conv(x) directly
    ('|skip_connect~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|',
     '|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|', True),
    # two skip paths give x + x, not x
    ('|skip_connect~0|+|none~0|none~1|+|skip_connect~0|skip_connect~1|none~2|',
     '|none~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|', False),
    # two convolutions of x have two sets of weights: conv(x) + conv(x) != conv(x)
    ('|nor_conv_3x3~0|+|none~0|none~1|+|nor_conv_3x3~0|skip_connect~1|none~2|',
     '|none~0|+|none~0|none~1|+|nor_conv_3x3~0|none~1|none~2|', False),
    ('|nor_conv_3x3~0|+|none~0|none~1|+|none~0|nor_conv_1x1~1|none~2|',
     '|nor_conv_1x1~0|+|none~0|none~1|+|none~0|nor_conv_3x3~1|none~2|', False),
])
def test_isomorphism_examples(a, b, same):
    assert (space.canonical_index(a) == space.canonical_index(b)) is same


def test_zero_cells_form_one_class():
    zero = [i for i in range(space.NUM_ARCHS) if space.computation_graph(i) is None]
    assert {space.canonical_index(i) for i in zero} == {0}
    # node 3 is zero iff no live path x -> 3 without a none edge
    assert space.class_members(0) == tuple(zero)


@pytest.mark.parametrize('bad, names', [
    ('|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|', ["'conv_5x5'", 'edge 0->1']),
    ('|none~0|+|none~0|none~2|+|none~0|none~1|none~2|', ['edge 2->2']),
    ('|none~0|+|none~0|+|none~0|none~1|none~2|', ['node 2 lacks edge(s) 1->2']),
    ('|none~0|+|none~0|none~1|', ['expected 3 nodes']),
    ('|none~0|+|none0|none~1|+|none~0|none~1|none~2|', ["token 'none0'"]),
    ('|none~0|+|none~0|none~0|+|none~0|none~1|none~2|', ['edge 0->2 is given twice']),
])
def test_bad_genotype_names_op_or_edge(bad, names):
    with pytest.raises(space.GenotypeError) as err:
        space.canonical(bad)
    for n in names:
        assert n in str(err.value)


def test_bad_index_and_ops():
    with pytest.raises(space.GenotypeError, match='index 15625 is outside'):
        space.ops_of(15625)
    with pytest.raises(space.GenotypeError, match="op 'max_pool_3x3' on edge 1->3"):
        space.to_str(['none'] * 4 + ['max_pool_3x3', 'none'])


# Hand count (C = 8, N = 1, 1 x 16 x 16 input, 10 classes). Fixed part: stem conv 1*8*9 = 72 + BN 16;
# reduction 8->16: 8*16*9 + 32 + 16*16*9 + 32 + 8*16 = 3648; reduction 16->32: 16*32*9 + 64 +
# 32*32*9 + 64 + 16*32 = 14464; last BN 64; linear 32*10 + 10 = 330; total 18594. One nor_conv_3x3
# edge in all 3 stages: (9*64 + 16) + (9*256 + 32) + (9*1024 + 64) = 12208; nor_conv_1x1:
# (64 + 16) + (256 + 32) + (1024 + 64) = 1456; skip, pool, none: 0.
FIXED, CONV3_P, CONV1_P = 18594, 12208, 1456


def hand_params(ops):
    return FIXED + CONV3_P * ops.count('nor_conv_3x3') + CONV1_P * ops.count('nor_conv_1x1')


@pytest.mark.parametrize('genotype, expected', [
    (CONV3, 91842),
    ('|nor_conv_1x1~0|+|skip_connect~0|avg_pool_3x3~1|+|none~0|nor_conv_3x3~1|skip_connect~2|', 32258),
    ('|none~0|+|none~0|none~1|+|none~0|none~1|none~2|', 18594),
])
def test_macro_network_params_hand_computed(genotype, expected):
    assert hand_params(space.parse(genotype)) == expected
    net = TinyNetwork(genotype)
    assert sum(p.numel() for p in net.parameters()) == expected
    assert net(torch.zeros(2, 1, 16, 16)).shape == (2, 10)


def test_zero_cell_outputs_constant():
    net = TinyNetwork(0).eval()
    out = net(torch.randn(4, 1, 16, 16))
    assert torch.allclose(out, out[:1].expand_as(out))
