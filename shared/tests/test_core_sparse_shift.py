"""Sparse Shift Layer (arXiv:1903.05285): integer shifts against a brute-force roll, bilinear shifts against
grid_sample, the L1 penalty's gradient, quantisation-aware learning, quantisation and its states."""
import copy

import pytest
import torch
import torch.nn.functional as F

from tessera_core.models.layers import SparseShift2d, bilinear_shift, integer_shift, sparse_shift_statistics


def _brute_force_shift(x, shift):
    """Per channel: torch.roll by (a, b), then zero the rows/columns that wrapped around."""
    out = torch.zeros_like(x)
    h, w = x.shape[-2:]
    for c in range(x.shape[1]):
        a, b = int(shift[c, 0]), int(shift[c, 1])
        y = torch.roll(x[:, c], shifts=(a, b), dims=(-2, -1))
        if a > 0:
            y[:, :a] = 0
        elif a < 0:
            y[:, h + a:] = 0
        if b > 0:
            y[:, :, :b] = 0
        elif b < 0:
            y[:, :, w + b:] = 0
        out[:, c] = y
    return out


def _grid_sample_shift(x, d):
    """Reference bilinear shift: y(i, j) = x(i - a, j - b), zero outside, via grid_sample per channel."""
    n, c, h, w = x.shape
    ii, jj = torch.meshgrid(torch.arange(h, dtype=x.dtype), torch.arange(w, dtype=x.dtype), indexing='ij')
    src_i = ii[None] - d[:, 0, None, None]
    src_j = jj[None] - d[:, 1, None, None]
    grid = torch.stack([2 * src_j / (w - 1) - 1, 2 * src_i / (h - 1) - 1], -1)  # (C, H, W, 2), (x, y) order
    # channels as the batch of grid_sample (each its own grid), the N images as its channels
    out = F.grid_sample(x.transpose(0, 1), grid, mode='bilinear', padding_mode='zeros', align_corners=True)
    return out.transpose(0, 1)


def test_integer_shift_equals_brute_force_roll_with_zero_padding():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(3, 9, 7, 6, generator=g)
    shift = torch.randint(-4, 5, (9, 2), generator=g)
    shift[0] = torch.tensor([0, 0])
    shift[1] = torch.tensor([7, -6])  # moves everything out of the map
    y = integer_shift(x, shift)
    assert torch.equal(y, _brute_force_shift(x, shift))
    assert torch.equal(y[:, 0], x[:, 0]) and (y[:, 1] == 0).all()
    # and the conv formulation used in training agrees on integer displacements
    assert torch.allclose(bilinear_shift(x, shift.float()), y, atol=1e-6)


def test_bilinear_shift_matches_grid_sample():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(2, 5, 8, 7, generator=g, dtype=torch.float64)
    d = (torch.rand(5, 2, generator=g, dtype=torch.float64) - 0.5) * 5  # |d| up to 2.5 px
    ref = _grid_sample_shift(x, d)
    assert torch.allclose(bilinear_shift(x, d), ref, atol=1e-10)


def test_bilinear_gradient_wrt_displacement_is_finite_difference():
    g = torch.Generator().manual_seed(2)
    x = torch.randn(1, 3, 6, 6, generator=g, dtype=torch.float64)
    d = torch.tensor([[0.3, -0.6], [1.2, 0.7], [-1.4, -0.2]], dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda dd: bilinear_shift(x, dd), (d,))


def test_penalty_gradient_pulls_displacements_to_zero():
    lam, lr = 0.05, 1.0
    layer = SparseShift2d(4, penalty_weight=lam)
    d0 = torch.tensor([[0.8, -0.9], [0.3, -0.4], [-0.7, 0.6], [0.55, 0.95]])
    layer.displacement.data.copy_(d0)
    x = torch.randn(2, 4, 5, 5)
    layer.train()
    (layer(x).sum() * 0).backward()  # no task gradient: only the penalty acts
    assert torch.allclose(layer.displacement.grad, lam * torch.sign(d0))  # d(lam * |d|_1)/dd
    assert torch.isclose(layer.penalty(), lam * d0.abs().sum())
    opt = torch.optim.SGD([layer.displacement], lr=lr)
    for _ in range(5):
        opt.zero_grad()
        (layer(x).sum() * 0).backward()
        opt.step()
    d = layer.displacement.detach()
    # every component moved towards 0 by 5 * lam * lr (none crossed zero yet)
    assert torch.allclose(d.abs(), d0.abs() - 5 * lam * lr)
    assert (d.abs() < d0.abs()).all()
    # so more channels round to the zero shift than before
    assert layer.zero_shift_ratio() > ((torch.round(d0) == 0).all(1)).float().mean()
    # a copy (validation, EMA) keeps the penalty
    twin = copy.deepcopy(layer)
    twin.displacement.grad = None
    (twin(x).sum() * 0).backward()
    assert torch.allclose(twin.displacement.grad, lam * torch.sign(d))


