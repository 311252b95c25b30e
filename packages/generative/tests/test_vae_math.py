"""The VAE's mathematics: KL closed forms, reparameterisation, ELBO vs. log-likelihood."""
import math

import pytest
import torch
from torch.distributions import Independent, Normal, kl_divergence

from tessera_generative.models import ConvVAE
from tessera_generative.models.losses import diagonal_gaussian_kl, standard_normal_kl


def _zero_(module):
    for p in module.parameters():
        torch.nn.init.zeros_(p)


def test_diagonal_gaussian_kl_closed_form_scalars():
    # KL(N(1, 1) || N(0, 1)) = 1/2
    assert diagonal_gaussian_kl(torch.ones(1), torch.zeros(1), torch.zeros(1), torch.zeros(1)).item() == \
        pytest.approx(0.5)
    # KL(N(0, s^2) || N(0, 1)) = (s^2 - 1 - ln s^2) / 2 with s^2 = 4
    v = torch.tensor([math.log(4.0)])
    assert standard_normal_kl(torch.zeros(1), v).item() == pytest.approx(0.5 * (4 - 1 - math.log(4)))
    # KL(N(m1, v1) || N(m2, v2)) by hand, one dimension
    m1, v1, m2, v2 = 0.3, 0.5, -1.2, 2.0
    expected = 0.5 * (math.log(v2 / v1) + (v1 + (m1 - m2) ** 2) / v2 - 1)
    got = diagonal_gaussian_kl(torch.tensor([m1]), torch.tensor([math.log(v1)]), torch.tensor([m2]),
                               torch.tensor([math.log(v2)]))
    assert got.item() == pytest.approx(expected, rel=1e-6)


def test_diagonal_gaussian_kl_matches_torch_distributions():
    g = torch.Generator().manual_seed(0)
    mu_q, lv_q, mu_p, lv_p = (torch.randn(5, 7, generator=g) for _ in range(4))
    q = Independent(Normal(mu_q, (0.5 * lv_q).exp()), 1)
    p = Independent(Normal(mu_p, (0.5 * lv_p).exp()), 1)
    torch.testing.assert_close(diagonal_gaussian_kl(mu_q, lv_q, mu_p, lv_p), kl_divergence(q, p))
    # the standard-normal special case (paper, Appendix B) agrees with the general one
    torch.testing.assert_close(standard_normal_kl(mu_q, lv_q),
                               diagonal_gaussian_kl(mu_q, lv_q, torch.zeros_like(mu_q), torch.zeros_like(lv_q)))
    assert (standard_normal_kl(mu_q, lv_q) > 0).all()
    assert standard_normal_kl(torch.zeros(3, 4), torch.zeros(3, 4)).abs().max().item() == 0.0


def test_kl_refuses_mismatched_shapes():
    with pytest.raises(ValueError, match='equal shapes'):
        standard_normal_kl(torch.zeros(2, 3), torch.zeros(2, 4))


def test_reparameterisation_gradient_is_exact():
    vae = ConvVAE(latent_dim=4)
    mu = torch.randn(3, 4, requires_grad=True)
    logvar = torch.randn(3, 4, requires_grad=True)
    z = vae.reparameterize(mu, logvar, generator=torch.Generator().manual_seed(5))
    eps = torch.randn(3, 4, generator=torch.Generator().manual_seed(5))
    torch.testing.assert_close(z, mu + (0.5 * logvar).exp() * eps)
    z.sum().backward()
    torch.testing.assert_close(mu.grad, torch.ones_like(mu))                      # dz/dmu = 1
    torch.testing.assert_close(logvar.grad, 0.5 * (0.5 * logvar).exp() * eps)     # dz/dlogvar = sigma * eps / 2


def test_reconstruction_gradient_reaches_the_encoder():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=8)
    x = torch.rand(4, 1, 28, 28)
    vae.loss(x)['loss_rec'].backward()   # through z = mu + sigma * eps only
    assert vae.fc_mu.weight.grad.abs().sum() > 0
    assert vae.fc_logvar.weight.grad.abs().sum() > 0
    assert vae.encoder[0].weight.grad.abs().sum() > 0


