"""ABS (arXiv:2101.04935): the super-bit quantizer, its gates, the 0-bit filter gates, the BOPs term,
the budget check, the derived network's BOPs and its export."""
import math

import pytest
import torch
from torch import nn

from tessera_compression.analysis import count_operations
from tessera_compression.export import build_integer_model, export_quantized
from tessera_compression.models import QuantConv2d
from tessera_compression.models.abs import (ABSQuantizer, ABSSuperNet, FilterGate, SuperBitQuantizer, derive_network,
                                            filter_scores)
from tessera_compression.registry import MODELS

CLASSIFIER = dict(type='ImageClassifier',
                  data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[0.0], std=[1.0]),
                  backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
                  neck=dict(type='GlobalAveragePooling'),
                  head=dict(type='LinearClsHead', num_classes=10, in_channels=64))


def _supernet(**kwargs):
    return MODELS.build(dict(type='ABSSuperNet', model=CLASSIFIER, input_shape=(1, 16, 16), **kwargs))


@pytest.mark.parametrize('kind', ['weight', 'activation'])
def test_all_gates_open_is_the_highest_width_and_all_closed_the_base_width(kind):
    torch.manual_seed(0)
    x = torch.randn(64, 3, 3, 3) if kind == 'weight' else torch.rand(4, 8, 5, 5) * 1.5
    q = SuperBitQuantizer((2, 4, 8), kind=kind)
    with torch.no_grad():
        q.clip_value.fill_(0.9)
    q.thresholds.data.zero_()  # threshold 0 < any nonzero residual norm: every gate open
    out = q(x)
    assert [float(g) for g in q.gates] == [1.0, 1.0] and q.selected_bits() == 8
    for bits, gates in ((8, (1, 1)), (4, (1, 0)), (2, (0, 0)), (2, (0, 1))):  # a closed gate closes the higher ones
        fixed = ABSQuantizer(bits, kind=kind, clip_value=0.9)
        q.set_gates(gates)
        got = q(x)
        assert torch.allclose(got, fixed(x), atol=1e-6), (bits, gates, (got - fixed(x)).abs().max())
        assert got.unique().numel() <= 2 ** bits and q.selected_bits() == bits
    assert torch.allclose(out, ABSQuantizer(8, kind=kind, clip_value=0.9)(x), atol=1e-6)
    q.set_gates(None)
    q.thresholds.data.fill_(10.0)  # thresholds above every residual norm: every gate closed
    assert torch.allclose(q(x), ABSQuantizer(2, kind=kind, clip_value=0.9)(x), atol=1e-6)
    assert [float(g) for g in q.gates] == [0.0, 0.0]


def test_gate_is_a_threshold_on_the_residual_norm_with_a_sigmoid_gradient():
    torch.manual_seed(1)
    x = torch.rand(2, 4, 3, 3)
    q = SuperBitQuantizer((2, 4), kind='activation')
    u = x.clamp(0, 1)
    norm = (u - torch.round(u * 3) / 3).abs().mean()
    q.thresholds.data.fill_(float(norm) - 0.01)
    q(x)
    assert float(q.gates[0]) == 1.0
    q.gates[0].backward()
    s = torch.sigmoid(torch.tensor(0.01))
    assert torch.allclose(q.thresholds.grad, -(s * (1 - s)).reshape(1), atol=1e-5)
    q.thresholds.data.fill_(float(norm) + 0.01)
    q(x)
    assert float(q.gates[0]) == 0.0


def test_bad_bits_lists_and_kinds_are_refused():
    with pytest.raises(ValueError, match=r'bits_list=\[2, 3, 4\].*each twice the previous'):
        SuperBitQuantizer([2, 3, 4])
    with pytest.raises(ValueError, match="unknown quantizer kind 'bias'"):
        SuperBitQuantizer(kind='bias')


def test_closed_filter_gate_zeroes_its_filter_and_clamp_bounds_pruning():
    torch.manual_seed(2)
    conv = nn.Conv2d(3, 4, 3, padding=1, bias=False)
    gate = FilterGate(nn.BatchNorm2d(4), conv, group_size=1, max_pruning_ratio=0.5)
    x = conv(torch.randn(2, 3, 6, 6))
    y = gate(x)
    assert float(gate.kept_channels()) == 4  # thresholds 0: nothing pruned
    gate.set_mask([1, 0, 1, 1])
    y = gate(x)
    assert torch.count_nonzero(y[:, 1]) == 0 and torch.count_nonzero(y[:, 0]) > 0
    assert float(gate.kept_channels()) == 3
    gate.set_mask(None)
    gate.thresholds.data.fill_(1.0)  # would prune everything; the clamp allows k = 2 of 4 filters
    gate.clamp_thresholds()
    gate(x)
    assert float(gate.kept_channels()) == 2
    scores = filter_scores(conv.weight, 1)
    assert torch.equal(gate.indicator > 0.5, scores > scores.sort().values[1])


