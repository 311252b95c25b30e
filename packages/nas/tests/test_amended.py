"""Amended-DARTS: the amended architecture gradient against its formula computed exactly with
autograd on a tiny supernet, and the Amended-DARTS search config end to end through mim."""
import copy
import json
import os.path as osp

import pytest
import torch
from mmengine.logging import MessageHub
from tessera_core.testing import run_mim

from tessera_nas.benchmarks import space
from tessera_nas.engine import DARTSOptimWrapperConstructor

# the smooth stand-in supernet (tanh / softplus / average pooling: central differences of its
# gradients converge) and the batches of the search-step tests
from test_search_loop import OPTIM, raw_batch, smooth_model  # noqa: I100


def flat(tensors):
    return torch.cat([t.reshape(-1) for t in tensors])


def test_amended_gradient_matches_its_formula():
    """g = dL_val/da - c * d2L_train/(da dw) . H . dL_val/dw, with H = d2L_train/dw2, at the current w."""
    torch.manual_seed(0)
    model = smooth_model(arch_gradient='amended', amended_coefficient=1.0)
    wrappers = DARTSOptimWrapperConstructor(copy.deepcopy(OPTIM))(model)
    MessageHub.get_current_instance().update_info('epoch', 0)
    model.train()
    to_double = lambda b: dict(b, inputs=b['inputs'].double())  # noqa: E731
    weight_batch = to_double(model.data_preprocessor(raw_batch(6, 3), True))
    arch_batch = to_double(model.data_preprocessor(raw_batch(6, 4), True))
    optimizer = wrappers['weights'].optimizer

    ours, loss = model.amended_gradient(weight_batch, arch_batch, optimizer)

    names, params, _ = model._weight_point(optimizer)
    arch = model.arch_parameters()
    w = [p.detach().requires_grad_(True) for p in params]
    point = dict(zip(names, w))
    val = model.batch_loss(arch_batch, point)
    grads = torch.autograd.grad(val, arch + w)
    d_arch, v = grads[:len(arch)], grads[len(arch):]
    train_grads = torch.autograd.grad(model.batch_loss(weight_batch, point), w, create_graph=True)
    hv = torch.autograd.grad(sum((g * x).sum() for g, x in zip(train_grads, v)), w, retain_graph=True)
    mixed = torch.autograd.grad(sum((g * x.detach()).sum() for g, x in zip(train_grads, hv)), arch)
    exact = [da - 1.0 * m for da, m in zip(d_arch, mixed)]

    assert torch.allclose(loss, val.detach())
    error = (flat(ours) - flat(exact)).norm() / flat(exact).norm()
    amendment = flat(mixed).norm() / flat(exact).norm()
    assert error < 2e-3, error  # two nested central differences with r = 0.01
    assert amendment > 30 * error, (amendment, error)  # the amending term is really there
    # and it is not the DARTS second-order term (H^-1 ~ eta I instead of H)
    darts, _ = model.second_order_gradient(weight_batch, arch_batch, optimizer)
    assert (flat(darts) - flat(exact)).norm() / flat(exact).norm() > 30 * error


CONFIG = 'amended-darts_search_c8-l5_fashion-mnist.py'
SMALL = ['model.backbone.init_channels=4', 'model.backbone.layers=3', 'model.head.in_channels=64',
         'train_dataloader.dataset.dataset.indices=64', 'train_dataloader.batch_size=16',
         'train_cfg.max_epochs=1', 'train_cfg.val_interval=1',
         'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100']


@pytest.mark.slow
def test_amended_search_through_mim(tmp_path):
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL]).stdout
    assert 'loss_arch' in out and 'final genotype = Genotype(' in out
    genotype = json.loads((work / 'genotype.json').read_text())
    assert len(genotype['normal']) == 8 and len(genotype['reduce']) == 8
    assert (work / 'genotype_reduce.png').stat().st_size > 1000
    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-nas', CONFIG, '--checkpoint', str(work / 'epoch_1.pth'), '--work-dir',
             str(tmp_path / 'test'), '--out', str(metrics_file), '--cfg-options', *SMALL])
    assert set(json.loads(metrics_file.read_text())) == {'accuracy/top1', 'accuracy/top5'}


NB201_CONFIG = 'amended-darts_nb201-c8_fmnist16.py'
NB201_SMALL = ['train_cfg.max_epochs=1', 'train_cfg.val_interval=1', 'train_dataloader.dataset.dataset.indices=128',
               'val_dataloader.dataset.indices=100', 'model.latency_predictor.steps=50']


@pytest.mark.slow
@pytest.mark.skipif(not osp.isdir('/usr/share/datasets/fashion-mnist'),
                    reason='needs Fashion-MNIST (Debian package dataset-fashion-mnist)')
def test_amended_search_on_the_table_space_through_mim(tmp_path):
    """The NB201 config runs the amended gradient with the latency term off and records the derived cell."""
    from mmengine.config import Config
    from tessera_core.config import package_config_path
    cfg = Config.fromfile(str(package_config_path('tessera_nas', 'amended_darts/' + NB201_CONFIG)))
    assert cfg.model.arch_gradient == 'amended' and cfg.model.latency_lambda == 0.0
    work = tmp_path / 'search'
    out = run_mim(['train', 'tessera-nas', NB201_CONFIG, '--work-dir', str(work), '--cfg-options',
                   *NB201_SMALL]).stdout
    assert 'loss_arch' in out and 'loss_latency: 0.0000' in out and 'lat_grad_norm' not in out
    run = json.loads((work / 'la_darts_search.json').read_text())
    assert run['latency_lambda'] == 0.0 and run['epochs'][-1]['alpha_delta_max'] > 0
    assert run['final']['canonical'] == space.canonical(run['final']['genotype'])
