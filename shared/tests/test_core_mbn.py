"""MBN (arXiv:2010.04947): MemorizedBatchNorm2d's memory and combination rule against brute-force
statistics of the concatenated batches, equality with BatchNorm for k = 1, the identical rule in
training and inference, the Double-Forward refresh (context manager and runner hook), building
through mmcv's build_norm_layer, state dicts, errors, and one mim train/test of the configs."""
import copy
import json
import os
import re
from types import SimpleNamespace

import pytest
import torch
from mmcv.cnn import build_norm_layer
from mmengine.config import Config
from mmengine.registry import DefaultScope
from torch import nn

import tessera_core  # noqa: F401
from tessera_core.engine.hooks import MBNDoubleForwardHook
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.models.layers import MemorizedBatchNorm2d, combine_batch_statistics, refresh_memorized_statistics
from tessera_core.registry import HOOKS, MODELS
from tessera_core.testing import run_mim

CONFIG_DIR = os.path.join(os.path.dirname(tessera_core.__file__), 'configs', 'mbn')


def _pooled(batches):
    """Brute force: mean and biased variance per channel of the batches concatenated."""
    cat = torch.cat(batches)
    return cat.mean(dim=(0, 2, 3)), cat.var(dim=(0, 2, 3), unbiased=False)


def _normalise(x, mean, var, layer):
    y = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + layer.eps)
    if layer.affine:
        y = y * layer.weight[None, :, None, None] + layer.bias[None, :, None, None]
    return y


