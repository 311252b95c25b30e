"""The official search hyper-parameters each search config encodes (quark0/darts train_search.py, PC-DARTS and
P-DARTS train_search.py), read from the configs themselves: weight SGD (lr, momentum, weight decay 3e-4, grad
clip 5, cosine to lr_min), architecture Adam (lr, betas (0.5, 0.999), weight decay 1e-3), batch sizes, PC-DARTS
partial channels with K=4 and edge normalization, its warm-up share, and the P-DARTS stages (ops 8 -> 5 -> 3,
dropout rising over the stages, skip cap 2)."""
import os.path as osp

import pytest
from mmengine.config import Config

import tessera_nas

CONFIGS = osp.join(osp.dirname(tessera_nas.__file__), 'configs')

# config: (weight lr, lr_min, batch, arch lr, arch gradient)
OFFICIAL = {
    'darts/darts_search_c8-l5_fashion-mnist.py': (0.025, 0.001, 64, 3e-4, 'first_order'),
    'darts/darts_search_c8-l5_2nd-order_fashion-mnist.py': (0.025, 0.001, 64, 3e-4, 'second_order'),
    'amended_darts/amended-darts_search_c8-l5_fashion-mnist.py': (0.025, 0.001, 64, 3e-4, 'amended'),
    'pc_darts/pc-darts_search_c8-l5_fashion-mnist.py': (0.1, 0.0, 256, 6e-4, 'first_order'),
    'pdarts/pdarts_search_c8-l3-5-7_fashion-mnist.py': (0.1 / 4, 0.0, 96, 6e-4, 'first_order'),
}


def _load(name):
    return Config.fromfile(osp.join(CONFIGS, name))


@pytest.mark.parametrize('name', sorted(OFFICIAL))
def test_search_optimizers_follow_the_official_code(name):
    lr, lr_min, batch, arch_lr, arch_gradient = OFFICIAL[name]
    cfg = _load(name)
    weights, arch = cfg.optim_wrapper.weights, cfg.optim_wrapper.architecture
    assert cfg.optim_wrapper.constructor == 'DARTSOptimWrapperConstructor'
    assert (weights.optimizer.type, weights.optimizer.lr, weights.optimizer.momentum,
            weights.optimizer.weight_decay) == ('SGD', pytest.approx(lr), 0.9, 3e-4)
    assert weights.clip_grad == dict(max_norm=5, norm_type=2)
    assert (arch.optimizer.type, arch.optimizer.lr, tuple(arch.optimizer.betas), arch.optimizer.weight_decay) == (
        'Adam', arch_lr, (0.5, 0.999), 1e-3)
    cosine, = cfg.param_scheduler.weights
    assert (cosine.type, cosine.eta_min) == ('CosineAnnealingLR', lr_min)
    assert cfg.param_scheduler.architecture == []  # the architecture lr is constant
    assert cfg.train_dataloader.batch_size == batch
    assert cfg.model.arch_gradient == arch_gradient
    assert any(h.type == 'GenotypeHook' for h in cfg.custom_hooks)


def test_pc_darts_partial_channels_edge_normalization_and_warm_up():
    cfg = _load('pc_darts/pc-darts_search_c8-l5_fashion-mnist.py')
    assert cfg.model.backbone.mixed_op == dict(type='PartialChannelMixedOp', k=4)
    assert cfg.model.backbone.edge_normalization is True
    # official: architecture updates start after 15 of 50 epochs; the same 30 % here
    assert cfg.model.warmup_epochs / cfg.train_cfg.max_epochs == pytest.approx(15 / 50)


def test_pdarts_stages():
    cfg = _load('pdarts/pdarts_search_c8-l3-5-7_fashion-mnist.py')
    stages = cfg.train_cfg.stages
    assert cfg.train_cfg.type == 'ProgressiveSearchLoop' and cfg.train_cfg.max_skip_connect == 2
    assert [s.num_ops for s in stages] == [8, 5, 3]
    assert [s.layers for s in stages] == sorted(s.layers for s in stages) and len({s.layers for s in stages}) == 3
    assert [s.op_dropout for s in stages] == sorted(s.op_dropout for s in stages)
    assert cfg.optim_wrapper.architecture.clip_grad == dict(max_norm=5, norm_type=2)


@pytest.mark.parametrize('space, epochs, primitives', [('', 8, None), ('_s2-space', 12, ['skip_connect', 'sep_conv_3x3'])])
def test_collapse_pair_differs_only_in_the_architecture_gradient(space, epochs, primitives):
    """The DARTS (second order) vs Amended-DARTS collapse measurement is a fair pair: same data, space, schedule,
    optimizers (architecture lr 0.025), per-epoch validation and checkpoints; only the gradient differs."""
    darts = _load(f'darts/darts_search_c8-l5_2nd-order_archlr-0.025{space}_fashion-mnist-2k.py')
    amended = _load(f'amended_darts/amended-darts_search_c8-l5_archlr-0.025{space}_fashion-mnist-2k.py')
    assert (darts.model.arch_gradient, amended.model.arch_gradient) == ('second_order', 'amended')
    assert amended.model.amended_coefficient == 0.1
    for cfg in (darts, amended):
        assert cfg.optim_wrapper.architecture.optimizer.lr == 0.025
        assert cfg.train_dataloader.dataset.dataset.indices == 2000
        assert cfg.train_cfg.val_interval == 1 and cfg.train_cfg.max_epochs == epochs
        assert cfg.param_scheduler.weights[0].T_max == epochs
        assert cfg.default_hooks.checkpoint.max_keep_ckpts == -1
        assert cfg.model.backbone.get('primitives') == primitives
    strip = lambda cfg: {k: v for k, v in cfg.to_dict().items() if k != 'model'}  # noqa: E731
    assert strip(darts) == strip(amended)
    assert {k: v for k, v in darts.model.items() if k not in ('arch_gradient', 'amended_coefficient')} == \
        {k: v for k, v in amended.model.items() if k not in ('arch_gradient', 'amended_coefficient')}
