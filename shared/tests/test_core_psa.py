"""PSA (arXiv:2107.00782): PolarizedSelfAttention's two branches against the paper's equations
written out with torch ops and against hand-derived closed forms, both layouts, exact parameter
counts, the polarisation invariants, gradients, building as an mmcv plugin (also inside mmdet's
ResNet), and errors."""
import json
import os
import re

import pytest
import torch
import torch.nn.functional as F
from mmcv.cnn import build_plugin_layer
from mmengine.config import Config
from mmengine.registry import DefaultScope

import tessera_core  # noqa: F401
from tessera_core.models.plugins import PolarizedSelfAttention
from tessera_core.registry import MODELS
from tessera_core.testing import run_mim


def _randomise(psa, seed=0):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in psa.parameters():
            p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * 0.7)
    return psa


def _w(conv):
    return conv.weight[:, :, 0, 0]


def _channel_reference(psa, x):
    """Eq. 1 written out: sigmoid(LN(W_z (W_v x) softmax_HW(W_q x))) per sample."""
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    v = torch.einsum('oc,ncp->nop', _w(psa.ch_wv), flat)                 # (N, C/2, HW)
    q = torch.softmax(torch.einsum('oc,ncp->nop', _w(psa.ch_wq), flat)[:, 0], dim=-1)  # (N, HW)
    z = torch.einsum('nop,np->no', v, q)                                 # (N, C/2)
    z = torch.einsum('co,no->nc', _w(psa.ch_wz), z)                      # (N, C)
    z = F.layer_norm(z, (c,), psa.ch_ln.weight, psa.ch_ln.bias, psa.ch_ln.eps)
    return torch.sigmoid(z)[:, :, None, None]


def _spatial_reference(psa, x):
    """Eq. 3 written out: sigmoid(softmax_C(GAP(W_q x)) (W_v x)) per pixel."""
    n, c, h, w = x.shape
    flat = x.reshape(n, c, h * w)
    q = torch.softmax(torch.einsum('oc,ncp->nop', _w(psa.sp_wq), flat).mean(-1), dim=-1)  # (N, C/2)
    v = torch.einsum('oc,ncp->nop', _w(psa.sp_wv), flat)                 # (N, C/2, HW)
    return torch.sigmoid(torch.einsum('no,nop->np', q, v)).reshape(n, 1, h, w)


# ---------------------------------------------------------------- the equations

@pytest.mark.parametrize('c', [2, 5, 8])
def test_branches_equal_the_paper_equations(c):
    psa = _randomise(PolarizedSelfAttention(c)).double()
    x = torch.randn(3, c, 4, 6, dtype=torch.float64)
    torch.testing.assert_close(psa.channel_attention(x), _channel_reference(psa, x))
    torch.testing.assert_close(psa.spatial_attention(x), _spatial_reference(psa, x))


def test_layouts_compose_the_branches_as_eqs_4_and_5():
    x = torch.randn(2, 6, 5, 5, dtype=torch.float64)
    par = _randomise(PolarizedSelfAttention(6, layout='parallel')).double()
    seq = _randomise(PolarizedSelfAttention(6, layout='sequential')).double()
    torch.testing.assert_close(par(x), _channel_reference(par, x) * x + _spatial_reference(par, x) * x)
    z_ch = _channel_reference(seq, x) * x
    torch.testing.assert_close(seq(x), _spatial_reference(seq, z_ch) * z_ch)
    assert not torch.allclose(par(x), seq(x))  # same weights (same seed): the layouts do differ
    for branches, ref in (('channel_only', lambda m: _channel_reference(m, x) * x),
                          ('spatial_only', lambda m: _spatial_reference(m, x) * x)):
        for layout in ('parallel', 'sequential'):
            m = _randomise(PolarizedSelfAttention(6, layout=layout, branches=branches)).double()
            torch.testing.assert_close(m(x), ref(m))