def _random_affine(layer, seed=3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        layer.weight.copy_(torch.rand(layer.num_features, generator=g) + 0.5)
        layer.bias.copy_(torch.randn(layer.num_features, generator=g))
    return layer


def _batches(num, sizes=None, c=3, seed=0):
    """Batches with different means and scales, so that pooling visibly differs from averaging."""
    g = torch.Generator().manual_seed(seed)
    sizes = sizes or [2] * num
    return [torch.randn(n, c, 4, 5, generator=g, dtype=torch.float64) * (1 + i) + 2 * i for i, n in enumerate(sizes)]


# ---------------------------------------------------------------- the combination rule

def test_combination_equals_concatenated_batches_and_corrects_for_spread_of_means():
    batches = _batches(3, sizes=[2, 5, 3])
    means = torch.stack([b.mean(dim=(0, 2, 3)) for b in batches])
    variances = torch.stack([b.var(dim=(0, 2, 3), unbiased=False) for b in batches])
    counts = torch.tensor([b.numel() / b.shape[1] for b in batches], dtype=torch.float64)
    mean, var = combine_batch_statistics(means, variances, counts)
    ref_mean, ref_var = _pooled(batches)
    torch.testing.assert_close(mean, ref_mean)
    torch.testing.assert_close(var, ref_var)
    # the across-batch term is what makes it exact: the weighted mean of the variances alone is smaller
    w = counts / counts.sum()
    within = (w[:, None] * variances).sum(0)
    assert torch.all(within < var - 0.5)
    torch.testing.assert_close(var - within, (w[:, None] * (means - mean) ** 2).sum(0))


@pytest.mark.parametrize('k', [1, 2, 3, 5])
def test_memory_holds_the_last_k_batches(k):
    layer = MemorizedBatchNorm2d(3, memory_size=k).double().train()
    batches = _batches(7, sizes=[2, 3, 2, 4, 2, 1, 3])
    for t, b in enumerate(batches, 1):
        layer(b)
        assert int(layer.num_memorized) == t
        mean, var = layer.memorized_statistics()
        ref_mean, ref_var = _pooled(batches[max(0, t - k):t])  # fewer than k until the memory is full
        torch.testing.assert_close(mean, ref_mean)
        torch.testing.assert_close(var, ref_var)


def test_training_forward_normalises_with_current_and_k_minus_1_previous_batches_with_exact_gradient():
    layer = _random_affine(MemorizedBatchNorm2d(3, memory_size=3, gradient='exact')).double().train()
    past = _batches(4)
    for b in past:
        layer(b)
    x = (torch.randn(2, 3, 4, 5, dtype=torch.float64) * 3 - 1).requires_grad_()
    y = layer(x)
    # brute force with autograd: the two previous batches are constants, x contributes its share
    mean, var = _pooled([past[-2], past[-1], x])
    ref = _normalise(x, mean, var, layer)
    torch.testing.assert_close(y, ref)
    grad_out = torch.randn_like(y)
    params = [x, layer.weight, layer.bias]
    for got, want in zip(torch.autograd.grad(y, params, grad_out), torch.autograd.grad(ref, params, grad_out)):
        torch.testing.assert_close(got, want)


def test_gradcheck_of_the_fused_backward():
    """Numerical gradients of the training forward (memory restored before every evaluation)."""
    layer = _random_affine(MemorizedBatchNorm2d(2, memory_size=2, gradient='exact')).double().train()
    layer(torch.randn(3, 2, 3, 3, dtype=torch.float64) + 1)
    snapshot = copy.deepcopy(layer)

    def fn(x, weight, bias):
        return torch.func.functional_call(copy.deepcopy(snapshot), {'weight': weight, 'bias': bias}, (x,))

    inputs = (torch.randn(2, 2, 3, 3, dtype=torch.float64, requires_grad=True),
              layer.weight.detach().clone().requires_grad_(), layer.bias.detach().clone().requires_grad_())
    assert torch.autograd.gradcheck(fn, inputs)


def test_renorm_gradient_is_batchnorm_gradient_through_the_current_batch_with_constant_corrections():
    layer = _random_affine(MemorizedBatchNorm2d(3, memory_size=3)).double().train()
    assert layer.gradient == 'renorm'
    past = _batches(4)
    for b in past:
        layer(b)
    x = (torch.randn(2, 3, 4, 5, dtype=torch.float64) * 3 - 1).requires_grad_()
    y = layer(x)
    mean, var = _pooled([past[-2], past[-1], x.detach()])
    torch.testing.assert_close(y, _normalise(x, mean, var, layer))  # same output as the pooled rule
    # brute force of Batch Renormalization's form: x_hat_t r + d, with r and d constants
    mu_t, var_t = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
    r = (torch.sqrt(var_t + layer.eps) / torch.sqrt(var + layer.eps)).detach()
    d = ((mu_t - mean) / torch.sqrt(var + layer.eps)).detach()
    x_hat = (x - mu_t[None, :, None, None]) / torch.sqrt(var_t[None, :, None, None] + layer.eps)
    ref = (x_hat * r[None, :, None, None] + d[None, :, None, None]) * layer.weight[None, :, None, None] \
        + layer.bias[None, :, None, None]
    torch.testing.assert_close(y, ref)
    grad_out = torch.randn_like(y)
    params = [x, layer.weight, layer.bias]
    for got, want in zip(torch.autograd.grad(y, params, grad_out), torch.autograd.grad(ref, params, grad_out)):
        torch.testing.assert_close(got, want)


@pytest.mark.parametrize('gradient, invariant', [('renorm', True), ('exact', False)])
def test_only_renorm_keeps_batchnorm_invariance_of_the_input_gradient(gradient, invariant):
    """BatchNorm's input gradient has zero mean per channel and is orthogonal to the normalised
    input, so a shift or scale of the features gets no gradient; 'renorm' keeps this, 'exact'
    (the current batch's share only) does not. (Tiny eps: with eps the orthogonality is approximate.)"""
    layer = _random_affine(MemorizedBatchNorm2d(3, memory_size=3, eps=1e-12, gradient=gradient)).double().train()
    for b in _batches(4):
        layer(b)
    x = (torch.randn(2, 3, 4, 5, dtype=torch.float64) * 3 - 1).requires_grad_()
    grad_x, = torch.autograd.grad(layer(x), x, torch.randn(2, 3, 4, 5, dtype=torch.float64))
    x_hat = (x - x.mean(dim=(0, 2, 3), keepdim=True)) / x.std(dim=(0, 2, 3), keepdim=True)
    shift_grad, scale_grad = grad_x.sum(dim=(0, 2, 3)), (grad_x * x_hat).sum(dim=(0, 2, 3))
    zero = torch.zeros(3, dtype=torch.float64)
    if invariant:
        torch.testing.assert_close(shift_grad, zero)
        torch.testing.assert_close(scale_grad, zero)
    else:
        assert shift_grad.abs().min() > 1e-3 and scale_grad.abs().min() > 1e-3


def test_unknown_gradient_mode_is_an_error_listing_the_modes():
    with pytest.raises(ValueError, match="renorm.*exact"):
        MemorizedBatchNorm2d(4, gradient='full')


# ---------------------------------------------------------------- k = 1 is BatchNorm

@pytest.mark.parametrize('affine', [True, False])
def test_k1_without_double_forward_equals_batchnorm_in_train_mode(affine):
    mbn = MemorizedBatchNorm2d(4, memory_size=1, affine=affine).double().train()
    bn = nn.BatchNorm2d(4, affine=affine).double().train()
    if affine:
        _random_affine(mbn)
        bn.load_state_dict({'weight': mbn.weight.detach(), 'bias': mbn.bias.detach(), 'running_mean': bn.running_mean,
                            'running_var': bn.running_var, 'num_batches_tracked': bn.num_batches_tracked})
    for step in range(3):
        x = (torch.randn(3, 4, 5, 5, dtype=torch.float64) * (step + 1) + step).requires_grad_()
        y_mbn, y_bn = mbn(x), bn(x)
        torch.testing.assert_close(y_mbn, y_bn)
        grad_out = torch.randn_like(y_bn)
        params_mbn = [x] + ([mbn.weight, mbn.bias] if affine else [])
        params_bn = [x] + ([bn.weight, bn.bias] if affine else [])
        for got, want in zip(torch.autograd.grad(y_mbn, params_mbn, grad_out),
                             torch.autograd.grad(y_bn, params_bn, grad_out)):
            torch.testing.assert_close(got, want)


# ---------------------------------------------------------------- training rule == inference rule

def test_inference_rule_is_the_training_rule():
    layer = _random_affine(MemorizedBatchNorm2d(3, memory_size=3)).double()
    batches = _batches(5)
    layer.train()
    for b in batches:
        y_train = layer(b)
    state = {k: v.clone() for k, v in layer.state_dict().items()}
    layer.eval()
    torch.testing.assert_close(layer(batches[-1]), y_train)  # the last batch, normalised as in its step
    other = torch.randn(6, 3, 4, 5, dtype=torch.float64)
    torch.testing.assert_close(layer(other), _normalise(other, *_pooled(batches[-3:]), layer))
    for k, v in layer.state_dict().items():  # inference does not touch the memory
        torch.testing.assert_close(v, state[k])


def test_empty_memory_uses_the_input_statistics_in_eval():
    layer = MemorizedBatchNorm2d(3, memory_size=2).double().eval()
    x = torch.randn(2, 3, 4, 4, dtype=torch.float64) * 2 + 1
    torch.testing.assert_close(layer(x), _normalise(x, *_pooled([x]), layer))
    assert int(layer.num_memorized) == 0
    with pytest.raises(RuntimeError, match='empty'):
        layer.memorized_statistics()


# ---------------------------------------------------------------- Double-Forward

def _tiny_net(k=2):
    return nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), MemorizedBatchNorm2d(4, memory_size=k), nn.ReLU(),
                         nn.Conv2d(4, 4, 3, padding=1), MemorizedBatchNorm2d(4, memory_size=k)).double()


