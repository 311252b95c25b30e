"""LA-DARTS: the latency predictor on one-hot and relaxed encodings, the latency loss's gradient
(closed form, sign), lambda = 0 is DARTS exactly, the derived cell, and bad input refused by name."""
import itertools

import pytest
import torch

from tessera_nas.benchmarks import GenotypeError, TabularBenchmark, space
from tessera_nas.models.darts_search_classifier import DARTSSearchClassifier
from tessera_nas.models.la_darts_classifier import LADARTSClassifier
from tessera_nas.models.search.latency_predictor import LatencyPredictor, encode, fit_on_table
from tessera_nas.models.search.nb201_darts_supernet import NB201DARTSSupernet, NB201MixedCell

E, K = len(space.EDGES), len(space.OPS)
HEAD = dict(type='LinearClsHead', num_classes=10, in_channels=32, init_cfg=None, topk=(1, ))
BACKBONE = dict(type='NB201DARTSSupernet', channels=8, cells_per_stage=1, in_channels=1)


def random_predictor(hidden=(16, 16), seed=0) -> LatencyPredictor:
    torch.manual_seed(seed)
    pred = LatencyPredictor(hidden, ref_ms=0.5)
    for p in pred.parameters():
        p.requires_grad_(False)
    return pred


def lookup_predictor(costs: torch.Tensor, bias: float = 0.0, ref_ms: float = 1.0) -> LatencyPredictor:
    """The per-op lookup sum with the given (6, 5) costs in ms: ``LAT(E) = bias + sum E * costs``."""
    pred = LatencyPredictor((), ref_ms=ref_ms)
    with torch.no_grad():
        pred.f[0].weight.copy_(costs.reshape(1, -1) / ref_ms)
        pred.f[0].bias.fill_(bias / ref_ms)
    for p in pred.parameters():
        p.requires_grad_(False)
    return pred


def one_hot_alpha(ops, scale=1e4):
    return scale * encode(ops) - scale / 2


def classifier(lam=0.0, predictor=None, form='linear', **kw):
    return LADARTSClassifier(backbone=BACKBONE, head=HEAD, neck=dict(type='GlobalAveragePooling'),
                             latency_predictor=predictor or random_predictor(), latency_lambda=lam,
                             latency_form=form, **kw)


def batch(n=8, seed=0):
    from tessera_core.structures import ClsDataSample
    g = torch.Generator().manual_seed(seed)
    samples = [ClsDataSample().set_gt_label(int(torch.randint(10, (1, ), generator=g))) for _ in range(n)]
    return dict(inputs=torch.randn(n, 1, 16, 16, generator=g), data_samples=samples)


# ------------------------------------------------------------------------------------ predictor
def test_encoding_is_one_hot_per_edge_and_rejects_unknown_ops_by_name():
    cell = '|nor_conv_3x3~0|+|skip_connect~0|none~1|+|avg_pool_3x3~0|nor_conv_1x1~1|nor_conv_3x3~2|'
    enc = encode(cell)
    assert enc.shape == (E, K) and torch.equal(enc.sum(-1), torch.ones(E))
    assert [space.OPS[int(k)] for k in enc.argmax(-1)] == list(space.parse(cell))
    with pytest.raises(GenotypeError, match="'sep_conv_3x3' on edge 0->1"):
        encode(('sep_conv_3x3', 'none', 'none', 'none', 'none', 'none'))
    with pytest.raises(GenotypeError, match='conv_5x5'):
        encode('|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|')
    with pytest.raises(GenotypeError, match='conv_5x5'):
        random_predictor().predict('|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|')


def test_expected_latency_on_one_hot_weights_is_the_prediction_of_that_cell():
    pred = random_predictor()
    model = classifier(predictor=pred)
    for idx in (0, 1234, 15624, 7777):
        ops = space.ops_of(idx)
        with torch.no_grad():
            model.backbone.alpha.copy_(one_hot_alpha(ops))
        assert torch.equal(model.arch_probs(), encode(ops))  # softmax is exactly one-hot here
        assert float(model.expected_latency()) == pytest.approx(pred.predict(idx), rel=0, abs=1e-6)
        assert model.derived_genotype() == space.to_str(ops)


def test_lookup_predictor_on_relaxed_weights_is_the_exact_expectation_over_all_cells():
    torch.manual_seed(0)
    pred = lookup_predictor(torch.rand(E, K), bias=0.2)
    probs = torch.softmax(torch.randn(E, K), -1)
    cells = torch.tensor(list(itertools.product(range(K), repeat=E)))  # all 15,625 cells
    p_cell = probs[torch.arange(E), cells].prod(-1)
    lat = pred(torch.nn.functional.one_hot(cells, K).float())
    total = float((p_cell * lat).sum())
    assert float(pred(probs)) == pytest.approx(total, rel=1e-5)


def test_predictor_fitted_on_the_table_ranks_held_out_cells():
    bench = TabularBenchmark.load()
    pred, rep = fit_on_table(bench, hidden=(), holdout=100, steps=1500)
    held = rep['heldout']
    assert rep['num_train'] == 400 and held['n'] == 100 and len(set(rep['heldout_indices'])) == 100
    assert held['kendall_tau'] > 0.8 and held['mean_rel_err'] < 0.1
    assert float(pred.ref_ms) == pytest.approx(sum(e.latency_ms for e in bench if e.index not in
                                                   rep['heldout_indices']) / 400)


def test_predictor_refuses_an_op_it_never_saw_on_an_edge():
    cells = [c for c in TabularBenchmark.load().indices if space.ops_of(c)[0] != 'avg_pool_3x3'][:50]
    pred = LatencyPredictor(()).fit(cells, [0.5] * len(cells), steps=10)
    with pytest.raises(ValueError, match="op 'avg_pool_3x3' on edge 0->1 never occurs"):
        pred.predict(('avg_pool_3x3',) + space.ops_of(cells[0])[1:])


