"""NormDecay (arXiv:2009.08435): exact l1 / l-inf operator norms of conv and linear layers against
the explicit matrix of the layer (built by convolving basis images), the paper's large-input closed
forms on hand-built kernels, and the norm-decay hook (subgradient = autograd of the formula, the
official momentum/overwrite rule, its effect on the norm, the mmengine config through mim)."""
import itertools
import re

import pytest
import torch
from mmengine.logging import MessageHub
from torch import nn

from tessera_core.analysis.conv_operator_norms import (conv2d_explicit_matrix, conv2d_operator_norm,
                                                      kernel_index_sets, linear_operator_norm,
                                                      matrix_operator_norm, module_operator_norm)
from tessera_core.engine.hooks import NormDecayHook
from tessera_core.registry import HOOKS
from tessera_core.testing import run_mim

NORMS = ('l1', 'linf')


def _brute(weight, size, stride=1, padding=0, dilation=1, groups=1):
    m = conv2d_explicit_matrix(weight, size, stride, padding, dilation, groups)
    return {n: matrix_operator_norm(m, n) for n in NORMS}


# ------------------------------------------------------------------ the explicit-matrix reference

def test_explicit_matrix_is_the_conv():
    """The brute-force reference really is the layer's matrix: M x == conv(x)."""
    conv = nn.Conv2d(3, 4, 3, stride=2, padding=1, bias=False).double()
    x = torch.randn(2, 3, 7, 6, dtype=torch.float64)
    m = conv2d_explicit_matrix(conv.weight, (7, 6), 2, 1)
    assert m.shape == (4 * 4 * 3, 3 * 7 * 6)
    assert torch.allclose(x.flatten(1) @ m.t(), conv(x).flatten(1))


# ------------------------------------------------------------------ formulas == brute force

@pytest.mark.parametrize('k,stride,padding', list(itertools.product((1, 3, 5), (1, 2), (0, 1, 2))))
def test_conv_norms_equal_explicit_matrix(k, stride, padding):
    """Exact norms for the input size equal the explicit matrix's, for several channel counts and
    input sizes (including inputs where border effects matter), and the paper's closed form
    (input_size=None) equals them once the input is large (12 x 11 here)."""
    g = torch.Generator().manual_seed(100 * k + 10 * stride + padding)
    for (c_in, c_out), size in zip(((1, 1), (3, 2), (2, 5)), ((k, k + 1), (7, 6), (12, 11))):
        if size[0] + 2 * padding < k:
            continue
        weight = torch.randn(c_out, c_in, k, k, generator=g, dtype=torch.float64)
        ref = _brute(weight, size, stride, padding)
        for norm in NORMS:
            ours = conv2d_operator_norm(weight, norm, stride, padding, input_size=size)
            assert torch.allclose(ours, ref[norm]), (norm, c_in, c_out, size)
            if size == (12, 11):
                assert torch.allclose(conv2d_operator_norm(weight, norm, stride, padding), ref[norm])


