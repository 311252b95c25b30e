"""The DARTS search step: splits, the two optimizers, first-order step against a hand-computed
SGD/Adam update, warm-up, the second-order (unrolled) gradient against autograd, and the DARTS search
config end to end through mim (genotype files, test, resume)."""
import copy
import json
import re

import pytest
import torch
import torch.nn.functional as F
from mmengine.logging import MessageHub
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_core.structures import ClsDataSample
from tessera_core.testing import run_mim

from tessera_nas.datasets import SearchSplitDataset
from tessera_nas.engine import DARTSOptimWrapperConstructor
from tessera_nas.registry import MODELS
from torch import nn

# A tiny supernet: 3 cells (reductions at cells 1 and 2), 2 nodes per cell (5 edges, 8 ops each),
# 4 initial channels -> 2 * 16 = 32 output channels, on 8 x 8 grey images, 3 classes.
TINY = dict(
    type='DARTSSearchClassifier',
    data_preprocessor=dict(type='ClsDataPreprocessor', mean=[127.5], std=[127.5]),
    backbone=dict(type='DARTSSearchBackbone', in_channels=1, init_channels=4, layers=3, steps=2, multiplier=2,
                  stem_multiplier=1),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(type='LinearClsHead', num_classes=3, in_channels=32, init_cfg=None))
OPTIM = dict(
    weights=dict(optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=3e-4),
                 clip_grad=dict(max_norm=5, norm_type=2)),
    architecture=dict(optimizer=dict(type='Adam', lr=3e-4, betas=(0.5, 0.999), weight_decay=1e-3)))


def tiny_model(**kwargs):
    return MODELS.build(dict(TINY, **kwargs))


class SmoothSupernet(nn.Module):
    """A stand-in supernet with the search-backbone interface whose loss is smooth in the weights
    (tanh / softplus / average pooling instead of ReLU and max pooling), so that central differences
    of its gradients converge to the exact Hessian products: stem conv + BatchNorm + tanh, then two
    mixed edges of 4 candidates each weighted by the softmax of ``alphas`` (2, 4)."""

    def __init__(self):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(1, 4, 3, padding=1), nn.BatchNorm2d(4, affine=False), nn.Tanh())
        self.edges = nn.ModuleList(
            nn.ModuleList([nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Tanh()),
                           nn.Sequential(nn.Conv2d(4, 4, 1), nn.Softplus()),
                           nn.AvgPool2d(3, 1, 1), nn.Identity()]) for _ in range(2))
        self.alphas = nn.Parameter(0.5 * torch.randn(2, 4))

    def arch_parameters(self):
        return [self.alphas]

    def weight_parameters(self):
        return [p for p in self.parameters() if p is not self.alphas]

    def genotype(self):
        return self.alphas.argmax(-1).tolist()

    def forward(self, x):
        x = self.stem(x)
        for edge, weights in zip(self.edges, F.softmax(self.alphas, dim=-1)):
            x = sum(w * op(x) for w, op in zip(weights, edge))
        return (x,)


def smooth_model(**kwargs):
    """A DARTSSearchClassifier (double precision) around :class:`SmoothSupernet`."""
    model = MODELS.build(dict(TINY, head=dict(TINY['head'], in_channels=4), **kwargs))
    model.backbone = SmoothSupernet()
    return model.double()


def raw_batch(n, seed):
    g = torch.Generator().manual_seed(seed)
    images = torch.randint(0, 256, (n, 1, 8, 8), generator=g, dtype=torch.uint8)
    labels = torch.randint(0, 3, (n,), generator=g)
    return dict(inputs=list(images), data_samples=[ClsDataSample().set_gt_label(int(y)) for y in labels])


def search_batch(n=6):
    return dict(weights=raw_batch(n, 1), arch=raw_batch(n, 2))


def set_epoch(epoch):
    MessageHub.get_current_instance().update_info('epoch', epoch)


# ----------------------------------------------------------------------------------------- splits
class _Items:
    metainfo = dict(classes=('a', 'b'))

    def __len__(self):
        return 10

    def __getitem__(self, i):
        return dict(index=i)


