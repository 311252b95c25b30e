"""Genotypes: the published ones, validation errors, config forms."""
import pytest

from tessera_nas import genotypes
from tessera_nas.genotypes import GENOTYPES, PRIMITIVES, Genotype, get_genotype
from tessera_nas.models.operations import OPS

# The official quark0/darts cnn/genotypes.py entry, as its namedtuple arguments.
OFFICIAL_DARTS_V2 = dict(
    normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 1),
            ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], normal_concat=[2, 3, 4, 5],
    reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), ('max_pool_3x3', 1), ('max_pool_3x3', 0),
            ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], reduce_concat=[2, 3, 4, 5])


def test_search_space_matches_the_op_table():
    assert PRIMITIVES == ('none', 'max_pool_3x3', 'avg_pool_3x3', 'skip_connect', 'sep_conv_3x3', 'sep_conv_5x5',
                          'dil_conv_3x3', 'dil_conv_5x5')
    assert tuple(OPS) == PRIMITIVES


def test_published_genotypes_are_importable_and_valid():
    for name in ('DARTS_V1', 'DARTS_V2', 'PC_DARTS', 'PDARTS', 'PC_DARTS_IMAGENET'):
        g = getattr(genotypes, name)
        assert isinstance(g, Genotype) and GENOTYPES[name] is g
        assert g.normal_steps == g.reduce_steps == 4
        assert g.normal_concat == g.reduce_concat == (2, 3, 4, 5)
    assert genotypes.DARTS is genotypes.DARTS_V2
    assert genotypes.DARTS_V2 == Genotype(**OFFICIAL_DARTS_V2)
    assert genotypes.PC_DARTS.normal[6] == ('avg_pool_3x3', 0)
    assert genotypes.PDARTS.reduce[-1] == ('dil_conv_5x5', 3)


def test_config_forms_resolve_to_the_same_genotype():
    g = genotypes.PDARTS
    assert get_genotype('PDARTS') is g
    assert get_genotype(g.to_dict()) == g
    assert get_genotype({k: list(v) for k, v in OFFICIAL_DARTS_V2.items()}) == genotypes.DARTS_V2
    assert get_genotype(g) is g


def test_unknown_name_lists_the_published_ones():
    with pytest.raises(KeyError, match=r"unknown genotype 'DARTS_V3'.*'DARTS_V1', 'DARTS_V2'.*'PDARTS'"):
        get_genotype('DARTS_V3')
    with pytest.raises(TypeError, match='name, a dict or a Genotype'):
        get_genotype(42)


def _with(**changes):
    cfg = genotypes.DARTS_V2.to_dict()
    cfg.update(changes)
    return cfg


@pytest.mark.parametrize('cfg,message', [
    (_with(normal=[['sep_conv_7x7', 0], ['skip_connect', 1]]),
     r"normal\[0\]: unknown operation 'sep_conv_7x7'; valid: \['none', 'max_pool_3x3'"),
    (_with(reduce=[['max_pool_3x3', 0], ['max_pool_3x3', 1], ['skip_connect', 2]]),
     r'two \(operation, input\) edges per node.*got 3'),
    (_with(normal=[]), r'non-empty even number of edges; got 0'),
    (_with(normal=[['sep_conv_3x3', 0], ['sep_conv_3x3', 2]]),
     r'normal\[1\]: node 0 \(state 2\) cannot take input 2; valid inputs: \[0, 1\]'),
    (_with(normal=[['sep_conv_3x3', 0], ['sep_conv_3x3', -1]]), r'valid inputs: \[0, 1\]'),
    (_with(normal=[['sep_conv_3x3', 0], ['sep_conv_3x3']]), r'normal\[1\] must be an \(operation, input\) pair'),
    (_with(normal='sep_conv_3x3'), r'sequence of \(operation, input\) pairs'),
    (_with(normal_concat=[2, 3, 4, 6]), r'normal_concat: invalid state index 6; valid: \[0, 1, 2, 3, 4, 5\]'),
    (_with(reduce_concat=[]), r'reduce_concat is empty'),
    (_with(reduce_concat=[2, 2]), r'repeats a state'),
    ({'normal': [], 'reduce': []}, r"exactly the keys.*missing \['normal_concat', 'reduce_concat'\]"),
    (dict(_with(), extra=1), r"unexpected \['extra'\]"),
])
def test_malformed_genotypes_are_rejected_with_the_valid_values(cfg, message):
    with pytest.raises((ValueError, TypeError), match=message):
        get_genotype(cfg)