@pytest.mark.parametrize('stride,padding,dilation,groups,k', [
    ((2, 1), (1, 0), 1, 1, (3, 2)),      # anisotropic stride, padding and kernel
    (1, 2, 2, 1, 3),                     # dilation
    (2, 1, 1, 2, 3),                     # grouped conv
    (1, 'same', 1, 1, 4),                # 'same' with an even kernel (asymmetric padding)
    (3, 0, 1, 1, 2),                     # stride > kernel: some pixels are never read
])
def test_conv_norms_other_conv_options(stride, padding, dilation, groups, k):
    k = (k, k) if isinstance(k, int) else k
    weight = torch.randn(4, 6 // groups, *k, dtype=torch.float64)
    for size in ((5, 6), (9, 8)):
        ref = _brute(weight, size, stride, padding, dilation, groups)
        for norm in NORMS:
            assert torch.allclose(conv2d_operator_norm(weight, norm, stride, padding, dilation, groups, size),
                                  ref[norm])


def test_conv_norms_of_torch_modules_match_brute_force():
    for conv in (nn.Conv2d(3, 4, 3, 2, 1), nn.Conv2d(2, 6, 5, 1, 2, groups=2), nn.Conv2d(2, 3, 3, padding='same')):
        conv = conv.double()
        ref = _brute(conv.weight, (8, 8), conv.stride, conv.padding, conv.dilation, conv.groups)
        for norm in NORMS:
            assert torch.allclose(module_operator_norm(conv, norm, (8, 8)), ref[norm])


def test_linear_norms():
    """A fully connected layer's matrix is its weight: l1 = max column sum, l-inf = max row sum."""
    fc = nn.Linear(7, 4)
    w = torch.tensor([[1., -2., 0.], [3., 1., -1.]])
    assert linear_operator_norm(w, 'l1').item() == 4.0   # columns: 4, 3, 1
    assert linear_operator_norm(w, 'linf').item() == 5.0  # rows: 3, 5
    assert torch.allclose(module_operator_norm(fc, 'l1'), torch.linalg.matrix_norm(fc.weight, 1))
    assert torch.allclose(module_operator_norm(fc, 'linf'), torch.linalg.matrix_norm(fc.weight, float('inf')))


# ------------------------------------------------------------------ the paper's closed forms

def test_closed_forms_on_a_hand_built_kernel():
    """Kernel 1..9 (one channel): with stride 1 every position touches an interior pixel (l1 = 45);
    with stride 2 the positions split into residue classes mod 2 -- corners {1,3,7,9} = 20, edges
    {2,8} and {4,6} = 10, centre 5 -- and l1 is the largest class (20). l-inf is the full sum 45."""
    w = torch.arange(1., 10.).reshape(1, 1, 3, 3)
    assert conv2d_operator_norm(w, 'l1', stride=1).item() == 45
    assert conv2d_operator_norm(w, 'l1', stride=2).item() == 20
    assert conv2d_operator_norm(w, 'linf', stride=2).item() == 45
    assert torch.equal(kernel_index_sets(None, 3, 2)[0], torch.tensor([[True, False, True], [False, True, False]]))
    ref = _brute(w.double(), (9, 9), 2, 1)
    assert ref['l1'].item() == pytest.approx(20) and ref['linf'].item() == pytest.approx(45)


def test_multichannel_closed_form_sums_over_the_other_side():
    """l1 sums |K| over output channels for one input channel; l-inf over input channels for one
    output channel (stride 1, large input)."""
    w = torch.zeros(2, 3, 1, 1)
    w[:, :, 0, 0] = torch.tensor([[1., 2., -3.], [4., -5., 0.5]])
    assert conv2d_operator_norm(w, 'l1').item() == 7.0    # input channel 1: |2| + |-5|
    assert conv2d_operator_norm(w, 'linf').item() == 9.5  # output channel 1: 4 + 5 + 0.5


def test_small_input_with_padding_is_not_the_large_input_norm():
    """All-ones 3x3 kernel, padding 1, 2x2 input: every output pixel reads 4 in-image entries and every
    pixel is touched by 4 positions, so both norms are 4 (the large-input closed form says 9)."""
    w = torch.ones(1, 1, 3, 3, dtype=torch.float64)
    ref = _brute(w, (2, 2), 1, 1)
    for norm in NORMS:
        assert ref[norm].item() == pytest.approx(4)
        assert conv2d_operator_norm(w, norm, 1, 1, input_size=(2, 2)).item() == pytest.approx(4)
        assert conv2d_operator_norm(w, norm, 1, 1).item() == pytest.approx(9)


# ------------------------------------------------------------------ the norm-decay hook

def _tiny_model():
    return nn.Sequential(nn.Conv2d(2, 4, 3, 2, 1), nn.ReLU(), nn.Conv2d(4, 3, 5, 1, 2), nn.ReLU(),
                         nn.Flatten(), nn.Linear(3 * 4 * 4, 5))


def _registered(model, norm='l1', coeff=0.01, momentum=0.0):
    hook = NormDecayHook(norm=norm, coeff=coeff, momentum=momentum)
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)
    hook.register(model, [optimizer])
    return hook, optimizer


@pytest.mark.parametrize('norm', NORMS)
def test_hook_gradient_is_autograd_of_the_formula(norm):
    """With momentum 0 the hook adds exactly coeff * d(sum of layer norms)/dW to the gradients,
    through the optimizer's step (SGD, lr 1: the update is -(task grad + coeff * subgradient))."""
    model = _tiny_model()
    hook, optimizer = _registered(model, norm, coeff=0.01)
    x = torch.randn(3, 2, 8, 8)
    model(x).square().sum().backward()
    layers = [model[0], model[2], model[5]]
    sizes = [(8, 8), (4, 4), None]
    formula = sum(module_operator_norm(m, norm, s) for m, s in zip(layers, sizes))
    decay = torch.autograd.grad(formula, [m.weight for m in layers])
    expected = [m.weight.detach() - m.weight.grad - 0.01 * d for m, d in zip(layers, decay)]
    bias_expected = model[0].bias.detach() - model[0].bias.grad  # biases are not decayed
    optimizer.step()
    for m, e in zip(layers, expected):
        assert torch.allclose(m.weight.detach(), e, atol=1e-6)
    assert torch.allclose(model[0].bias.detach(), bias_expected)
    assert set(hook.last_norms) == {'0', '2', '5'}
    assert hook.input_sizes == {'0': (8, 8), '2': (4, 4)}
    assert all(d.abs().sum() > 0 for d in decay)


def test_hook_momentum_follows_the_official_overwrite_rule():
    """G <- mmt * G, then G[support] <- sign(W[support]) (overwrite, not add), grad += coeff * G."""
    fc = nn.Linear(3, 2, bias=False)
    hook, optimizer = _registered(fc, 'l1', coeff=0.1, momentum=0.5)
    fc.weight.data = torch.tensor([[1., -4., 2.], [-3., 1., 0.5]])  # l1: column 1 (|-4| + |1| = 5)
    fc.weight.grad = torch.zeros_like(fc.weight)
    hook.apply()
    g1 = torch.tensor([[0., -1., 0.], [0., 1., 0.]])
    assert torch.equal(hook.buffers[''], g1) and torch.allclose(fc.weight.grad, 0.1 * g1)
    fc.weight.data = torch.tensor([[-5., 1., 2.], [3., 1., 0.5]])  # now column 0 (8)
    fc.weight.grad.zero_()
    hook.apply()
    g2 = torch.tensor([[-1., -0.5, 0.], [1., 0.5, 0.]])
    assert torch.equal(hook.buffers[''], g2) and torch.allclose(fc.weight.grad, 0.1 * g2)
    assert hook.last_norms[''] == 8.0