# ------------------------------------------------------------------------------- latency loss
def test_latency_gradient_closed_form_and_sign_in_a_two_op_case():
    """Every edge holds only conv3x3 (1 ms) and skip (0 ms) (the other ops at alpha = -30): the loss
    lambda * LAT / ref has d/dalpha_conv = lambda p_c p_s (c_conv - c_skip) / ref > 0 and the opposite
    for skip, so descent moves every edge towards the faster op and the expected latency falls."""
    costs = torch.zeros(E, K)
    conv, skip = space.OPS.index('nor_conv_3x3'), space.OPS.index('skip_connect')
    costs[:, conv] = 1.0
    lam, ref = 0.3, 2.0
    model = classifier(lam, lookup_predictor(costs, ref_ms=ref))
    alpha = torch.full((E, K), -30.0)
    alpha[:, conv] = torch.linspace(-1, 1, E)
    alpha[:, skip] = 0.0
    with torch.no_grad():
        model.backbone.alpha.copy_(alpha)
    loss, lat = model.latency_loss()
    (g, ) = torch.autograd.grad(lam * loss, model.arch_parameters())
    p = torch.softmax(alpha, -1)
    expected = lam * p[:, conv] * p[:, skip] * 1.0 / ref
    assert torch.allclose(g[:, conv], expected, atol=1e-7) and torch.allclose(g[:, skip], -expected, atol=1e-7)
    assert (g[:, conv] > 0).all() and (g[:, skip] < 0).all()
    before = float(lat)
    with torch.no_grad():
        model.backbone.alpha.sub_(1.0 * g)
    assert float(model.expected_latency()) < before
    # the log form: d log(LAT) = dLAT / LAT, same sign
    model.latency_form = 'log'
    loss_log, lat_log = model.latency_loss()
    (g_log, ) = torch.autograd.grad(loss_log, model.arch_parameters())
    (g_lin, ) = torch.autograd.grad(model.expected_latency(), model.arch_parameters())
    assert torch.allclose(g_log, g_lin / lat_log.detach(), atol=1e-7)


def test_lambda_zero_is_darts_architecture_gradient_exactly_and_lambda_adds_the_latency_gradient():
    torch.manual_seed(0)
    pred = random_predictor()
    la0 = classifier(0.0, pred)
    la = classifier(0.7, pred)
    darts = DARTSSearchClassifier(backbone=BACKBONE, head=HEAD, neck=dict(type='GlobalAveragePooling'))
    darts.load_state_dict(la0.state_dict(), strict=False)
    la.load_state_dict(la0.state_dict())
    for m in (la0, la, darts):
        m.train()
    b = batch()
    opt = torch.optim.SGD(darts.parameters(), lr=0.1)

    def grads(model):
        torch.manual_seed(1)
        return model.architecture_gradient(b, b, opt)[0][0]

    g_darts, g0, g_lam = grads(darts), grads(la0), grads(la)
    assert torch.equal(g0, g_darts)
    loss, _ = la.latency_loss()
    (g_lat, ) = torch.autograd.grad(0.7 * loss, la.arch_parameters())
    assert torch.allclose(g_lam - g_darts, g_lat, atol=1e-6) and g_lat.abs().max() > 0


# ------------------------------------------------------------------------------ supernet
def test_supernet_derived_cell_is_the_argmax_per_edge_including_none():
    net = NB201DARTSSupernet()
    alpha = torch.randn(E, K)
    alpha[3] = torch.tensor([5.0, 0, 0, 0, 0])  # edge 0->3: none wins
    with torch.no_grad():
        net.alpha.copy_(alpha)
    ops = [space.OPS[int(k)] for k in alpha.argmax(-1)]
    assert net.genotype() == space.to_str(ops) and space.ops_of(net.genotype())[3] == 'none'
    assert net.arch_parameters() == [net.alpha] and all(p is not net.alpha for p in net.weight_parameters())
    assert net(torch.randn(2, 1, 16, 16))[0].shape == (2, 32, 4, 4)


def test_mixed_cell_with_one_hot_weights_is_the_discrete_cell():
    torch.manual_seed(0)
    cell = NB201MixedCell(8).eval()
    ops = ('nor_conv_3x3', 'skip_connect', 'none', 'avg_pool_3x3', 'nor_conv_1x1', 'nor_conv_3x3')
    x = torch.randn(2, 8, 8, 8)
    nodes = [x]
    for j in range(1, space.NUM_NODES):
        out = torch.zeros_like(x)
        for e, (i, jj) in enumerate(space.EDGES):
            if jj == j and ops[e] != 'none':
                out = out + cell.edges[e][ops[e]](nodes[i])
        nodes.append(out)
    assert torch.allclose(cell(x, encode(ops)), nodes[-1], atol=1e-6)


# ------------------------------------------------------------------------------- bad input
def test_bad_lambda_form_or_backbone_refused_by_name():
    with pytest.raises(ValueError, match='latency_lambda must be a number >= 0, got -0.1'):
        classifier(-0.1)
    with pytest.raises(ValueError, match='latency_lambda'):
        classifier(float('nan'))
    with pytest.raises(ValueError, match="unknown latency_form 'square'; valid: \\['linear', 'log'\\]"):
        classifier(0.1, form='square')
    with pytest.raises(ValueError, match="latency_predictor has unknown key\\(s\\) \\['hiden'\\]"):
        LADARTSClassifier(backbone=BACKBONE, head=HEAD, latency_predictor=dict(hiden=(8, )))
    with pytest.raises(ValueError, match='expects \\(\\.\\.\\., 6 edges, 5 ops'):
        random_predictor()(torch.zeros(6, 4))