def test_refresh_replaces_the_newest_entry_with_statistics_of_the_updated_network():
    net = _tiny_net(k=3).train()
    batches = [torch.randn(2, 1, 6, 6, dtype=torch.float64) for _ in range(3)]
    for b in batches:
        net(b)
    bn1, bn2 = net[1], net[4]
    before = {name: (m.memory_mean.clone(), m.memory_var.clone()) for name, m in (('1', bn1), ('2', bn2))}
    with torch.no_grad():  # an SGD-like update changes the features of the last batch
        net[0].weight.add_(0.3)
        net[3].weight.mul_(1.5)
    with torch.no_grad(), refresh_memorized_statistics(net) as num_layers:
        net(batches[-1])
    assert num_layers == 2 and not bn1.refreshing and not bn2.refreshing
    newest = (int(bn1.num_memorized) - 1) % 3
    assert int(bn1.num_memorized) == 3 and int(bn2.num_memorized) == 3  # replaced, not added
    net.eval()  # eval mode reads the (refreshed) memory without changing it: the refresh pass's normalisation
    feats1 = net[0](batches[-1])
    feats2 = net[3](net[2](net[1](feats1)))
    for m, feats, name in ((bn1, feats1, '1'), (bn2, feats2, '2')):
        mean, var = _pooled([feats])
        torch.testing.assert_close(m.memory_mean[newest], mean.detach())
        torch.testing.assert_close(m.memory_var[newest], var.detach())
        assert not torch.allclose(m.memory_mean[newest], before[name][0][newest])
        for slot in range(3):  # older entries untouched
            if slot != newest:
                torch.testing.assert_close(m.memory_mean[slot], before[name][0][slot])