def test_hand_built_closed_forms():
    """With W_q = 0 both softmaxes are uniform: A_ch = sigmoid(LN(W_z mean_HW(W_v x))) and
    A_sp = sigmoid(mean_c'(W_v x)); checked on a 2-channel, 1 x 2 input computed by hand."""
    psa = PolarizedSelfAttention(2).double()
    with torch.no_grad():
        psa.ch_wq.weight.zero_()
        psa.sp_wq.weight.zero_()
        psa.ch_wv.weight.copy_(torch.tensor([1.0, 2.0]).view(1, 2, 1, 1))     # v = x0 + 2 x1
        psa.ch_wz.weight.copy_(torch.tensor([3.0, -1.0]).view(2, 1, 1, 1))    # z = (3 m, -m)
        psa.ch_ln.weight.copy_(torch.tensor([1.0, 2.0]))
        psa.ch_ln.bias.copy_(torch.tensor([0.5, 0.0]))
        psa.sp_wv.weight.copy_(torch.tensor([1.0, -1.0]).view(1, 2, 1, 1))    # v = x0 - x1
    x = torch.tensor([[[[1.0, 3.0]], [[2.0, 0.0]]]], dtype=torch.float64)  # (1, 2, 1, 2)
    # channel branch: v = (5, 3), mean 4, W_z -> (12, -4); LayerNorm of (12, -4) = (1, -1) (eps aside)
    ln = torch.tensor([12.0, -4.0]) - 4.0
    ln = ln / torch.sqrt((ln ** 2).mean() + psa.ch_ln.eps)
    a_ch = torch.sigmoid(ln * torch.tensor([1.0, 2.0]) + torch.tensor([0.5, 0.0])).double()
    torch.testing.assert_close(psa.channel_attention(x).flatten(), a_ch)
    torch.testing.assert_close(a_ch, torch.sigmoid(torch.tensor([1.5, -2.0], dtype=torch.float64)), atol=1e-5, rtol=0)
    # spatial branch: one value channel (C/2 = 1), softmax over it = 1: A_sp = sigmoid(x0 - x1) = sigmoid(-1, 3)
    torch.testing.assert_close(psa.spatial_attention(x).flatten(),
                               torch.sigmoid(torch.tensor([-1.0, 3.0], dtype=torch.float64)))
    torch.testing.assert_close(psa(x), a_ch.view(1, 2, 1, 1) * x + psa.spatial_attention(x) * x)


def test_polarisation_invariants():
    """A_ch does not depend on where features are (invariant to permuting pixels); A_sp moves with
    the pixels and is shared by all channels."""
    psa = _randomise(PolarizedSelfAttention(8)).double()
    x = torch.randn(2, 8, 4, 5, dtype=torch.float64)
    perm = torch.randperm(20)
    xp = x.flatten(2)[:, :, perm].reshape_as(x)
    torch.testing.assert_close(psa.channel_attention(xp), psa.channel_attention(x))
    torch.testing.assert_close(psa.spatial_attention(xp).flatten(2), psa.spatial_attention(x).flatten(2)[:, :, perm])
    a_ch, a_sp = psa.channel_attention(x), psa.spatial_attention(x)
    assert a_ch.shape == (2, 8, 1, 1) and a_sp.shape == (2, 1, 4, 5)
    assert torch.all((a_ch > 0) & (a_ch < 1)) and torch.all((a_sp > 0) & (a_sp < 1))


# ---------------------------------------------------------------- shapes, parameters, gradients

@pytest.mark.parametrize('layout', ['parallel', 'sequential'])
@pytest.mark.parametrize('branches', ['both', 'channel_only', 'spatial_only'])
@pytest.mark.parametrize('shape', [(2, 16, 7, 9), (1, 5, 1, 1), (3, 3, 8, 8)])
def test_shape_is_preserved(layout, branches, shape):
    psa = PolarizedSelfAttention(shape[1], layout=layout, branches=branches)
    assert psa(torch.randn(shape)).shape == shape


@pytest.mark.parametrize('c', [2, 3, 16, 64, 255])
def test_parameter_count_formula(c):
    ci = c // 2
    for branches, formula in (('both', 4 * c * ci + 3 * c), ('channel_only', 2 * c * ci + 3 * c),
                              ('spatial_only', 2 * c * ci)):
        for layout in ('parallel', 'sequential'):
            psa = PolarizedSelfAttention(c, layout=layout, branches=branches)
            assert sum(p.numel() for p in psa.parameters()) == formula == PolarizedSelfAttention.num_parameters(
                c, branches)
    assert PolarizedSelfAttention.num_parameters(64) == 2 * 64 ** 2 + 3 * 64 == 8384
    assert all(m.bias is None for m in PolarizedSelfAttention(8).modules() if isinstance(m, torch.nn.Conv2d))


@pytest.mark.parametrize('layout', ['parallel', 'sequential'])
def test_gradients_reach_every_parameter_and_the_input(layout):
    psa = PolarizedSelfAttention(8, layout=layout)
    x = torch.randn(2, 8, 6, 6, requires_grad=True)
    target = torch.randn(2, 8, 6, 6)
    F.mse_loss(psa(x), target).backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    for name, p in psa.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all() and p.grad.abs().sum() > 0, name


