"""LSQ (arXiv:1902.08153): quantization levels, step-size gradient (eq. 3 with the gradient
scale), straight-through estimator, step initialisation, bit-width validation."""
import math

import pytest
import torch

from tessera_compression.models import SUPPORTED_BITS, LSQQuantizer, quant_range


def _fixed(bits, kind, step, signed=None):
    q = LSQQuantizer(bits, kind=kind, signed=signed)
    with torch.no_grad():
        q.step_size.fill_(step)
    q.initialized.fill_(True)
    return q


@pytest.mark.parametrize('bits', SUPPORTED_BITS)
def test_integer_ranges(bits):
    assert quant_range(bits, signed=True) == (2 ** (bits - 1), 2 ** (bits - 1) - 1)
    assert quant_range(bits, signed=False) == (0, 2 ** bits - 1)
    w = LSQQuantizer(bits, kind='weight')
    a = LSQQuantizer(bits, kind='activation')
    assert w.signed and (w.q_n, w.q_p) == quant_range(bits, True)
    assert not a.signed and (a.q_n, a.q_p) == quant_range(bits, False)


@pytest.mark.parametrize('bits', [2, 3, 4, 8])
@pytest.mark.parametrize('kind', ['weight', 'activation'])
def test_outputs_are_integer_multiples_of_the_step(bits, kind):
    step = 0.037
    q = _fixed(bits, kind, step)
    # dense over the range and beyond it on both sides, shuffled into a (batch, features) tensor
    x = torch.linspace(-(q.q_n + 3) * step, (q.q_p + 3) * step, 64 * 300)[torch.randperm(64 * 300)]
    x = x.reshape(64, 300)
    y = q(x)
    codes = y / step
    assert torch.allclose(codes, codes.round(), atol=1e-4)
    codes = codes.round()
    assert codes.min() >= -q.q_n and codes.max() <= q.q_p
    assert codes.unique().numel() <= 2 ** bits
    # every level is reached by data spread over the whole range, and nothing else
    assert set(codes.unique().tolist()) == set(range(-q.q_n, q.q_p + 1))
    expected = step * torch.clamp(torch.round(x / step), -q.q_n, q.q_p)
    assert torch.allclose(y, expected, atol=1e-6)


def test_step_gradient_matches_eq3_unsigned_by_hand():
    # 2-bit unsigned: Q_N = 0, Q_P = 3; s = 0.5. v / s = [-2, 0.2, 0.6, 1.48, 2.4, 4.0].
    # eq. 3 terms: -Q_N = 0 (below), -0.2 + 0, -0.6 + 1, -1.48 + 1, -2.4 + 2, Q_P = 3 (above).
    q = _fixed(2, 'activation', 0.5)
    v = torch.tensor([[-1.0, 0.1, 0.3, 0.74, 1.2, 2.0]], requires_grad=True)
    q(v).sum().backward()
    terms = [0.0, -0.2, 0.4, -0.48, -0.4, 3.0]
    g = 1 / math.sqrt(6 * 3)  # N = 6 features of the one example, Q_P = 3
    assert q.grad_scale_factor(v) == pytest.approx(g)
    assert q.step_size.grad.item() == pytest.approx(g * sum(terms), rel=1e-5)


def test_step_gradient_matches_eq3_signed_by_hand():
    # 3-bit signed: Q_N = 4, Q_P = 3; s = 0.25. v / s = [-6, -3.6, -0.8, 0.4, 2.6, 3.2].
    q = _fixed(3, 'weight', 0.25)
    v = torch.tensor([[-1.5, -0.9, -0.2], [0.1, 0.65, 0.8]], requires_grad=True)
    upstream = torch.tensor([[1.0, 2.0, -1.0], [0.5, 1.0, 3.0]])
    (q(v) * upstream).sum().backward()
    terms = [-4.0, 3.6 - 4.0, 0.8 - 1.0, -0.4 + 0.0, -2.6 + 3.0, 3.0]
    g = 1 / math.sqrt(6 * 3)  # N = 6 weights, Q_P = 3
    expected = g * sum(t * u for t, u in zip(terms, upstream.flatten().tolist()))
    assert q.step_size.grad.item() == pytest.approx(expected, rel=1e-5)


def test_step_gradient_matches_eq3_on_random_data():
    bits, step = 4, 0.11
    q = _fixed(bits, 'activation', step)
    v = (torch.randn(8, 3, 5, 5) * 0.8).requires_grad_()
    upstream = torch.randn_like(v)
    (q(v) * upstream).sum().backward()
    r = v.detach() / step
    inside = (r > -q.q_n) & (r < q.q_p)
    term = torch.where(inside, r.round() - r, torch.where(r <= -q.q_n, torch.full_like(r, -q.q_n),
                                                          torch.full_like(r, q.q_p)))
    g = 1 / math.sqrt(3 * 5 * 5 * q.q_p)  # activations: N = features of one example
    assert q.step_size.grad.item() == pytest.approx(g * (term * upstream).sum().item(), rel=1e-4)


def test_ste_passes_gradient_inside_the_range_and_zeroes_it_outside():
    q = _fixed(2, 'weight', 1.0)  # codes -2 .. 1
    v = torch.tensor([-3.0, -2.5, -1.7, -0.2, 0.4, 0.9, 1.6, 4.0], requires_grad=True)
    upstream = torch.arange(1.0, 9.0)
    (q(v) * upstream).sum().backward()
    inside = torch.tensor([0, 0, 1, 1, 1, 1, 0, 0], dtype=torch.float)
    assert torch.equal(v.grad, upstream * inside)


def test_step_is_initialised_from_the_first_batch_only():
    q = LSQQuantizer(4, kind='activation')
    assert not bool(q.initialized)
    x1 = torch.rand(16, 10) * 2
    q(x1)
    assert bool(q.initialized)
    assert q.step_size.item() == pytest.approx(2 * x1.abs().mean().item() / math.sqrt(15), rel=1e-6)
    q(torch.rand(16, 10) * 100)
    assert q.step_size.item() == pytest.approx(2 * x1.abs().mean().item() / math.sqrt(15), rel=1e-6)
    w = torch.randn(32, 16, 3, 3)
    qw = LSQQuantizer(3, kind='weight')
    qw(w)
    assert qw.step_size.item() == pytest.approx(2 * w.abs().mean().item() / math.sqrt(3), rel=1e-6)


def test_learned_step_survives_a_state_dict_round_trip():
    q = LSQQuantizer(4, kind='weight')
    q(torch.randn(10, 10))
    state = q.state_dict()
    assert set(state) == {'step_size', 'initialized'}
    fresh = LSQQuantizer(4, kind='weight')
    fresh.load_state_dict(state)
    assert bool(fresh.initialized) and fresh.step_size.item() == q.step_size.item()
    fresh(torch.randn(10, 10) * 50)  # not re-initialised
    assert fresh.step_size.item() == q.step_size.item()


@pytest.mark.parametrize('bits', [1, 9, 16, 0, 4.0, '4', None, True])
def test_unsupported_bit_widths_are_rejected_with_the_valid_values(bits):
    with pytest.raises(ValueError, match=r'valid: \[2, 3, 4, 5, 6, 7, 8\]'):
        LSQQuantizer(bits)


def test_unknown_kind_and_missing_batch_dimension():
    with pytest.raises(ValueError, match=r"valid: \['weight', 'activation'\]"):
        LSQQuantizer(4, kind='bias')
    with pytest.raises(ValueError, match='batch dimension'):
        LSQQuantizer(4, kind='activation')(torch.randn(5))