def test_half_split_is_the_official_one_and_pairs_both_splits():
    ds = SearchSplitDataset(_Items(), split='half', shuffle_arch=False)
    assert ds.weight_indices.tolist() == [0, 1, 2, 3, 4] and ds.arch_indices.tolist() == [5, 6, 7, 8, 9]
    assert len(ds) == 5 and ds.metainfo == dict(classes=('a', 'b'))
    items = [ds[i % 5] for i in range(7)]  # the arch split is walked pass after pass
    assert [it['weights']['index'] for it in items[:5]] == [0, 1, 2, 3, 4]
    assert [it['arch']['index'] for it in items] == [5, 6, 7, 8, 9, 5, 6]
    shuffled = SearchSplitDataset(_Items(), weight_indices=[0, 2], arch_indices=[1, 3, 5, 7])
    seen = sorted(shuffled[0]['arch']['index'] for _ in range(4))
    assert seen == [1, 3, 5, 7]  # one shuffled pass visits every arch item once


def test_overlapping_or_bad_splits_are_rejected():
    with pytest.raises(ValueError, match=r'overlap in 2 index'):
        SearchSplitDataset(_Items(), weight_indices=[0, 1, 2, 3], arch_indices=[3, 2, 9])
    with pytest.raises(ValueError, match=r"unknown split 'thirds'; valid: \['half'\]"):
        SearchSplitDataset(_Items(), split='thirds')
    with pytest.raises(ValueError, match='outside'):
        SearchSplitDataset(_Items(), weight_indices=[0, 1], arch_indices=[10])
    with pytest.raises(ValueError, match='not both'):
        SearchSplitDataset(_Items(), split='half', weight_indices=[0], arch_indices=[1])


# ---------------------------------------------------------------------------------- optimizers
def test_constructor_splits_parameters_into_weights_and_architecture():
    model = tiny_model()
    wrappers = DARTSOptimWrapperConstructor(copy.deepcopy(OPTIM))(model)
    arch = {id(p) for p in model.backbone.arch_parameters()}
    weights = [p for g in wrappers['weights'].optimizer.param_groups for p in g['params']]
    archs = [p for g in wrappers['architecture'].optimizer.param_groups for p in g['params']]
    assert {id(p) for p in archs} == arch and len(archs) == 2  # alphas_normal, alphas_reduce
    assert not arch & {id(p) for p in weights}
    assert len(weights) + len(archs) == len(list(model.parameters()))  # complete: head included
    assert any(p is model.head.fc.weight for p in weights)
    adam = wrappers['architecture'].optimizer
    assert type(adam).__name__ == 'Adam' and adam.defaults['betas'] == (0.5, 0.999)
    assert adam.defaults['weight_decay'] == 1e-3 and adam.defaults['lr'] == 3e-4
    with pytest.raises(ValueError, match=r"exactly the keys \['weights', 'architecture'\]"):
        DARTSOptimWrapperConstructor(dict(weights=OPTIM['weights']))
    with pytest.raises(ValueError, match='unknown arch_gradient'):
        tiny_model(arch_gradient='third_order')


# ------------------------------------------------------------------------------ first order
def test_first_order_step_is_adam_on_arch_then_clipped_sgd_on_weights():
    torch.manual_seed(0)
    model = tiny_model()
    with torch.no_grad():  # visible architecture weights
        for a in model.backbone.arch_parameters():
            a.normal_(0, 0.5)
    reference = copy.deepcopy(model)
    initial = [a.detach().clone() for a in model.backbone.arch_parameters()]
    wrappers = DARTSOptimWrapperConstructor(copy.deepcopy(OPTIM))(model)
    data = search_batch()
    set_epoch(0)
    model.train_step(data, wrappers)

    # by hand on the copy: Adam's first step on dL_val/dalpha (+ L2 1e-3) ...
    reference.train()
    arch_batch = reference.data_preprocessor(data['arch'], True)
    weight_batch = reference.data_preprocessor(data['weights'], True)
    alphas = reference.backbone.arch_parameters()
    grads = torch.autograd.grad(reference.batch_loss(arch_batch), alphas)
    with torch.no_grad():
        for a, g in zip(alphas, grads):
            g = g + 1e-3 * a
            m, v = 0.5 * g, 0.001 * g * g  # (1 - beta1) g, (1 - beta2) g^2
            a -= 3e-4 * (m / 0.5) / ((v / 0.001).sqrt() + 1e-8)
    # ... then SGD (momentum buffer = first gradient, L2 3e-4) on the clipped weight gradients
    names = [n for n, p in reference.named_parameters() if all(p is not a for a in alphas)]
    params = [dict(reference.named_parameters())[n] for n in names]
    grads = torch.autograd.grad(reference.batch_loss(weight_batch), params)
    norm = torch.sqrt(sum((g ** 2).sum() for g in grads))
    scale = min(1.0, 5 / (norm.item() + 1e-6))
    with torch.no_grad():
        for p, g in zip(params, grads):
            p -= 0.1 * (g * scale + 3e-4 * p)

    after = dict(model.named_parameters())
    for name, p in reference.named_parameters():
        torch.testing.assert_close(after[name], p, rtol=1e-5, atol=1e-6, msg=name)
    assert all((a - a0).abs().max() > 1e-4 for a0, a in zip(initial, model.backbone.arch_parameters()))