@pytest.mark.parametrize('norm', NORMS)
def test_norm_decay_alone_lowers_the_norms(norm):
    """Only the decay term (zero task gradient): 30 SGD steps lower every layer's norm."""
    model = _tiny_model()
    hook, optimizer = _registered(model, norm, coeff=0.05, momentum=0.5)
    model(torch.randn(1, 2, 8, 8))
    before = None
    for _ in range(30):
        for p in model.parameters():
            p.grad = torch.zeros_like(p)
        optimizer.step()
        before = before or dict(hook.last_norms)
    after = {n: hook.layer_norm(n).item() for n in hook.layers}
    assert all(after[n] < before[n] - 0.1 for n in before), (before, after)


def test_hook_coeff_zero_only_records_and_logs():
    model = _tiny_model()
    hub = MessageHub.get_instance('norm_decay_test')
    hook = NormDecayHook(coeff=0.0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    hook.register(model, [optimizer], message_hub=hub)
    model(torch.randn(2, 2, 8, 8)).sum().backward()
    grads = [p.grad.clone() for p in model.parameters()]
    hook.apply()
    assert all(torch.equal(g, p.grad) for g, p in zip(grads, model.parameters()))
    assert hub.get_scalar('train/op_norm_sum').current() == pytest.approx(sum(hook.last_norms.values()))
    assert hub.get_scalar('train/op_norm_max').current() == pytest.approx(max(hook.last_norms.values()))


def test_hook_skips_frozen_unused_and_non_zero_padded_layers():
    model = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, padding_mode='reflect'), nn.Conv2d(2, 2, 3), nn.Linear(2, 2))
    hook, optimizer = _registered(model)
    assert set(hook.layers) == {'1', '2'}  # the reflect-padded conv is skipped
    model[2].weight.grad = torch.zeros(2, 2)
    assert set(hook.apply()) == {'2'}  # conv '1' never ran forward and has no grad
    hook.remove()
    assert not hook.layers and not model[1]._forward_pre_hooks


def test_registered_and_bad_arguments():
    assert HOOKS.get('NormDecayHook') is NormDecayHook
    with pytest.raises(ValueError, match=r"'l2'.*'l1', 'linf'"):
        NormDecayHook(norm='l2')
    with pytest.raises(ValueError, match='momentum'):
        NormDecayHook(momentum=1.0)
    with pytest.raises(ValueError, match='coeff'):
        NormDecayHook(coeff=-1)
    with pytest.raises(ValueError, match='nothing'):
        NormDecayHook(conv=False, linear=False)
    with pytest.raises(ValueError, match='no nn.Conv2d'):
        NormDecayHook().register(nn.ReLU(), [])
    w = torch.randn(2, 2, 3, 3)
    with pytest.raises(ValueError, match=r"'fro'.*'l1', 'linf'"):
        conv2d_operator_norm(w, 'fro')
    with pytest.raises(ValueError, match=r"'full'.*'valid', 'same'"):
        conv2d_operator_norm(w, 'l1', padding='full')
    with pytest.raises(ValueError, match='shorter than the dilated kernel'):
        conv2d_operator_norm(w, 'l1', input_size=2)
    with pytest.raises(ValueError, match='shape'):
        conv2d_operator_norm(torch.randn(2, 3), 'l1')
    with pytest.raises(ValueError, match='reflect'):
        module_operator_norm(nn.Conv2d(1, 1, 3, padding=1, padding_mode='reflect'), 'l1')
    with pytest.raises(TypeError, match='BatchNorm2d'):
        module_operator_norm(nn.BatchNorm2d(2), 'l1')


# ------------------------------------------------------------------ the config through mim

@pytest.mark.slow
def test_norm_decay_config_trains_through_mim(tmp_path):
    out = run_mim(['train', 'tessera-core', 'norm_decay/resnet18-w16_norm-decay-l1_fashion-mnist.py',
                   '--work-dir', str(tmp_path), '--cfg-options', 'train_cfg.max_epochs=1',
                   'train_dataloader.dataset.indices=256', 'val_dataloader.dataset.indices=200',
                   'train_dataloader.num_workers=0', 'train_dataloader.persistent_workers=False',
                   'val_dataloader.num_workers=0', 'val_dataloader.persistent_workers=False',
                   'default_hooks.logger.interval=1']).stdout
    sums = [float(v) for v in re.findall(r'op_norm_sum: ([\d.]+)', out)]
    assert len(sums) >= 2 and all(s > 0 for s in sums)
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+accuracy/top1: [\d.]+', out)