def test_loss_of_uninformative_model_equals_closed_form():
    """mu = 0, logvar = 0 (posterior = prior: KL = 0) and decoder logits = 0
    (p = 1/2 per pixel): the negative ELBO is exactly D ln 2 for any image."""
    vae = ConvVAE(latent_dim=16)
    _zero_(vae.fc_mu), _zero_(vae.fc_logvar), _zero_(vae.decoder_conv[-1])
    x = torch.rand(5, 1, 28, 28)
    losses = vae.loss(x)
    assert losses['loss_kl'].item() == 0.0
    assert losses['loss_rec'].item() == pytest.approx(784 * math.log(2), rel=1e-6)
    samples = vae.predict(x)
    assert all(s.nelbo.item() == pytest.approx(784 * math.log(2), rel=1e-6) for s in samples)


def test_loss_of_confident_decoder_equals_closed_form():
    """Binary image x, decoder logits L (2x - 1) whatever z: BCE = D softplus(-L);
    with mu = 0, logvar = 0 that is the whole negative ELBO."""
    vae = ConvVAE(latent_dim=16)
    _zero_(vae.fc_mu), _zero_(vae.fc_logvar)
    x = (torch.rand(2, 1, 28, 28) > 0.5).float()
    big = 6.0
    vae.decode = lambda z: big * (2 * x - 1)
    losses = vae.loss(x)
    assert losses['loss_kl'].item() == 0.0
    assert losses['loss_rec'].item() == pytest.approx(784 * math.log1p(math.exp(-big)), rel=1e-4)  # float32 sums


def test_importance_sampled_likelihood_bounds_the_elbo():
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=8).eval()
    x = torch.rand(6, 1, 28, 28)
    with torch.no_grad():
        log_w = vae.importance_log_weights(x, 32, generator=torch.Generator().manual_seed(0))
    assert log_w.shape == (32, 6)
    iw = torch.logsumexp(log_w, 0) - math.log(32)
    elbo_same_samples = log_w.mean(0)
    assert (iw >= elbo_same_samples).all()    # Jensen, sample by sample


def test_log_densities_with_a_decoder_that_ignores_z():
    """If p(x|z) does not depend on z, then log p(x) = log p(x|z) exactly, the
    ELBO is log p(x) - KL, E_q[log w] = log p(x) - KL(q || p) and the
    importance-sampled estimate converges to log p(x)."""
    torch.manual_seed(0)
    vae = ConvVAE(latent_dim=4, importance_chunk=1000).double().eval()   # float64: log p(x) ~ -540
    _zero_(vae.decoder_fc[0])            # decoder input ignored: constant logits
    with torch.no_grad():                # q(z|x) = N(mu, diag(exp(logvar))) with fixed parameters
        vae.fc_mu.weight.zero_(), vae.fc_logvar.weight.zero_()
        vae.fc_mu.bias.copy_(torch.tensor([0.3, -0.2, 0.1, 0.0]))
        vae.fc_logvar.bias.copy_(torch.tensor([0.2, 0.1, 0.0, 0.3]))
    x = torch.rand(3, 1, 28, 28, dtype=torch.float64)
    k = 4000
    with torch.no_grad():
        rec, kl = vae.elbo_terms(x)
        log_w = vae.importance_log_weights(x, k, generator=torch.Generator().manual_seed(1))
    log_px = -rec
    expected_kl = 0.5 * sum(lv.exp() + m ** 2 - 1 - lv for m, lv in
                            zip([0.3, -0.2, 0.1, 0.0], torch.tensor([0.2, 0.1, 0.0, 0.3], dtype=torch.float64)))
    torch.testing.assert_close(kl, expected_kl.expand(3))
    mc = log_w.mean(0)
    assert ((mc - (log_px - kl)).abs() < 4 * log_w.std(0) / math.sqrt(k)).all()
    iw = torch.logsumexp(log_w, 0) - math.log(k)
    ratio = (log_w - log_px).exp()                      # p(z) / q(z|x), mean 1
    assert ((iw - log_px).abs() < 4 * ratio.std(0) / math.sqrt(k)).all()
    assert (iw > log_px - kl).all()
