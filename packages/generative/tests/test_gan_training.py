"""BaseGAN's training step (which network each optimizer moves, n_discriminator_steps, EMA), the GAN
losses and WGAN-GP's penalty against their formulas, DCGAN layouts, and the shape errors."""
import copy
import uuid

import pytest
import torch
from mmengine import MessageHub
from mmengine.optim import OptimWrapperDict
from torch import nn

from tessera_generative.engine import MultiOptimWrapperConstructor
from tessera_generative.models import (BaseGAN, DCGANDiscriminator, DCGANGenerator, GANLoss, GenDataPreprocessor,
                                       GradientPenaltyLoss)
from tessera_generative.registry import MODELS

SGD = dict(optimizer=dict(type='SGD', lr=0.1))


def build_gan(size=28, **kwargs):
    cfg = dict(type='BaseGAN', noise_size=8,
               generator=dict(type='DCGANGenerator', output_scale=size, base_channels=4),
               discriminator=dict(type='DCGANDiscriminator', input_scale=size, base_channels=4))
    cfg.update(kwargs)
    return MODELS.build(cfg)


def wrappers(model, **overrides):
    cfg = dict(generator=SGD, discriminator=SGD)
    cfg.update(overrides)
    return MultiOptimWrapperConstructor(cfg)(model)