def test_quant_aware_forward_is_rounded_shift_and_gradient_is_bilinear():
    torch.manual_seed(3)
    qa = SparseShift2d(6, penalty_weight=0.0, train_mode='quant_aware').train()
    bl = SparseShift2d(6, penalty_weight=0.0, train_mode='bilinear').train()
    bl.displacement.data.copy_(qa.displacement.data)
    x = torch.randn(2, 6, 7, 7, requires_grad=True)
    y = qa(x)
    assert torch.allclose(y, _brute_force_shift(x.detach(), torch.round(qa.displacement.detach())), atol=1e-6)
    w = torch.randn_like(y)
    (y * w).sum().backward()
    gx_qa = x.grad.clone()
    x.grad = None
    (bl(x) * w).sum().backward()
    # displacement: the bilinear gradient at the real value (straight-through on the rounding)
    assert torch.allclose(qa.displacement.grad, bl.displacement.grad, atol=1e-5)
    # input: the adjoint of the integer shift (shift back by -round(d), zero padded)
    back = _brute_force_shift(w, -torch.round(qa.displacement.detach()))
    assert torch.allclose(gx_qa, back, atol=1e-6)


def test_quantize_needs_a_trained_layer_and_names_the_state():
    layer = SparseShift2d(4)
    assert layer.state == 'untrained'
    with pytest.raises(RuntimeError, match="in state 'untrained'"):
        layer.quantize()
    layer.eval()(torch.randn(1, 4, 5, 5))  # an eval forward is not training
    assert layer.state == 'untrained'
    layer.train()(torch.randn(1, 4, 5, 5))
    assert layer.state == 'trained'
    layer.quantize()
    assert layer.state == 'quantized'
    with pytest.raises(RuntimeError, match="in state 'quantized'"):
        layer.quantize()
    with pytest.raises(RuntimeError, match="state 'quantized'"):
        layer.train()(torch.randn(1, 4, 5, 5))


@pytest.mark.parametrize('train_mode', ['quant_aware', 'bilinear'])
def test_integer_inference_equals_trained_layer_after_quantisation(train_mode):
    torch.manual_seed(4)
    layer = SparseShift2d(8, stride=1, penalty_weight=1e-3, init_range=2.0, train_mode=train_mode)
    opt = torch.optim.SGD(layer.parameters(), lr=0.5)
    target = torch.randn(4, 8, 9, 9)
    for _ in range(3):
        x = torch.randn(4, 8, 9, 9)
        opt.zero_grad()
        ((layer.train()(x) - target) ** 2).mean().backward()
        opt.step()
    d = layer.displacement.detach().clone()
    assert (d != torch.round(d)).all()  # real displacements: quantisation really rounds
    x = torch.randn(2, 8, 9, 9)
    ref = bilinear_shift(x, torch.round(d))  # the trained layer with its displacements quantised
    with torch.no_grad():
        before = layer.eval()(x)
    layer.quantize()
    assert torch.equal(layer.quantized_shift, torch.round(d).long())
    with torch.no_grad():
        after = layer(x)
    assert torch.allclose(after, ref, atol=1e-6)
    assert torch.equal(after, _brute_force_shift(x, torch.round(d)))
    if train_mode == 'quant_aware':  # the trained forward already was the integer shift
        assert torch.allclose(before, after, atol=1e-6)
    # the state travels with the checkpoint
    fresh = SparseShift2d(8, train_mode=train_mode)
    fresh.load_state_dict(layer.state_dict())
    assert fresh.state == 'quantized' and torch.equal(fresh.eval()(x), after)


def test_stride_and_zero_shift_share():
    layer = SparseShift2d(5, stride=2)
    layer.displacement.data.copy_(torch.tensor([[0.2, -0.4], [0.6, 0.0], [0.0, 0.0], [-1.7, 2.2], [0.49, 0.49]]))
    x = torch.randn(2, 5, 7, 8)
    y = layer.eval()(x)
    assert y.shape == (2, 5, 4, 4)
    assert torch.allclose(y, _brute_force_shift(x, torch.round(layer.displacement.detach()))[:, :, ::2, ::2],
                          atol=1e-6)
    assert layer.zero_shift_ratio() == pytest.approx(3 / 5)
    stats = sparse_shift_statistics(torch.nn.Sequential(layer, SparseShift2d(3)))
    assert stats['layers'] == 2 and stats['channels'] == 8


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="invalid train_mode 'round'"):
        SparseShift2d(4, train_mode='round')
    with pytest.raises(ValueError, match='invalid stride 3'):
        SparseShift2d(4, stride=3)
    with pytest.raises(ValueError, match=r'expects \(N, 4, H, W\)'):
        SparseShift2d(4)(torch.randn(1, 3, 5, 5))
    with pytest.raises(ValueError, match='no SparseShift2d'):
        sparse_shift_statistics(torch.nn.Conv2d(1, 1, 1))
