"""GOLD-NAS: independent sigmoid gates, the resource term's gradient, the pruning schedule's exact
counts, the one-level step on one batch, and the snapshot costs against the tabular benchmark."""
import copy

import pytest
import torch
from mmengine.optim import OptimWrapper, OptimWrapperDict

from tessera_nas.benchmarks import TabularBenchmark, space
from tessera_nas.engine.gold_nas_pruner import GoldNASPruner
from tessera_nas.models.search.gold_nas_supernet import GATED_OPS, GatedCell, GoldNASSupernet


def keep_only(net: GoldNASSupernet, genotype: str) -> None:
    """Prune every gate but the op of each edge of ``genotype`` (gate set 0)."""
    ops = space.ops_of(genotype)
    drop = [e * len(GATED_OPS) + k for e, op in enumerate(ops) for k, o in enumerate(GATED_OPS) if o != op]
    net.prune(drop)


def test_gates_are_independent_sigmoids_and_an_edge_keeps_0_to_4_ops():
    torch.manual_seed(0)
    net = GoldNASSupernet()
    with torch.no_grad():
        net.alpha.fill_(3.0)  # softmax would cap an edge's total at 1; four sigmoids sum to 3.81
    assert torch.allclose(net.gates()[0].sum(-1), torch.full((6,), 4 * torch.sigmoid(torch.tensor(3.0)).item()))
    # edge 0 keeps all 4 ops, edge 1 none, edge 2 two, the others one
    keep = {0: [0, 1, 2, 3], 1: [], 2: [1, 3], 3: [2], 4: [0], 5: [3]}
    net.prune([e * 4 + k for e in range(6) for k in range(4) if k not in keep[e]])
    assert net.active[0].sum(-1).tolist() == [4, 0, 2, 1, 1, 1]
    assert not net.is_single_path()
    assert net.active_ops(0)[1] == [] and len(net.active_ops(0)[0]) == 4
    assert space.ops_of(net.derived_genotype())[1] == 'none'
    # the cell is the gated sum (eq. 1): recompute it by hand
    cell: GatedCell = net.layers[0]
    cell.eval()
    x = torch.randn(2, 8, 16, 16)
    g = torch.rand(6, 4)
    act = net.active[0]
    nodes = [x]
    for j in range(1, 4):
        out = torch.zeros_like(x)
        for e, (i, jj) in enumerate(space.EDGES):
            if jj == j:
                for k in range(4):
                    if act[e, k]:
                        out = out + g[e, k] * cell.edges[e][k](nodes[i])
        nodes.append(out)
    assert torch.allclose(cell(x, g * act, act), nodes[-1], atol=1e-6)
    # a pruned gate has no effect: changing its alpha leaves the output unchanged
    net.eval()
    y0 = net(torch.randn(2, 1, 16, 16))[0]
    torch.manual_seed(1)
    x1 = torch.randn(2, 1, 16, 16)
    y0 = net(x1)[0]
    with torch.no_grad():
        net.alpha[0, 1] += 5.0  # edge 1: all pruned
    assert torch.equal(net(x1)[0], y0)


def test_resource_gradient_on_each_gate_is_its_cost_share():
    torch.manual_seed(0)
    net = GoldNASSupernet(resource_weights=dict(flops=1.0))
    net.prune([5, 17])
    r = net.resource_penalty()
    (grad,) = torch.autograd.grad(r, net.alpha)
    c = net.gate_costs('flops')
    share = c / c.sum()
    sig = torch.sigmoid(net.alpha.detach())
    # dR/dsigmoid = share (0 on pruned gates), chained through the sigmoid
    assert torch.allclose(grad.double(), (share * sig * (1 - sig) * net.active).double(), rtol=1e-5, atol=1e-12)
    assert grad.view(-1)[5] == 0 and grad.view(-1)[17] == 0
    # conv 3x3 carries the largest share, skip_connect none (it costs no multiply-adds)
    k3, ks = GATED_OPS.index('nor_conv_3x3'), GATED_OPS.index('skip_connect')
    assert (share[0, :, k3] > 0.1).all() and (share[0, :, ks] == 0).all()
    assert torch.isclose(share.sum(), torch.tensor(1.0, dtype=share.dtype))
    # a mix: w_flops * flops share + w_count / 24
    net2 = GoldNASSupernet(resource_weights=dict(flops=0.5, count=2.0))
    (g2,) = torch.autograd.grad(net2.resource_penalty(), net2.alpha)
    s2 = torch.sigmoid(net2.alpha.detach())
    expect = (0.5 * share + 2.0 / 24) * s2 * (1 - s2)
    assert torch.allclose(g2.double(), expect.double(), rtol=1e-5)
    with pytest.raises(ValueError, match='unknown key'):
        GoldNASSupernet(resource_weights=dict(latency=1.0))


def test_snapshot_cost_equals_the_tables_params_and_macs():
    bench = TabularBenchmark.load()
    for entry in bench.sample(6, seed=3):
        net = GoldNASSupernet()
        keep_only(net, entry.genotype)
        assert net.is_single_path()
        assert space.canonical_index(net.derived_genotype()) == entry.index
        assert net.snapshot_cost() == dict(flops=entry.macs, params=entry.params), entry.genotype


