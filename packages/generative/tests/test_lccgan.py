"""LCCGAN: LCC sampling (local bases = the anchor's d nearest, simplex / Gaussian weights, convex hull),
local coordinate coding on hand-built points, the basis fitting, and which network each stage moves."""
import uuid

import pytest
import torch
from mmengine import MessageHub

from tessera_generative.engine import MultiOptimWrapperConstructor
from tessera_generative.models import (LCCGenerator, LCCSampler, fit_lcc_bases, kmeans, lcc_objective,
                                       local_coordinates, nearest_bases, simplex_weights)
from tessera_generative.registry import MODELS

# 1-D positions of 6 bases (embedded in 2-D: (p, 0)); irregular so that nearest sets have no ties
POS = torch.tensor([0., 1., 3., 6., 10., 15.])
BASES = torch.stack([POS, torch.zeros(6)], 1)


def test_local_bases_are_the_anchors_d_nearest():
    s = LCCSampler(num_bases=6, embedding_dim=2, local_size=3, coefficients='simplex')
    s.set_bases(BASES)
    idx = s.local_bases(torch.tensor([3, 0, 5]))
    # anchor 3 (at 6): itself, 2 (at 3, dist 3), 4 (at 10, dist 4); anchor 0: 0, 1, 2; anchor 5: 5, 4, 3
    assert idx.tolist() == [[3, 2, 4], [0, 1, 2], [5, 4, 3]]


def test_simplex_samples_lie_in_the_convex_hull_of_the_local_bases():
    g = torch.Generator().manual_seed(0)
    bases = torch.randn(20, 5, generator=g)
    s = LCCSampler(num_bases=20, embedding_dim=5, local_size=4, coefficients='simplex')
    s.set_bases(bases)
    z = torch.randn(500, 4, generator=g)
    anchor = torch.randint(20, (500,), generator=g)
    h, idx, w = s.sample(z, anchor)
    assert (w >= 0).all() and torch.allclose(w.sum(1), torch.ones(500), atol=1e-6)
    brute = torch.cdist(bases[anchor], bases).argsort(1)[:, :4]
    assert torch.equal(idx, brute) and torch.equal(idx[:, 0], anchor)
    assert torch.allclose(h, torch.einsum('nd,ndk->nk', w, bases[idx]), atol=1e-6)
    # barycentric coordinates recovered from the 4 local bases: h is inside their hull
    local = bases[idx]
    a = torch.cat([local.transpose(1, 2), torch.ones(500, 1, 4)], 1)          # (N, 6, 4)
    sol = torch.linalg.lstsq(a, torch.cat([h, torch.ones(500, 1)], 1)[:, :, None]).solution.squeeze(-1)
    assert (sol > -1e-4).all() and torch.allclose(sol, w, atol=1e-4)
    # Dirichlet(1): the mean weight is 1/d, and the map from z is deterministic
    assert abs(float(simplex_weights(torch.randn(20000, 4, generator=g)).mean()) - 0.25) < 1e-3
    assert torch.equal(simplex_weights(z), w)


def test_gaussian_coefficients_are_the_official_mapping():
    s = LCCSampler(num_bases=6, embedding_dim=2, local_size=3, coefficients='gaussian')
    s.set_bases(BASES)
    z = torch.tensor([[1.0, -2.0, 0.5]])
    h = s(z, torch.tensor([3]))
    assert torch.allclose(h, 1.0 * BASES[3] - 2.0 * BASES[2] + 0.5 * BASES[4])


def test_points_on_a_basis_simplex_reconstruct_exactly_and_off_plane_by_their_height():
    bases = torch.tensor([[0., 0., 0.], [4., 0., 0.], [0., 4., 0.], [50., 50., 0.], [-50., 40., 0.]])
    w = torch.tensor([[0.2, 0.3, 0.5], [1 / 3, 1 / 3, 1 / 3], [0.6, 0.2, 0.2]])
    on = w @ bases[:3]
    idx, wt, rec = local_coordinates(on, bases, 3)
    assert (idx.sort(1).values == torch.tensor([0, 1, 2])).all()
    assert torch.allclose(rec, on, atol=1e-4)
    assert torch.allclose(wt.gather(1, idx.argsort(1)), w, atol=1e-4)
    # lifted off the plane z = 0 by t: the best sum-to-one coding stays in the plane, error t^2
    t = torch.tensor([0.5, 1.0, 2.0])
    off = on + torch.stack([torch.zeros(3), torch.zeros(3), t], 1)
    _, _, rec = local_coordinates(off, bases, 3)
    assert torch.allclose((off - rec).pow(2).sum(1), t ** 2, atol=1e-3)
    with pytest.raises(ValueError, match=r'k must be in \[1, 5\]'):
        nearest_bases(on, bases, 6)


def test_basis_fitting_finds_clusters_and_lowers_the_official_objective():
    g = torch.Generator().manual_seed(0)
    centres = torch.tensor([[0., 0.], [10., 0.], [0., 10.], [10., 10.]])
    x = centres.repeat_interleave(50, 0) + 0.01 * torch.randn(200, 2, generator=g)
    c = kmeans(x, 4, generator=torch.Generator().manual_seed(1))
    assert torch.cdist(c, centres).min(0).values.max() < 0.05
    init = fit_lcc_bases(x, 4, init='random', epochs=0, batch_size=200)
    fitted = fit_lcc_bases(x, 4, init='random', epochs=3, batch_size=200)
    coding = torch.full((200, 4), 0.25)
    assert float(lcc_objective(x, fitted, coding)) < float(lcc_objective(x, init, coding))
    with pytest.raises(ValueError, match="valid: \\('kmeans', 'random'\\)"):
        fit_lcc_bases(x, 4, init='pca')


