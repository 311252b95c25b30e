"""Bit-aware operation counts: FLOPs of full-precision layers, BOPs = MACs * w_bits * a_bits, OPs = BOPs / 64 + FLOPs.

External check: ReActNet-A at 224 x 224 against the paper's ImageNet comparison table (4.82e9 BOPs,
0.12e8 FLOPs, 0.87e8 OPs), plus exact closed-form MACs from its table and agreement with mmengine's
per-module counts (tessera-core's ``get_flops``).
"""
import pytest
import torch
from tessera_core.analysis import get_flops
from torch import nn

from tessera_compression.analysis import count_operations, layer_bits
from tessera_compression.models.binary import BinaryConv2d, ReActNet

A_TABLE = [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1), (512, 2)] + [(512, 1)] * 5 + [(1024, 2), (1024, 1)]
PAPER = dict(bops=4.82e9, flops=0.12e8, ops=0.87e8)  # ReActNet arXiv:2003.03488, ImageNet comparison table


class _Classifier(nn.Module):
    """ReActNet backbone + global average pooling + full-precision linear classifier (the paper's head)."""

    def __init__(self, backbone, num_classes=1000):
        super().__init__()
        self.backbone, self.fc = backbone, nn.Linear(backbone.out_channels[-1], num_classes)

    def forward(self, x):
        return self.fc(self.backbone(x)[-1].mean((2, 3)))


def _closed_form_binary_macs(table, size=224, stem=32):
    """Binary MACs of ReActNet: per block 9 C_in^2 (3x3, C_in -> C_in) + C_in C_out (1x1) per output pixel."""
    side, c_in, total = size // 2, stem, 0
    for c_out, stride in table:
        side //= stride
        total += side * side * (9 * c_in * c_in + c_in * c_out)
        c_in = c_out
    return total


@pytest.fixture(scope='module')
def reactnet_a_counts():
    model = _Classifier(ReActNet('A'))
    return model, count_operations(model, (3, 224, 224))


def test_reactnet_a_matches_the_paper_operation_counts(reactnet_a_counts):
    _, counts = reactnet_a_counts
    print(f'\nReActNet-A 224x224: BOPs {counts.bops:.4g} (paper 4.82e9), FLOPs {counts.flops:.4g} (paper 0.12e8), '
          f'OPs {counts.ops:.4g} (paper 0.87e8)')
    assert counts.ops == pytest.approx(PAPER['ops'], rel=0.03)
    assert counts.bops == pytest.approx(PAPER['bops'], rel=0.01)
    assert counts.flops == pytest.approx(PAPER['flops'], rel=0.03)
    # exact: the binary MACs of the table; FLOPs = stem conv 3 -> 32 at 112 x 112 + the 1024 -> 1000 classifier
    assert counts.bops == _closed_form_binary_macs(A_TABLE) == 4_816_896_000
    assert counts.flops == 112 * 112 * 32 * 3 * 9 + 1024 * 1000 == 11_862_016
    assert counts.by_bits() == {(32, 32): 11_862_016, (1, 1): 4_816_896_000}
    assert len(counts.layers) == 1 + 26 + 1


def test_macs_agree_with_mmengine_per_module(reactnet_a_counts):
    model, counts = reactnet_a_counts
    small = ReActNet('A', in_channels=1, stem_stride=1, widen_factor=0.25)
    by_module = get_flops(small, (1, 28, 28))['by_module']
    rows = count_operations(small, (1, 28, 28)).layers
    assert len(rows) == 27
    assert all(by_module[row.name] == row.macs for row in rows), [(r.name, r.macs, by_module[r.name]) for r in rows]


def test_step1_network_counts_real_weight_binary_activation_macs_as_32_bops():
    model = _Classifier(ReActNet('A', weight_bits=32, act_bits=1))
    counts = count_operations(model, (3, 224, 224))
    binary_macs = _closed_form_binary_macs(A_TABLE)
    assert counts.bops == 32 * binary_macs and counts.flops == 11_862_016
    real = count_operations(_Classifier(ReActNet('A', weight_bits=32, act_bits=32)), (3, 224, 224))
    assert real.bops == 0 and real.flops == binary_macs + 11_862_016


class _QConv(nn.Conv2d):
    """A stand-in for any quantized conv of the package: the interface is two int attributes."""

    def __init__(self, *args, weight_bits=4, act_bits=4, **kwargs):
        super().__init__(*args, **kwargs)
        self.weight_bits, self.act_bits = weight_bits, act_bits


class _Wrapper(nn.Module):
    """A counted layer that holds another counted layer: only the outer one is counted."""

    def __init__(self):
        super().__init__()
        self.inner = nn.Conv2d(8, 8, 1)

    def forward(self, x):
        return self.inner(x)


class _WrappedConv(_QConv):
    def __init__(self):
        super().__init__(8, 8, 1, weight_bits=2, act_bits=2)
        self.helper = nn.Conv2d(8, 8, 1)  # nested in a counted layer: left to its parent, not counted

    def forward(self, x):
        return super().forward(x) + self.helper(x)


class _Toy(nn.Module):
    def __init__(self):
        super().__init__()
        self.stem = nn.Conv2d(3, 8, 3, padding=1)                                    # FP: 16*16*8*27
        self.q = _QConv(8, 8, 3, padding=1, groups=2, weight_bits=4, act_bits=4)   # 16*16*8*36 * 16
        self.shared = _QConv(8, 8, 1, weight_bits=2, act_bits=8)                   # called twice
        self.nested = _WrappedConv()                                                # 16*16*64 * 4, helper skipped
        self.wrapper = _Wrapper()                                                   # plain: FP 16*16*64
        self.fc = nn.Linear(8, 10)                                                  # FP 80
        self.bfc = nn.Linear(8, 5)
        self.bfc.weight_bits, self.bfc.act_bits = 1, 1                              # 40 BOPs

    def forward(self, x):
        x = self.q(self.stem(x))
        x = self.shared(self.shared(x))
        x = self.wrapper(self.nested(x))
        p = x.mean((2, 3))
        return self.fc(p), self.bfc(p)


def test_bits_aware_counts_on_hand_computed_layers():
    model = _Toy().train()
    counts = count_operations(model, (3, 16, 16))
    hw = 16 * 16
    fp = hw * 8 * 27 + hw * 64 + 80
    bops = hw * 8 * 36 * 16 + 2 * hw * 64 * 16 + hw * 64 * 4 + 40
    assert counts.flops == fp
    assert counts.bops == bops
    assert counts.ops == bops / 64 + fp
    assert [r.name for r in counts.layers] == ['stem', 'q', 'shared', 'shared', 'nested', 'wrapper.inner', 'fc', 'bfc']
    assert 'nested.helper' not in {r.name for r in counts.layers}
    assert model.training  # mode restored


def test_invalid_bits_are_reported_with_the_layer_name():
    model = nn.Sequential(nn.Conv2d(3, 4, 3))
    model[0].weight_bits = 0
    with pytest.raises(ValueError, match=r"layer '0' \(Conv2d\) has weight_bits=0; expected an int in \[1, 32\]"):
        count_operations(model, (3, 8, 8))
    conv = BinaryConv2d(3, 4, 3)
    conv.act_bits = None
    with pytest.raises(ValueError, match=r'act_bits=None'):
        layer_bits(conv, 'conv')
    with pytest.raises(ValueError, match=r'input_shape must be \(C, H, W\)'):
        count_operations(nn.Conv2d(3, 4, 3), (8, 8))