def test_warmup_epochs_skip_the_architecture_step():
    model = tiny_model(warmup_epochs=1)
    wrappers = DARTSOptimWrapperConstructor(copy.deepcopy(OPTIM))(model)
    before = [a.detach().clone() for a in model.backbone.arch_parameters()]
    head = model.head.fc.weight.detach().clone()
    set_epoch(0)
    log = model.train_step(search_batch(), wrappers)
    assert 'loss_arch' not in log
    assert all(torch.equal(a, b) for a, b in zip(before, model.backbone.arch_parameters()))
    assert not torch.equal(head, model.head.fc.weight)  # the weights did train
    assert all(a.grad is None for a in model.backbone.arch_parameters())  # no stray gradients either
    set_epoch(1)
    log = model.train_step(search_batch(), wrappers)
    assert 'loss_arch' in log
    assert all(not torch.equal(a, b) for a, b in zip(before, model.backbone.arch_parameters()))


# ------------------------------------------------------------------------------ second order
def exact_unrolled_gradient(model, weight_batch, arch_batch, optimizer):
    """d/dalpha L_val(w - lr * (mu * buf + dL_train/dw + wd * w), alpha), by double backward."""
    names, params, groups = model._weight_point(optimizer)
    leaves = [p.detach().requires_grad_(True) for p in params]
    loss = model.batch_loss(weight_batch, dict(zip(names, leaves)))
    grads = torch.autograd.grad(loss, leaves, create_graph=True)
    unrolled = {}
    for name, p, g, group in zip(names, leaves, grads, groups):
        buf = optimizer.state[params[names.index(name)]]['momentum_buffer']
        unrolled[name] = p - group['lr'] * (group['momentum'] * buf + g + group['weight_decay'] * p)
    return torch.autograd.grad(model.batch_loss(arch_batch, unrolled), model.arch_parameters())


def test_second_order_gradient_matches_the_exact_unrolled_gradient():
    torch.manual_seed(0)
    model = smooth_model(arch_gradient='second_order')
    optim = copy.deepcopy(OPTIM)
    optim['weights']['optimizer']['lr'] = 0.5  # a large virtual step: the Hessian term matters
    wrappers = DARTSOptimWrapperConstructor(optim)(model)
    set_epoch(0)
    model.train_step(search_batch(), wrappers)  # fills the momentum buffers
    model.train()
    to_double = lambda b: dict(b, inputs=b['inputs'].double())  # noqa: E731
    weight_batch = to_double(model.data_preprocessor(raw_batch(6, 3), True))
    arch_batch = to_double(model.data_preprocessor(raw_batch(6, 4), True))
    optimizer = wrappers['weights'].optimizer

    ours, _ = model.second_order_gradient(weight_batch, arch_batch, optimizer)
    exact = exact_unrolled_gradient(model, weight_batch, arch_batch, optimizer)
    unrolled = model.unrolled_weights(weight_batch, optimizer)
    first_term = torch.autograd.grad(model.batch_loss(arch_batch, unrolled), model.arch_parameters())
    flat = lambda gs: torch.cat([g.reshape(-1) for g in gs])  # noqa: E731
    error = (flat(ours) - flat(exact)).norm() / flat(exact).norm()
    hessian_term = (flat(first_term) - flat(exact)).norm() / flat(exact).norm()
    assert error < 1e-4, error  # central differences with r = 0.01 on a smooth loss
    assert hessian_term > 30 * error, (hessian_term, error)  # dropping the Hessian term would fail