def small_lccgan(**kw):
    cfg = dict(type='LCCGAN', noise_size=3, ae_iters=2,
               generator=dict(type='LCCGenerator', embedding_dim=6, num_bases=8, local_size=3,
                              generator=dict(type='DCGANGenerator', output_scale=28, base_channels=4)),
               discriminator=dict(type='DCGANDiscriminator', input_scale=28, base_channels=4),
               encoder=dict(type='ConvEncoder', input_scale=28, base_channels=4),
               decoder=dict(type='DCGANGenerator', output_scale=28, base_channels=4),
               lcc_cfg=dict(num_points=16, epochs=1, batch_size=16, rounds=2, steps=2),
               ema_config=dict(momentum=0.5))
    cfg.update(kw)
    return MODELS.build(cfg)


def params(m):
    return {k: v.detach().clone() for k, v in m.named_parameters()}


def changed(before, m):
    return {k for k, v in m.named_parameters() if not torch.equal(before[k], v.detach())}


def test_stages_move_only_their_networks_and_fit_the_bases():
    MessageHub.get_instance(f'lcc-{uuid.uuid4().hex}')
    torch.manual_seed(0)
    gan = small_lccgan()
    sgd = dict(optimizer=dict(type='SGD', lr=0.1))
    ow = MultiOptimWrapperConstructor(dict(generator=sgd, discriminator=sgd, autoencoder=sgd))(gan)
    data = dict(inputs=[torch.randint(0, 256, (1, 28, 28), dtype=torch.uint8) for _ in range(8)])
    g0, d0, a0 = params(gan.generator), params(gan.discriminator), params(gan.autoencoder)
    for _ in range(2):
        logs = gan.train_step(data, ow)
        assert set(logs) == {'loss_ae'}
    assert changed(g0, gan.generator) == set() and changed(d0, gan.discriminator) == set()
    assert changed(a0, gan.autoencoder) == set(a0)
    assert not bool(gan.bases_fitted) and gan.generator.sampler.bases.abs().sum() == 0
    a1 = params(gan.autoencoder)
    logs = gan.train_step(data, ow)                    # fits the bases, then one GAN iteration
    assert bool(gan.bases_fitted) and 'loss_gen' in logs and 'loss_disc' in logs
    bases = gan.generator.sampler.bases
    assert bases.abs().sum() > 0 and torch.equal(gan.generator_ema.module.sampler.bases, bases)
    emb = gan.embed(gan.data_preprocessor(data, False)['inputs']['img'])
    assert changed(a1, gan.autoencoder) == set()
    assert changed(g0, gan.generator) == set(g0) and changed(d0, gan.discriminator) == set(d0)
    assert 0 <= gan.lcc_stats['lcc_rel_err'] <= 1.0 + 1e-6
    assert gan(dict(num_batches=5), mode='tensor').shape == (5, 1, 28, 28)


def test_configuration_errors():
    with pytest.raises(ValueError, match="valid: \\('gaussian', 'simplex'\\)"):
        LCCSampler(coefficients='uniform')
    with pytest.raises(ValueError, match=r'local_size \(d\) must be in \[1, num_bases=4\]'):
        LCCSampler(num_bases=4, local_size=5)
    with pytest.raises(ValueError, match='noise_size=5'):
        LCCGenerator(generator=dict(type='DCGANGenerator', output_scale=28), local_size=3, noise_size=5)
    with pytest.raises(KeyError, match='unknown lcc_cfg keys'):
        small_lccgan(lcc_cfg=dict(bases=3))
    MessageHub.get_instance(f'lcc-{uuid.uuid4().hex}')
    gan = small_lccgan()
    sgd = dict(optimizer=dict(type='SGD', lr=0.1))
    ow = MultiOptimWrapperConstructor(dict(generator=sgd, discriminator=sgd))(gan)
    with pytest.raises(TypeError, match="'autoencoder' optimizer wrapper"):
        gan.train_step(dict(inputs=[torch.zeros(1, 28, 28, dtype=torch.uint8)] * 2), ow)


@pytest.mark.parametrize('order', [2, 3])
def test_lcc_objective_equals_the_official_terms(order):
    g = torch.Generator().manual_seed(order)
    x, b, c = torch.randn(30, 7, generator=g), torch.randn(9, 7, generator=g), torch.rand(30, 9, generator=g)
    gn = c / c.sum(1, keepdim=True)
    diff = x[:, None] - b[None]                                                  # (N, M, D)
    if order == 2:   # LCCGAN: L_G * mse(sqrt|g| (x - v), 0)
        local = 2.0 * (gn.abs().sqrt()[:, :, None] * diff).pow(2).mean()
        lg = 2.0
    else:            # LCCGAN++: L_v * mean |g| ||x - v||^3
        local = 1e-4 * (gn.abs() * diff.pow(2).sum(2).sqrt().pow(3)).mean()
        lg = 1e-4
    ref = 0.5 * (c @ b - x).pow(2).mean() + local + 0.2 * b.pow(2).mean()
    assert torch.allclose(lcc_objective(x, b, c, lg=lg, lam=0.2, order=order), ref, rtol=1e-5)
    with pytest.raises(ValueError, match=r'valid: \(2, 3\)'):
        lcc_objective(x, b, c, order=4)