class _WrappedNet(nn.Module):
    """Stands in for an mmengine model: data_preprocessor + _run_forward."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.seen = []

    def data_preprocessor(self, data, training):
        self.seen.append(training)
        return dict(inputs=data['inputs'].double() / 10)

    def _run_forward(self, data, mode):
        assert mode == 'tensor' and not torch.is_grad_enabled()
        return self.net(data['inputs'])


def test_hook_refreshes_after_each_iteration_and_refuses_models_without_mbn():
    model = _WrappedNet(_tiny_net(k=2)).train()
    batch = dict(inputs=torch.randint(0, 255, (2, 1, 6, 6)))
    model.net(model.data_preprocessor(batch, True)['inputs'])  # the train step's first forward
    with torch.no_grad():
        model.net[0].weight.add_(0.2)
    hook = HOOKS.build(dict(type='MBNDoubleForwardHook'))
    assert isinstance(hook, MBNDoubleForwardHook)
    runner = SimpleNamespace(model=model, iter=0)
    hook.before_train(runner)
    hook.after_train_iter(runner, 0, batch)
    feats = model.net[0](batch['inputs'].double() / 10)
    torch.testing.assert_close(model.net[1].memory_mean[0], _pooled([feats])[0].detach())
    assert int(model.net[1].num_memorized) == 1 and model.seen == [True, True]
    with pytest.raises(ValueError, match='MemorizedBatchNorm2d'):
        hook.before_train(SimpleNamespace(model=nn.Sequential(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2))))
    with pytest.raises(ValueError, match='interval'):
        MBNDoubleForwardHook(interval=0)


# ---------------------------------------------------------------- building, state, errors

@pytest.mark.parametrize('scope', [None, 'tessera_core', 'mmengine'])
def test_build_norm_layer_from_any_scope(scope):
    if scope is None:
        name, layer = build_norm_layer(dict(type='MBN', memory_size=3), 8)
    else:
        with DefaultScope.overwrite_default_scope(scope):
            name, layer = build_norm_layer(dict(type='MBN', memory_size=3), 8, postfix=1)
    assert isinstance(layer, MemorizedBatchNorm2d) and name.startswith('bn')
    assert layer.memory_size == 3 and layer.num_features == 8 and layer.eps == 1e-5
    assert MODELS.get('MemorizedBatchNorm2d') is MemorizedBatchNorm2d


def test_core_resnet_with_mbn_norm_cfg():
    net = MODELS.build(dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=4,
                            norm_cfg=dict(type='MBN', memory_size=2), norm_eval=False))
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    assert len(norms) == 20 and all(isinstance(m, MemorizedBatchNorm2d) for m in norms)
    net.init_weights()
    assert all(torch.all(m.weight == 1) for m in norms)  # the BN initialiser applies to MBN
    net.train()
    out = net(torch.randn(4, 1, 16, 16))[-1]
    out.mean().backward()
    assert out.shape == (4, 32, 2, 2) and all(int(m.num_memorized) == 1 for m in norms)
    net.norm_eval = True
    net.train()
    assert not any(m.training for m in norms)


def test_state_dict_round_trip():
    layer = _random_affine(MemorizedBatchNorm2d(3, memory_size=3)).double().train()
    for b in _batches(4):
        layer(b)
    state = layer.state_dict()
    assert {'memory_mean', 'memory_var', 'memory_count', 'num_memorized', 'weight', 'bias'} <= set(state)
    clone = MemorizedBatchNorm2d(3, memory_size=3).double()
    clone.load_state_dict(state)
    x = torch.randn(2, 3, 4, 5, dtype=torch.float64)
    layer.eval(), clone.eval()
    torch.testing.assert_close(clone(x), layer(x))
    layer.train(), clone.train()
    torch.testing.assert_close(clone(x), layer(x))  # and the memory keeps rolling identically
    with pytest.raises(RuntimeError, match='memory_mean'):
        MemorizedBatchNorm2d(3, memory_size=2).double().load_state_dict(state)


@pytest.mark.parametrize('bad', [0, -2, 2.5, True, '4', None])
def test_bad_memory_size(bad):
    with pytest.raises(ValueError, match=re.escape(repr(bad))):
        MemorizedBatchNorm2d(4, memory_size=bad)


def test_bad_input_shape():
    layer = MemorizedBatchNorm2d(4)
    with pytest.raises(ValueError, match=r'\(N, 4, H, W\)'):
        layer(torch.randn(2, 3, 4, 4))
    with pytest.raises(ValueError, match=r'\(N, 4, H, W\)'):
        layer(torch.randn(2, 4, 4))


# ---------------------------------------------------------------- configs

def test_configs_differ_only_in_the_norm_layer_and_the_hook():
    bn = Config.fromfile(os.path.join(CONFIG_DIR, 'resnet18-w16_fashion-mnist-bs4.py'))
    mbn = Config.fromfile(os.path.join(CONFIG_DIR, 'resnet18-w16-mbn_fashion-mnist-bs4.py'))
    no_df = Config.fromfile(os.path.join(CONFIG_DIR, 'resnet18-w16-mbn-no-df_fashion-mnist-bs4.py'))
    assert bn.train_dataloader.batch_size == mbn.train_dataloader.batch_size == 4
    assert bn.model.backbone.norm_cfg == dict(type='BN')
    assert mbn.model.backbone.norm_cfg == no_df.model.backbone.norm_cfg == dict(type='MBN', memory_size=4)
    assert mbn.custom_hooks == [dict(type='MBNDoubleForwardHook')] and no_df.custom_hooks == []
    for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'train_dataloader', 'val_dataloader'):
        assert bn[key] == mbn[key] == no_df[key]
    mbn.model.backbone.norm_cfg = bn.model.backbone.norm_cfg
    assert mbn.model == bn.model


TINY = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=64',
        'val_dataloader.dataset.indices=50', 'test_dataloader.dataset.indices=50']


@pytest.mark.slow
def test_mbn_config_trains_and_tests_through_mim(tmp_path):
    if not os.path.isdir('/usr/share/datasets/fashion-mnist'):
        pytest.fail('/usr/share/datasets/fashion-mnist is missing: install Debian\'s dataset-fashion-mnist')
    config = 'mbn/resnet18-w16-mbn_fashion-mnist-bs4.py'
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options', *TINY]).stdout
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+accuracy/top1: [\d.]+', out)
    ckpt = safe_load(str(tmp_path / 'epoch_1.pth'), map_location='cpu')
    assert int(ckpt['state_dict']['backbone.stem.1.num_memorized']) == 16  # 64 images / batch 4
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-core', config, '--checkpoint', str(tmp_path / 'epoch_1.pth'), '--work-dir',
             str(tmp_path), '--out', str(metrics_file), '--cfg-options', *TINY])
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['accuracy/top1'] <= 100.0