def test_pruner_prunes_exactly_the_scheduled_number_and_adapts_lambda():
    pr = GoldNASPruner(num_per_step=2, threshold=0.05, lambda_init=0.1, growth=2.0)
    gates = torch.tensor([0.5, 0.01, 0.04, 0.001, 0.02, 0.3, 0.049, 0.9])
    active = torch.ones(8, dtype=torch.bool)
    active[3] = False  # already pruned: never a candidate again
    # 4 candidates below 0.05 (0.01, 0.04, 0.02, 0.049): exactly n0 = 2 pruned, the smallest
    pruned, lam = pr.step(gates, active)
    assert pruned == [1, 4]
    assert lam == 0.0 and pr.delta == 0.1  # enough pruned: lambda / c0 (0 stays 0), delta reset
    active[pruned] = False
    pruned, lam = pr.step(gates, active)
    assert pruned == [2, 6]
    active[pruned] = False
    # no candidate left: lambda ramps lambda_0 * (1, 1 + c0, 1 + c0 + c0^2)
    lams = [pr.step(gates, active)[1] for _ in range(3)]
    assert lams == pytest.approx([0.1, 0.3, 0.7]) and pr.delta == pytest.approx(0.8)
    # one candidate (< n0): it is pruned and lambda still grows
    gates[0] = 0.001
    pruned, lam = pr.step(gates, active)
    assert pruned == [0] and lam == pytest.approx(1.5)
    active[0] = False
    gates[5], gates[7] = 0.0, 0.01
    pruned, lam = pr.step(gates, active)
    assert pruned == [5, 7] and lam == pytest.approx(0.75) and pr.delta == 0.1
    with pytest.raises(ValueError, match='threshold'):
        GoldNASPruner(threshold=1.5)


def _classifier(lam):
    from tessera_nas.models import GoldNASClassifier
    torch.manual_seed(0)
    return GoldNASClassifier(
        backbone=dict(type='GoldNASSupernet', channels=4, input_size=8), neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=16, init_cfg=None, topk=(1, )),
        data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[0.0], std=[1.0]),
        resource_lambda=lam)


def test_one_level_step_updates_weights_and_architecture_on_the_same_batch():
    from tessera_core.structures import ClsDataSample
    from tessera_nas.engine import DARTSOptimWrapperConstructor
    model = _classifier(lam=2.0)
    ref = copy.deepcopy(model)
    torch.manual_seed(1)
    data = dict(inputs=[torch.randint(0, 255, (1, 8, 8), dtype=torch.uint8) for _ in range(6)],
                data_samples=[ClsDataSample().set_gt_label(int(i)) for i in torch.randint(0, 10, (6,))])
    ctor = DARTSOptimWrapperConstructor(dict(weights=dict(optimizer=dict(type='SGD', lr=0.1)),
                                             architecture=dict(optimizer=dict(type='SGD', lr=0.5))))
    wrappers = ctor(model)
    calls = []
    model.backbone.register_forward_hook(lambda m, inp, out: calls.append(inp[0].detach().clone()))
    model.train_step(data, wrappers)
    assert len(calls) == 1  # one forward pass: one batch for both
    # the expected update: gradients of CE + lambda * R on that batch, for the weights and alpha
    ref.train()
    batch = ref.data_preprocessor(data, True)
    ce, _ = ref.parse_losses(ref(batch['inputs'], batch['data_samples'], mode='loss'))
    assert torch.equal(batch['inputs'], calls[0])
    loss = ce + 2.0 * ref.backbone.resource_penalty().float()
    names = [n for n, p in ref.named_parameters() if p.requires_grad]
    grads = dict(zip(names, torch.autograd.grad(loss, [p for _, p in ref.named_parameters() if p.requires_grad],
                                                  allow_unused=True)))
    new = dict(model.named_parameters())
    old = dict(ref.named_parameters())
    a_expect = old['backbone.alpha'] - 0.5 * grads['backbone.alpha']
    assert torch.allclose(new['backbone.alpha'], a_expect, atol=1e-6)
    assert not torch.allclose(new['backbone.alpha'], old['backbone.alpha'])
    w = 'backbone.layers.0.edges.0.2.1.weight'  # edge 0 -> 1, nor_conv_3x3 of cell 0
    assert torch.allclose(new[w], old[w] - 0.1 * grads[w], atol=1e-6)
    # lambda enters the architecture gradient only: the resource term's part is lambda * share * s(1-s)
    c = ref.backbone.gate_costs('flops')
    s = torch.sigmoid(old['backbone.alpha'].detach())
    (g_ce,) = torch.autograd.grad(ref.parse_losses(ref(batch['inputs'], batch['data_samples'], mode='loss'))[0],
                                  old['backbone.alpha'])
    assert torch.allclose(grads['backbone.alpha'] - g_ce, (2.0 * c / c.sum() * s * (1 - s)).float(), atol=1e-5)


def test_train_step_rejects_a_single_optimizer():
    model = _classifier(0.0)
    opt = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    with pytest.raises(ValueError, match="'weights' and 'architecture'"):
        model.train_step(dict(inputs=[], data_samples=[]), opt)
    with pytest.raises(ValueError, match="'weights' and 'architecture'"):
        model.train_step(dict(inputs=[], data_samples=[]), OptimWrapperDict(weights=opt))


def test_table_split_indices_match_the_benchmark_recipe():
    import numpy as np
    from tessera_nas.datasets import table_split_indices
    tr, va, te = (table_split_indices(s) for s in ('train', 'valid', 'test'))
    perm = np.random.RandomState(0).permutation(60000)
    assert (tr == perm[:6000]).all() and (va == perm[6000:10000]).all() and (te == np.arange(6000)).all()
    assert not set(tr) & set(va)
    with pytest.raises(ValueError, match='table_split'):
        table_split_indices('val')