def batch(n=6, size=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    return dict(inputs=[torch.randint(0, 256, (1, size, size), generator=g, dtype=torch.uint8) for _ in range(n)])


def params(module):
    return {k: v.detach().clone() for k, v in module.named_parameters()}


def changed(before, module):
    return {k for k, v in module.named_parameters() if not torch.equal(before[k], v.detach())}


@pytest.fixture
def hub():
    return MessageHub.get_instance(f'gan-test-{uuid.uuid4().hex}')


def test_each_phase_moves_only_its_network():
    gan = build_gan()
    ow = wrappers(gan)
    real = gan.data_preprocessor(batch(), True)['inputs']['img']
    g0, d0 = params(gan.generator), params(gan.discriminator)
    with ow['discriminator'].optim_context(gan.discriminator):
        gan.train_discriminator(real, ow['discriminator'])
    assert changed(g0, gan.generator) == set()
    assert changed(d0, gan.discriminator) == set(d0)          # every discriminator tensor moved
    assert all(p.grad is None for p in gan.generator.parameters())  # fakes were made without a graph into G
    g1, d1 = params(gan.generator), params(gan.discriminator)
    gan.discriminator.requires_grad_(False)
    gan.train_generator(real.size(0), ow['generator'])
    assert changed(d1, gan.discriminator) == set()
    assert changed(g1, gan.generator) == set(g1)


@pytest.mark.parametrize('n_disc', [1, 3])
def test_train_step_honours_n_discriminator_steps(hub, n_disc):
    gan = build_gan(n_discriminator_steps=n_disc)
    ow = wrappers(gan)
    gen_updates = []
    for it in range(6):
        hub.update_info('iter', it)
        g0, d0 = params(gan.generator), params(gan.discriminator)
        logs = gan.train_step(batch(seed=it), ow)
        assert changed(d0, gan.discriminator) == set(d0)
        g_moved = changed(g0, gan.generator)
        assert g_moved in (set(), set(g0))
        assert ('loss_gen' in logs) == bool(g_moved)
        if g_moved:
            gen_updates.append(it)
        assert all(p.requires_grad for p in gan.discriminator.parameters())  # unfrozen after the G phase
        # the G phase left no gradient in D that its next update would add
        assert all(p.grad is None or not p.grad.any() for p in gan.discriminator.parameters())
    assert gen_updates == [it for it in range(6) if (it + 1) % n_disc == 0]


def test_n_generator_steps_makes_that_many_generator_updates(hub):
    gan = build_gan(n_generator_steps=2)
    ow = wrappers(gan)
    hub.update_info('iter', 0)
    gan.train_step(batch(), ow)
    assert ow['generator'].optimizer.state_dict()['state'] == {}  # plain SGD keeps no state; count steps instead
    steps = []
    ow['generator'].optimizer.register_step_post_hook(lambda *a: steps.append(1))
    hub.update_info('iter', 1)
    gan.train_step(batch(), ow)
    assert len(steps) == 2


def test_ema_follows_its_rule_exactly(hub):
    m = 0.25
    gan = build_gan(n_discriminator_steps=2, ema_config=dict(momentum=m))
    ow = wrappers(gan)
    ema = gan.generator_ema.module
    expected = None
    for it in range(6):
        hub.update_info('iter', it)
        before = params(ema)
        gan.train_step(batch(seed=it), ow)
        if (it + 1) % 2:                       # no generator phase: the average stays
            assert changed(before, ema) == set()
            continue
        g = params(gan.generator)
        expected = g if expected is None else {k: (1 - m) * expected[k] + m * g[k] for k in g}
        for k, v in ema.named_parameters():
            torch.testing.assert_close(v, expected[k], rtol=0, atol=1e-6)
        for b_ema, b_gen in zip(ema.buffers(), gan.generator.buffers()):   # BN statistics copied
            assert torch.equal(b_ema, b_gen)
    assert not all(torch.equal(expected[k], v) for k, v in params(gan.generator).items())
    assert int(gan.gen_phases) == 3


def test_ema_start_iter_copies_the_generator_before_averaging(hub):
    gan = build_gan(ema_config=dict(momentum=0.5, start_iter=2))
    ow = wrappers(gan)
    for it in range(2):
        hub.update_info('iter', it)
        gan.train_step(batch(seed=it), ow)
        for (k, v), g in zip(gan.generator_ema.module.named_parameters(), gan.generator.parameters()):
            assert torch.equal(v, g)
    assert int(gan.generator_ema.steps) == 0


def test_sampling_uses_ema_by_default_and_both_on_request():
    gan = build_gan(ema_config=dict(momentum=0.5)).eval()
    with torch.no_grad():
        for p in gan.generator_ema.module.parameters():
            p.add_(0.1)
    noise = torch.randn(3, 8)
    out = gan(dict(noise=noise))
    assert out[0].metainfo['sample_model'] == 'ema' and out[0].fake_img.shape == (1, 28, 28)
    both = gan(dict(noise=noise, sample_model='ema/orig'))
    torch.testing.assert_close(both[1].ema.fake_img, out[1].fake_img)
    orig = gan(dict(noise=noise, sample_model='orig'))
    torch.testing.assert_close(both[2].orig.fake_img, orig[2].fake_img)
    assert not torch.allclose(orig[0].fake_img, out[0].fake_img)
    assert 0 <= float(out[0].fake_img.min()) and float(out[0].fake_img.max()) <= 255
    # val_step: one generated image per real one, the real one returned in [0, 255]
    data = batch(n=4)
    res = gan.val_step(data)
    assert len(res) == 4
    torch.testing.assert_close(res[2].gt_img, data['inputs'][2].float(), atol=1e-4, rtol=0)
    with pytest.raises(ValueError, match='EMA'):
        build_gan()(dict(noise=noise, sample_model='ema'))


def test_gan_losses_match_their_formulas():
    pred = torch.tensor([[-1.5], [0.2], [2.0]])
    sp = nn.functional.softplus
    torch.testing.assert_close(GANLoss('vanilla')(pred, True, is_disc=True), sp(-pred).mean())
    torch.testing.assert_close(GANLoss('vanilla')(pred, False, is_disc=True), sp(pred).mean())
    # the non-saturating generator loss -log sigmoid(D(G(z)))
    torch.testing.assert_close(GANLoss('vanilla')(pred, True), -torch.log(torch.sigmoid(pred)).mean())
    torch.testing.assert_close(GANLoss('hinge')(pred, True, is_disc=True), torch.relu(1 - pred).mean())
    torch.testing.assert_close(GANLoss('hinge')(pred, False, is_disc=True), torch.relu(1 + pred).mean())
    torch.testing.assert_close(GANLoss('hinge')(pred, True), -pred.mean())
    torch.testing.assert_close(GANLoss('wgan')(pred, True, is_disc=True), -pred.mean())
    torch.testing.assert_close(GANLoss('wgan')(pred, False, is_disc=True), pred.mean())
    torch.testing.assert_close(GANLoss('lsgan', loss_weight=2)(pred, False), (pred ** 2).mean())
    with pytest.raises(ValueError, match="valid: \\('vanilla', 'hinge', 'wgan', 'lsgan'\\)"):
        GANLoss('minimax')


def test_wgan_gp_penalty_equals_its_formula_on_a_linear_critic():
    torch.manual_seed(0)
    critic = nn.Sequential(nn.Flatten(), nn.Linear(12, 1))    # D(x) = <w, x> + b: gradient w everywhere
    real, fake = torch.randn(5, 3, 2, 2), torch.randn(5, 3, 2, 2)
    gp = GradientPenaltyLoss(loss_weight=10.0)
    loss = gp(critic, real, fake, generator=torch.Generator().manual_seed(3))
    w = critic[1].weight
    expected = 10.0 * (w.norm() - 1) ** 2
    torch.testing.assert_close(loss, expected)
    loss.backward()                                            # differentiable in the critic: 2 lambda (|w| - 1) w/|w|
    torch.testing.assert_close(critic[1].weight.grad, (20.0 * (w.norm() - 1) * w / w.norm()).detach())
    # a critic with gradient norm 1 is not penalised
    with torch.no_grad():
        w.div_(w.norm())
    assert gp(critic, real, fake).item() == pytest.approx(0.0, abs=1e-10)


def test_wgan_gp_in_the_train_step_logs_the_penalty(hub):
    gan = build_gan(discriminator=dict(type='DCGANDiscriminator', input_scale=28, base_channels=4, norm='none'),
                    loss_config=dict(gan_loss=dict(type='GANLoss', gan_type='wgan'),
                                     disc_auxiliary_loss=[dict(type='GradientPenaltyLoss', loss_weight=10)]),
                    n_discriminator_steps=5)
    ow = wrappers(gan, discriminator=dict(optimizer=dict(type='Adam', lr=1e-4, betas=(0.0, 0.9))))
    hub.update_info('iter', 0)
    logs = gan.train_step(batch(), ow)
    assert {'loss_disc_real', 'loss_disc_fake', 'loss_gp', 'loss_disc'} <= set(logs)
    assert float(logs['loss_gp']) > 0
    assert float(logs['loss_disc']) == pytest.approx(
        float(logs['loss_disc_real'] + logs['loss_disc_fake'] + logs['loss_gp']), rel=1e-5)


@pytest.mark.parametrize('size', [28, 32, 64])
def test_dcgan_layouts_and_parameter_counts(size):
    g = DCGANGenerator(output_scale=size, out_channels=1, base_channels=8, noise_size=10)
    d = DCGANDiscriminator(input_scale=size, in_channels=1, base_channels=8)
    img = g(torch.randn(2, 10))
    assert img.shape == (2, 1, size, size) and float(img.detach().abs().max()) <= 1
    assert d(img).shape == (2, 1)
    table = DCGANGenerator.arch_settings[size]
    chans = [8 * m for _, m in table]
    expected_g = 10 * chans[0] * table[0][0] ** 2 + 2 * chans[0] \
        + sum(a * b * 16 + 2 * b for a, b in zip(chans[:-1], chans[1:])) + chans[-1] * 16 + 1
    assert sum(p.numel() for p in g.parameters()) == expected_g
    dt = DCGANDiscriminator.arch_settings[size]
    dch = [8 * m for _, m in dt]
    expected_d = (16 * dch[0] + dch[0]) + sum(a * b * 16 + 2 * b for a, b in zip(dch[:-1], dch[1:])) \
        + dch[-1] * dt[-1][0] ** 2 + 1
    assert sum(p.numel() for p in d.parameters()) == expected_d


def test_shape_mismatches_name_both_shapes():
    gan = build_gan(size=32, discriminator=dict(type='DCGANDiscriminator', input_scale=28, base_channels=4))
    ow = wrappers(gan)
    with pytest.raises(ValueError, match=r'\(N, 1, 32, 32\).*\(N, 1, 28, 28\)'):
        gan.train_step(batch(size=28), ow)

    class MapDisc(nn.Module):                                  # one score map per image instead of one score
        def forward(self, x):
            return x[:, :, :4, :4]

    gan = BaseGAN(generator=DCGANGenerator(output_scale=28, base_channels=4, noise_size=8), discriminator=MapDisc())
    with pytest.raises(ValueError, match=r'\(6, 1, 28, 28\) to \(6, 1, 4, 4\).*\(6, 1\)'):
        gan.train_step(batch(), wrappers(build_gan()))  # any wrappers: it fails before updating
    with pytest.raises(ValueError, match=r'\(N, 1, 32, 32\).*\(N, 1, 28, 28\)'):     # val_step too
        build_gan(size=32).val_step(batch(size=28))
    with pytest.raises(ValueError, match='DCGANDiscriminator was built for images .N, 1, 28, 28., got .6, 1, 32, 32.'):
        DCGANDiscriminator(input_scale=28, base_channels=4)(torch.zeros(6, 1, 32, 32))


def test_configuration_errors():
    with pytest.raises(KeyError, match=r'valid: \[28, 32, 64\]'):
        DCGANGenerator(output_scale=48)
    with pytest.raises(ValueError, match='noise_size=16'):
        BaseGAN(generator=DCGANGenerator(output_scale=28, noise_size=8), discriminator=DCGANDiscriminator(28),
                noise_size=16)
    with pytest.raises(TypeError, match='MultiOptimWrapperConstructor'):
        build_gan().train_step(batch(), wrappers(build_gan())['generator'])
    with pytest.raises(KeyError, match="no sub-module of that name; sub-modules: .*'discriminator'"):
        MultiOptimWrapperConstructor(dict(gen=SGD, discriminator=SGD))(build_gan())
    with pytest.raises(KeyError, match='unknown loss_config keys'):
        build_gan(loss_config=dict(gen_auxiliary_loss=dict(type='GANLoss')))


def test_data_preprocessor_round_trip_and_dict_inputs():
    pre = GenDataPreprocessor()
    imgs = [torch.tensor([[[0, 255], [51, 128]]], dtype=torch.uint8)]
    out = pre(dict(inputs=imgs))
    x = out['inputs']['img']
    torch.testing.assert_close(x, torch.tensor([[[[-1.0, 1.0], [51 / 127.5 - 1, 128 / 127.5 - 1]]]]))
    torch.testing.assert_close(pre.destruct(x), imgs[0][None].float())
    noise = torch.randn(2, 3)
    passed = pre(dict(inputs=dict(noise=noise, num_batches=2)))
    assert passed['inputs']['num_batches'] == 2 and torch.equal(passed['inputs']['noise'], noise)
    assert float(pre.destruct(torch.tensor([3.0]))) == 255.0


def test_optim_wrapper_config_through_the_registry():
    from mmengine.optim import build_optim_wrapper
    gan = build_gan()
    ow = build_optim_wrapper(gan, dict(constructor='MultiOptimWrapperConstructor',
                                       generator=dict(optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
                                       discriminator=dict(optimizer=dict(type='Adam', lr=1e-4))))
    assert isinstance(ow, OptimWrapperDict) and set(ow.keys()) == {'generator', 'discriminator'}
    g_params = {id(p) for grp in ow['generator'].optimizer.param_groups for p in grp['params']}
    assert g_params == {id(p) for p in gan.generator.parameters()}
    assert ow['discriminator'].optimizer.param_groups[0]['lr'] == 1e-4
    assert copy.deepcopy(gan) is not None
