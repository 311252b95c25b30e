"""KL divergences between diagonal Gaussians, in closed form.

Auto-Encoding Variational Bayes, Kingma & Welling, ICLR 2014, arXiv:1312.6114
(Appendix B: the KL term of the ELBO for a Gaussian posterior and prior).
Official repository: none was published with the paper; the reference code
followed is pytorch/examples ``vae/main.py`` (https://github.com/pytorch/examples).

For ``q = N(mu_q, diag(exp(logvar_q)))`` and ``p = N(mu_p, diag(exp(logvar_p)))``::

    KL(q || p) = 0.5 * sum_j [ logvar_p - logvar_q
                               + (exp(logvar_q) + (mu_q - mu_p)^2) / exp(logvar_p) - 1 ]

With the standard-normal prior (``mu_p = 0``, ``logvar_p = 0``) this is the
paper's ``-0.5 * sum_j (1 + logvar_q - mu_q^2 - exp(logvar_q))``.
"""
import torch


def _check_same_shape(**tensors: torch.Tensor) -> None:
    shapes = {name: tuple(t.shape) for name, t in tensors.items()}
    if len(set(shapes.values())) != 1:
        raise ValueError(f'Gaussian parameters must have equal shapes, got {shapes}')


def diagonal_gaussian_kl(mu_q: torch.Tensor, logvar_q: torch.Tensor, mu_p: torch.Tensor,
                         logvar_p: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu_q, e^logvar_q) || N(mu_p, e^logvar_p))`` summed over the last dim.

    Args:
        mu_q, logvar_q, mu_p, logvar_p (Tensor): (..., D) means and log-variances.

    Returns:
        Tensor: (...,) KL in nats, one value per distribution pair.
    """
    _check_same_shape(mu_q=mu_q, logvar_q=logvar_q, mu_p=mu_p, logvar_p=logvar_p)
    var_ratio = torch.exp(logvar_q - logvar_p)
    mean_term = (mu_q - mu_p).pow(2) * torch.exp(-logvar_p)
    return 0.5 * (logvar_p - logvar_q + var_ratio + mean_term - 1.0).sum(dim=-1)


def standard_normal_kl(mu: torch.Tensor, logvar: torch.Tensor) -> torch.Tensor:
    """``KL(N(mu, e^logvar) || N(0, I))`` summed over the last dim (paper, Appendix B).

    Args:
        mu, logvar (Tensor): (..., D) posterior means and log-variances.

    Returns:
        Tensor: (...,) KL in nats.
    """
    _check_same_shape(mu=mu, logvar=logvar)
    return -0.5 * (1.0 + logvar - mu.pow(2) - logvar.exp()).sum(dim=-1)
