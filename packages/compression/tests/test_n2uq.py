"""N2UQ (arXiv:2111.14826): threshold-learning activation quantizer with G-STE gradients,
entropy-preserving weight quantizer; closed forms checked on hand-built inputs."""
import pytest
import torch

from tessera_compression.models import N2UQActivationQuantizer, N2UQWeightQuantizer


def _act(bits, start=0.0, lengths=None, scale_in=1.0, scale_out=1.0):
    q = N2UQActivationQuantizer(bits)
    with torch.no_grad():
        q.start.fill_(start)
        if lengths is not None:
            q.lengths.copy_(torch.as_tensor(lengths, dtype=torch.float))
        q.scale_in.fill_(scale_in)
        q.scale_out.fill_(scale_out)
    return q


def test_forward_levels_and_gste_gradients_by_hand():
    # 2 bits: N = 3 segments from s = 0.2 with lengths a = (0.4, 0.6, 1.0):
    # bounds d = 0.2, 0.6, 1.2, 2.2 and forward thresholds T = d_i + a_i / 2 = 0.4, 0.9, 1.7.
    q = _act(2, start=0.2, lengths=[0.4, 0.6, 1.0])
    unit = 2 / 3  # output level unit init_range / N
    assert torch.allclose(q.segment_bounds(), torch.tensor([0.2, 0.6, 1.2, 2.2]))
    assert torch.allclose(q.thresholds(), torch.tensor([0.4, 0.9, 1.7]))
    # below s | seg 1, above T1 | seg 2, below T2 | seg 3, above T2 | seg 3, above T3 | above the end
    x = torch.tensor([0.1, 0.5, 0.7, 1.5, 2.0, 2.5], requires_grad=True)
    upstream = torch.tensor([1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    y = q(x)
    assert torch.allclose(y, torch.tensor([0, 1, 1, 2, 3, 3]) * unit)
    (y * upstream).sum().backward()
    # dx^q/dx = 1/a_i inside segment i, 0 outside (s, s + sum a]
    assert torch.allclose(x.grad, upstream * torch.tensor([0, 1 / 0.4, 1 / 0.6, 1.0, 1.0, 0]) * unit)
    # dx^q/ds = -1/a_i: -(2/0.4 + 3/0.6 + 4/1 + 5/1) = -19
    assert q.start.grad.item() == pytest.approx(-19 * unit, rel=1e-5)
    # dx^q/da_j = -1/a_i for elements in later segments i > j, -(x - d_j)/a_j^2 for elements in j:
    # a_1: -(3/0.6 + 4 + 5) - 2 * 0.3/0.16 = -17.75
    # a_2: -(4 + 5) - 3 * 0.1/0.36 = -9.8333
    # a_3: 0 - 4 * 0.3/1 - 5 * 0.8/1 = -5.2
    expected_a = torch.tensor([-17.75, -9 - 0.3 / 0.36, -5.2]) * unit
    assert torch.allclose(q.lengths.grad, expected_a, rtol=1e-5)
    # beta_1 scales the input: sum u * x / a_i = 2*0.5/0.4 + 3*0.7/0.6 + 4*1.5 + 5*2.0 = 22
    assert q.scale_in.grad.item() == pytest.approx(22 * unit, rel=1e-5)
    # beta_2 scales the output: sum u * level = 2 + 3 + 8 + 15 + 18 = 46
    assert q.scale_out.grad.item() == pytest.approx(46 * unit, rel=1e-5)


def test_gste_boundaries_follow_the_official_strict_comparisons():
    # x == s gets no gradient (the official 'x > start'), x == end of the last segment does
    q = _act(2, start=0.0, lengths=[0.5, 0.5, 1.0])
    x = torch.tensor([0.0, 2.0], requires_grad=True)
    q(x).sum().backward()
    assert torch.allclose(x.grad, torch.tensor([0.0, 1.0 * 2 / 3]))


def _paper_surrogate(x, start, lengths, scale_in, scale_out, bits):
    """Eq. 8-9 and Lemma 2: the sum over segments of clip((x - d_i) / a_i, 0, 1), differentiated by
    autograd; forward value by eq. 2 with the midpoint thresholds of eq. 10."""
    n = 2 ** bits - 1
    xs = x * scale_in
    bounds = start + torch.cat([torch.zeros(1), lengths.cumsum(0)])
    segments = [torch.where(xs <= bounds[i], torch.zeros_like(xs),
                            torch.where(xs > bounds[i + 1], torch.ones_like(xs), (xs - bounds[i]) / lengths[i]))
                for i in range(n)]
    surrogate = torch.stack(segments).sum(0)
    thresholds = (bounds[:-1] + lengths / 2).detach()
    levels = (xs.detach()[..., None] > thresholds).sum(-1).to(xs.dtype)
    return (levels + surrogate - surrogate.detach()) * (2 / n) * scale_out


@pytest.mark.parametrize('bits', [2, 3, 4])
def test_gste_equals_the_papers_sum_of_clipped_segments_on_random_data(bits):
    n = 2 ** bits - 1
    q = _act(bits, start=-0.3, lengths=torch.rand(n) * 0.5 + 0.05, scale_in=1.3, scale_out=0.7)
    x = (torch.randn(6, 5, 7) * 1.5).requires_grad_()
    upstream = torch.randn(6, 5, 7)
    (q(x) * upstream).sum().backward()
    params = [q.start, q.lengths, q.scale_in, q.scale_out]
    ref = [p.detach().clone().requires_grad_() for p in params]
    x_ref = x.detach().clone().requires_grad_()
    y_ref = _paper_surrogate(x_ref, *ref, bits)
    assert torch.allclose(q(x), y_ref)
    (y_ref * upstream).sum().backward()
    assert torch.allclose(x.grad, x_ref.grad, atol=1e-5)
    for p, r in zip(params, ref):
        assert torch.allclose(p.grad, r.grad, rtol=1e-4, atol=1e-4), (p.grad, r.grad)


@pytest.mark.parametrize('bits', [2, 3, 4, 8])
def test_outputs_take_exactly_2_to_the_b_uniform_levels(bits):
    n = 2 ** bits - 1
    q = _act(bits, start=0.1, lengths=torch.rand(n) * 0.3 + 0.01, scale_in=0.9, scale_out=1.7)
    end = q.segment_bounds()[-1].item() / 0.9
    x = torch.linspace(-0.5, end + 0.5, 20000)
    y = q(x).detach()
    levels = y.unique()
    assert levels.numel() == 2 ** bits
    step = 1.7 * 2 / n
    assert torch.allclose(levels, torch.arange(2 ** bits) * step, atol=1e-5)  # uniform output levels
    # monotone non-decreasing staircase; integer codes reproduce it
    assert (y[1:] >= y[:-1]).all()
    lv = q.integer_levels(x)
    assert lv.codes.dtype == torch.int64 and lv.codes.min() == 0 and lv.codes.max() == n
    assert torch.allclose(lv.dequantize(), y, atol=1e-6)


def test_initialisation_is_the_uniform_quantizer_of_0_2_with_identity_gradient():
    q = N2UQActivationQuantizer(3)  # official init: s = 0, a_i = 2/7, beta = 1
    assert q.start.item() == 0 and torch.allclose(q.lengths, torch.full((7,), 2 / 7))
    x = (torch.rand(5000) * 2.6 - 0.3).requires_grad_()
    y = q(x)
    uniform = torch.clamp(torch.round(x.detach() * 7 / 2), 0, 7) * 2 / 7
    assert torch.allclose(y, uniform, atol=1e-6)
    y.sum().backward()
    inside = ((x > 0) & (x <= 2)).float()
    assert torch.allclose(x.grad, inside, atol=1e-5)  # G-STE = STE inside (0, 2] at initialisation


def test_thresholds_stay_strictly_increasing_whatever_the_lengths():
    q = _act(3, lengths=[0.3, -0.2, 0.0, 1e-5, 0.4, -1.0, 0.2])
    t = q.thresholds()
    assert (t[1:] - t[:-1] >= q.min_length - 1e-7).all()
    # lengths at or below the 1e-3 floor get no gradient (the official where(a > eps, a, eps))
    x = torch.linspace(-0.5, 2.0, 400)
    (q(x) * torch.linspace(1, 2, 400)).sum().backward()
    floored = q.lengths.detach() <= q.min_length
    assert (q.lengths.grad[floored] == 0).all() and (q.lengths.grad[~floored] != 0).any()
    # and after aggressive training steps
    q = N2UQActivationQuantizer(2)
    opt = torch.optim.SGD(q.parameters(), lr=5.0)
    for _ in range(20):
        opt.zero_grad()
        (q(torch.rand(256) * 3) * torch.randn(256)).sum().backward()
        opt.step()
        t = q.thresholds()
        assert (t[1:] > t[:-1]).all()


@pytest.mark.parametrize('bits', [2, 3, 4])
def test_weight_regularization_spreads_uniform_weights_evenly_over_all_levels(bits):
    # appendix A: W' = W / (N / 2^(n-1) * mean|W|) of a uniform symmetric filter fills [-2^n/N, 2^n/N]
    # and every one of the 2^n levels gets exactly 1 / 2^n of the weights (maximum entropy)
    n = 2 ** bits - 1
    m = 2 ** bits * 500
    row = (torch.arange(m) + 0.5) / m * 2 - 1  # evenly spread over (-1, 1), mean |w| = 0.5
    w = torch.stack([row, row * 0.01])  # two channels of different magnitude
    q = N2UQWeightQuantizer(bits)
    wq = q(w).detach()
    alpha = n / 2 ** (bits - 1) * w.abs().mean(dim=1, keepdim=True)
    assert torch.allclose(q.channel_scale(w), alpha)
    levels = alpha * (torch.arange(2 ** bits) * 2 / n - 1)  # alpha * {-1, ..., 1}
    for c in range(2):
        values, counts = wq[c].unique(return_counts=True)
        assert torch.allclose(values, levels[c], rtol=1e-5)
        assert (counts - m // 2 ** bits).abs().max() <= 1
    lv = q.integer_levels(w)
    assert lv.zero_point == n / 2 and lv.codes.min() == 0 and lv.codes.max() == n
    assert torch.allclose(lv.dequantize(), wq, rtol=1e-5, atol=1e-9)


def test_weight_quantizer_levels_formula_and_straight_through_gradient():
    torch.manual_seed(1)
    w = (torch.randn(4, 3, 3, 3) * 0.05).requires_grad_()
    q = N2UQWeightQuantizer(2)
    y = q(w)
    alpha = 1.5 * w.detach().abs().mean(dim=(1, 2, 3), keepdim=True)  # N / 2^(n-1) = 3 / 2
    normalized = w.detach() / alpha
    expected = alpha * (torch.round((normalized.clamp(-1, 1) + 1) * 1.5) / 1.5 - 1)  # paper's F_Q
    assert torch.allclose(y, expected)
    assert all(y[c].unique().numel() <= 4 for c in range(4))
    upstream = torch.randn_like(w)
    (y * upstream).sum().backward()
    # official STE on the normalized weights: dW_q/dW = 1/alpha, also outside the clipping range
    assert (normalized.abs() > 1).any()
    assert torch.allclose(w.grad, upstream / alpha, rtol=1e-5)


@pytest.mark.parametrize('cls', [N2UQActivationQuantizer, N2UQWeightQuantizer])
@pytest.mark.parametrize('bits', [0, 1, 9, 2.0, None])
def test_unsupported_bits_are_rejected_with_the_valid_values(cls, bits):
    with pytest.raises(ValueError, match=r'unsupported bits=.*valid: \[2, 3, 4, 5, 6, 7, 8\]'):
        cls(bits)


def test_bad_inputs_name_the_problem():
    with pytest.raises(ValueError, match='rank >= 2'):
        N2UQWeightQuantizer(2)(torch.randn(5))
    with pytest.raises(ValueError, match='init_range and min_length must be > 0'):
        N2UQActivationQuantizer(2, init_range=0)