def _hand_bops(net, bits, keep):
    """BOPs by hand: the 16 px input stays 16 px in layer1, 8 in layer2, 4 in layer3, 2 in layer4."""
    total = 0
    widths = {1: 8, 2: 16, 3: 32, 4: 64}
    size = {1: 16, 2: 8, 3: 4, 4: 2}
    for name in net.super_convs:
        stage = int(name.split('.')[1][-1])
        block = name.rsplit('.', 1)[0] if 'downsample' not in name else name.rsplit('.', 2)[0]
        c_out = widths[stage]
        c_in = widths[stage - 1] if stage > 1 and block.endswith('.0') and not name.endswith('conv2') else c_out
        if stage == 1:
            c_in = 8
        k = 1 if 'downsample' in name else 3
        if name.endswith('conv1'):
            c_out = keep[block]
        if name.endswith('conv2'):
            c_in = keep[block]
        total += size[stage] ** 2 * k * k * c_in * c_out * bits[name][0] * bits[name][1]
    return total


def test_derived_network_bops_equal_hand_count_for_hand_set_gates():
    torch.manual_seed(3)
    net = _supernet(weight_bits_list=(2, 4, 8), act_bits_list=(2, 4, 8), max_pruning_ratio=0.75)
    assert len(net.super_convs) == 19 and len(net.gated_blocks) == 8
    gates = {0: (0, 0), 1: (1, 0), 2: (1, 1)}
    bits, keep = {}, {}
    for i, name in enumerate(net.super_convs):
        conv = net.conv(name)
        wi, ai = i % 3, (i + 1) % 3
        conv.weight_quantizer.set_gates(gates[wi])
        conv.act_quantizer.set_gates(gates[ai])
        bits[name] = (2 ** (wi + 1), 2 ** (ai + 1))
    for j, block in enumerate(net.gated_blocks):
        gate = net.gate(block)
        mask = [1] * gate.num_groups
        for c in range(j % 3 + 1):
            mask[2 * c] = 0
        gate.set_mask(mask)
        keep[block] = sum(mask)
    net.train()
    net.model(torch.randn(2, 1, 16, 16), None, 'tensor')  # the gates of a forward pass
    expected = _hand_bops(net, bits, keep)
    assert float(net.current_bops()) == pytest.approx(expected, rel=1e-6)
    derived, selection = derive_network(net)
    assert selection['bops'] == expected
    assert {tuple(v) for v in selection['bits'].values()} == set(bits.values())
    counts = count_operations(derived, (1, 16, 16))
    assert counts.bops == expected
    conv1 = derived.get_submodule(net.gated_blocks[0] + '.conv1')
    assert isinstance(conv1, QuantConv2d) and conv1.out_channels == keep[net.gated_blocks[0]]
    assert isinstance(conv1.weight_quantizer, ABSQuantizer)
    assert sum(v for k, v in selection['histogram'].items()) == 19
    assert selection['pruning_ratio'] == pytest.approx(1 - sum(keep.values()) / sum(
        net.gate(b).num_groups for b in net.gated_blocks))