def test_second_order_needs_an_sgd_weight_optimizer():
    model = tiny_model(arch_gradient='second_order')
    optim = copy.deepcopy(OPTIM)
    optim['weights']['optimizer'] = dict(type='Adam', lr=1e-3)
    wrappers = DARTSOptimWrapperConstructor(optim)(model)
    set_epoch(0)
    with pytest.raises(ValueError, match='unrolls an SGD step'):
        model.train_step(search_batch(), wrappers)


# ---------------------------------------------------------------------------------- end to end
CONFIG = 'darts_search_c8-l5_fashion-mnist.py'
# 4 initial channels, 3 cells; 64 + 64 images in batches of 32 (2 iterations per epoch), 100 val images
SMALL = ['model.backbone.init_channels=4', 'model.backbone.layers=3', 'model.head.in_channels=64',
         'train_dataloader.dataset.dataset.indices=128', 'train_dataloader.batch_size=32',
         'val_dataloader.dataset.indices=100', 'test_dataloader.dataset.indices=100']


@pytest.mark.slow
def test_darts_search_through_mim_writes_genotypes_tests_and_resumes(tmp_path):
    work = tmp_path / 'search'
    epochs = ['train_cfg.max_epochs=2', 'train_cfg.val_interval=2']
    out = search_out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(work), '--cfg-options', *SMALL,
                                *epochs]).stdout
    assert 'epoch 1: genotype = Genotype(' in out and 'softmax(alphas_normal)' in out
    for name in ('genotype_epoch_1.json', 'genotype_epoch_2.json', 'genotype.json'):
        genotype = json.loads((work / name).read_text())
        assert sorted(genotype) == ['normal', 'normal_concat', 'reduce', 'reduce_concat']
        assert len(genotype['normal']) == 8 and all(op != 'none' for op, _ in genotype['normal'])
    for cell in ('normal', 'reduce'):
        assert (work / f'genotype_{cell}.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # schedulers touch only the weights: cosine on weights.lr, architecture.lr constant
    scalars = [json.loads(line) for line in next(work.glob('*/vis_data/scalars.json')).read_text().splitlines()]
    weight_lrs = [s['weights.lr'] for s in scalars if 'weights.lr' in s]
    assert weight_lrs[0] > weight_lrs[-1]
    assert {s['architecture.lr'] for s in scalars if 'architecture.lr' in s} == {3e-4}

    ckpt = safe_load(str(work / 'epoch_1.pth'), map_location='cpu')
    assert 'backbone.alphas_normal' in ckpt['state_dict'] and 'backbone.alphas_reduce' in ckpt['state_dict']
    assert sorted(ckpt['optimizer']) == ['architecture', 'weights']
    assert float(ckpt['optimizer']['architecture']['state'][0]['step']) == 2  # 2 Adam steps in epoch 1

    # resume from epoch 1: arch parameters and both optimizers come back, Adam keeps counting
    resumed = tmp_path / 'resumed'
    out = run_mim(['train', 'tessera-nas', CONFIG, '--work-dir', str(resumed), '--resume', str(work / 'epoch_1.pth'),
                   '--cfg-options', *SMALL, *epochs]).stdout
    assert 'resumed epoch: 1' in out
    assert (resumed / 'genotype_epoch_2.json').is_file() and not (resumed / 'genotype_epoch_1.json').exists()
    final = safe_load(str(resumed / 'epoch_2.pth'), map_location='cpu')
    assert float(final['optimizer']['architecture']['state'][0]['step']) == 4
    assert 'momentum_buffer' in final['optimizer']['weights']['state'][0]

    metrics_file = tmp_path / 'metrics.json'
    run_mim(['test', 'tessera-nas', CONFIG, '--checkpoint', str(work / 'epoch_2.pth'), '--work-dir',
             str(tmp_path / 'test'), '--out', str(metrics_file), '--cfg-options', *SMALL])
    metrics = json.loads(metrics_file.read_text())
    # the checkpoint's supernet, tested on the validation images, gives the accuracy the search printed
    assert re.search(rf"Epoch\(val\) \[2\].*accuracy/top1: {metrics['accuracy/top1']:.4f}", search_out)
    assert 0 <= metrics['accuracy/top1'] <= metrics['accuracy/top5'] <= 100