def test_gradcheck():
    psa = _randomise(PolarizedSelfAttention(4, layout='sequential')).double()
    x = torch.randn(2, 4, 3, 3, dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(psa, (x,))


# ---------------------------------------------------------------- building

@pytest.mark.parametrize('scope', [None, 'tessera_core', 'mmengine'])
def test_build_plugin_layer_from_any_scope(scope):
    cfg = dict(type='PSA', layout='sequential')
    if scope is None:
        name, layer = build_plugin_layer(cfg, in_channels=12)
    else:
        with DefaultScope.overwrite_default_scope(scope):
            name, layer = build_plugin_layer(cfg, postfix=2, in_channels=12)
    assert isinstance(layer, PolarizedSelfAttention) and name.startswith('psa')
    assert layer.in_channels == 12 and layer.layout == 'sequential'
    assert MODELS.build(dict(type='PolarizedSelfAttention', in_channels=4)).in_channels == 4


def test_plugin_in_mmdet_resnet_stages():
    import mmdet.models.backbones.resnet as mmdet_resnet  # mmdet is in every test environment
    plugins = [dict(cfg=dict(type='PSA', layout='parallel'), stages=(False, True, True, True), position='after_conv2')]
    net = mmdet_resnet.ResNet(depth=50, base_channels=8, stem_channels=8, plugins=plugins, out_indices=(0, 1, 2, 3))
    plain = mmdet_resnet.ResNet(depth=50, base_channels=8, stem_channels=8, out_indices=(0, 1, 2, 3))
    psas = [m for m in net.modules() if isinstance(m, PolarizedSelfAttention)]
    assert len(psas) == 4 + 6 + 3  # one per bottleneck of stages 2-4
    assert [m.in_channels for m in psas] == [16] * 4 + [32] * 6 + [64] * 3
    extra = sum(p.numel() for p in net.parameters()) - sum(p.numel() for p in plain.parameters())
    assert extra == sum(PolarizedSelfAttention.num_parameters(m.in_channels) for m in psas)
    x = torch.randn(2, 3, 64, 64)
    assert [o.shape for o in net(x)] == [o.shape for o in plain(x)]


# ---------------------------------------------------------------- errors

def test_errors_name_the_bad_value_and_the_choices():
    with pytest.raises(ValueError, match=r"'diagonal'.*'parallel', 'sequential'"):
        PolarizedSelfAttention(8, layout='diagonal')
    with pytest.raises(ValueError, match=r"'channel'.*'both', 'channel_only', 'spatial_only'"):
        PolarizedSelfAttention(8, branches='channel')
    for bad in (1, 0, 2.0, None):
        with pytest.raises(ValueError, match='in_channels'):
            PolarizedSelfAttention(bad)
    with pytest.raises(ValueError, match=r'\(N, 8, H, W\)'):
        PolarizedSelfAttention(8)(torch.randn(2, 4, 3, 3))


# ---------------------------------------------------------------- the digit segmentation configs

def test_psa_configs_differ_from_the_baseline_only_by_the_plugin():
    root = os.path.join(os.path.dirname(tessera_core.__file__), 'configs', 'psa')
    base = Config.fromfile(os.path.join(root, 'fpn-r18w16_digit-seg.py'))
    for layout, name in (('parallel', 'psa-p-fpn-r18w16_digit-seg.py'),
                         ('sequential', 'psa-s-fpn-r18w16_digit-seg.py')):
        cfg = Config.fromfile(os.path.join(root, name))
        assert cfg.model.head.plugins == [dict(type='PSA', layout=layout)]
        cfg.model.head.plugins = None
        assert cfg.model == base.model
        for key in ('optim_wrapper', 'param_scheduler', 'train_cfg', 'train_dataloader', 'val_dataloader'):
            assert cfg[key] == base[key]


@pytest.mark.slow
def test_psa_config_trains_and_tests_through_mim(tmp_path):
    config = 'psa/psa-s-fpn-r18w16_digit-seg.py'
    tiny = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.indices=128',
            'val_dataloader.dataset.indices=50', 'test_dataloader.dataset.indices=50']
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options', *tiny]).stdout
    assert re.search(r'Epoch\(val\) \[1\]\[\d+/\d+\]\s+seg/mIoU: [\d.]+\s+seg/mIoU_fg: [\d.]+\s+seg/aAcc: [\d.]+', out)
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-core', config, '--checkpoint', str(tmp_path / 'epoch_1.pth'), '--work-dir',
             str(tmp_path), '--out', str(metrics_file), '--cfg-options', *tiny])
    metrics = json.loads(metrics_file.read_text())
    assert 0.0 <= metrics['seg/mIoU_fg'] <= 100 and 0.0 <= metrics['seg/mIoU'] <= 100 and 0 < metrics['seg/aAcc'] <= 100