def test_derived_network_equals_the_supernet_with_those_gates_and_exports():
    torch.manual_seed(4)
    net = _supernet()
    with torch.no_grad():
        for block in net.gated_blocks:
            net.gate(block).norm.running_var.uniform_(0.5, 2)
    for i, name in enumerate(net.super_convs):
        net.conv(name).weight_quantizer.set_gates((1, 0) if i % 2 else (0, 0))
        net.conv(name).act_quantizer.set_gates((1, 1) if i % 2 else (1, 0))
    for block in net.gated_blocks:
        gate = net.gate(block)
        gate.set_mask([0, 1] * (gate.num_groups // 2))
    net.eval()
    x = torch.rand(3, 1, 16, 16)
    derived, _ = derive_network(net)
    derived.eval()
    with torch.no_grad():
        out_super = net(x)
        out_derived = derived(x)
    # pruned filters removed: the standardisation statistics of conv1 / conv2 change, the structure must not
    assert out_derived.shape == out_super.shape
    exported = export_quantized(derived)
    assert len(exported['layers']) == 19
    integer = build_integer_model(derived, exported)
    with torch.no_grad():
        assert torch.allclose(integer(x), out_derived, rtol=1e-4, atol=1e-4)


def test_unpruned_derived_network_equals_the_supernet_exactly():
    torch.manual_seed(5)
    net = _supernet(prune=False)
    for i, name in enumerate(net.super_convs):
        net.conv(name).weight_quantizer.set_gates((1, i % 2))
        net.conv(name).act_quantizer.set_gates((i % 2, 0))
    net.eval()
    x = torch.rand(3, 1, 16, 16)
    derived, _ = derive_network(net)
    with torch.no_grad():
        assert torch.allclose(derived.eval()(x), net(x), atol=1e-5)


def test_bops_budget_below_the_minimum_is_refused_with_the_minimum():
    net = _supernet(max_pruning_ratio=0.5)
    minimum = net.min_bops
    # every conv at 2/2 bits, every gated block at half its filters
    bits = {n: (2, 2) for n in net.super_convs}
    keep = {b: net.gate(b).num_groups // 2 for b in net.gated_blocks}
    assert minimum == _hand_bops(net, bits, keep)
    with pytest.raises(ValueError, match=rf'bops_budget=.* below the minimum .*: {minimum} BOPs'):
        _supernet(max_pruning_ratio=0.5, bops_budget=minimum - 1)
    _supernet(max_pruning_ratio=0.5, bops_budget=minimum)  # the minimum itself is reachable
    with pytest.raises(ValueError, match='must be a positive number'):
        _supernet(bops_budget=-3)


def test_search_step_moves_gates_alternately_and_bops_loss_is_the_hinge():
    torch.manual_seed(6)
    net = _supernet(bops_weight=1.0, bops_budget=None)
    from mmengine.optim import OptimWrapper
    from tessera_core.structures import ClsDataSample as DataSample
    data = dict(inputs=[torch.rand(1, 16, 16) * 255 for _ in range(4)],
                data_samples=[DataSample().set_gt_label(i % 10) for i in range(4)])
    optim = OptimWrapper(torch.optim.SGD(net.parameters(), lr=0.1))
    net.train()
    w_thr = net.conv(net.super_convs[0]).weight_quantizer.thresholds
    a_thr = net.conv(net.super_convs[0]).act_quantizer.thresholds
    p_thr = net.gate(net.gated_blocks[0]).thresholds
    log = net.train_step(data, optim)  # iteration 0: weight gates learn, activation gates do not
    assert float(w_thr.abs().sum()) > 0 and float(a_thr.abs().sum()) == 0 and float(p_thr.abs().sum()) > 0
    assert 'loss_bops' in log and float(log['bops_ratio']) == pytest.approx(1.0)
    assert float(log['loss_bops']) == pytest.approx(math.log(net.max_bops), rel=1e-5)
    net.train_step(data, optim)  # iteration 1: activation gates
    assert float(a_thr.abs().sum()) > 0
    assert bool((w_thr >= 0).all() and (a_thr >= 0).all())
    hinge = _supernet(bops_budget=float(net.max_bops))
    assert float(hinge.bops_loss(torch.tensor(float(net.max_bops)))) == 0.0
    assert float(hinge.bops_loss(torch.tensor(2.0 * net.max_bops))) == pytest.approx(math.log(2))


def test_a_plain_model_checkpoint_loads_into_the_supernet():
    torch.manual_seed(7)
    plain = MODELS.build(CLASSIFIER)
    net = _supernet()
    net.load_state_dict(plain.state_dict(), strict=False)
    block = net.gated_blocks[0]
    assert torch.equal(net.gate(block).norm.running_var, plain.get_submodule(block).bn1.running_var)
    assert torch.equal(net.conv(net.super_convs[0]).weight, plain.get_submodule(net.super_convs[0]).weight)


def test_derived_model_from_a_search_checkpoint_keeps_its_weights_through_init_weights(tmp_path):
    torch.manual_seed(8)
    net = _supernet()
    ckpt = tmp_path / 'search.pth'
    torch.save(dict(state_dict=net.state_dict()), str(ckpt))
    supernet_cfg = dict(type='ABSSuperNet', model=CLASSIFIER, input_shape=(1, 16, 16))
    derived = MODELS.build(dict(type='ABSDerivedModel', supernet=supernet_cfg, supernet_ckpt=str(ckpt)))
    name = net.super_convs[0]
    assert torch.equal(derived.model.get_submodule(name).weight, net.conv(name).weight)
    derived.init_weights()  # what the runner calls before training
    assert torch.equal(derived.model.get_submodule(name).weight, net.conv(name).weight)


def test_derived_network_can_take_lsq_quantizers_at_the_selected_widths():
    from tessera_compression.models import LSQQuantizer
    net = _supernet()
    net.conv(net.super_convs[0]).weight_quantizer.set_gates((1, 0))
    net.conv(net.super_convs[0]).act_quantizer.set_gates((0, 0))
    derived, _ = derive_network(net, dict(type='LSQQuantizer', kind='weight'), dict(type='LSQQuantizer',
                                                                                   kind='activation'))
    conv = derived.get_submodule(net.super_convs[0])
    assert isinstance(conv.weight_quantizer, LSQQuantizer) and (conv.weight_bits, conv.act_bits) == (4, 2)
