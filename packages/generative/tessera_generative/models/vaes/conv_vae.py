"""Auto-Encoding Variational Bayes, Kingma & Welling, ICLR 2014, arXiv:1312.6114.

Official repository: none was published with the paper. Where the paper is
silent (convolutional layers, optimiser), the reference followed is
pytorch/examples ``vae/main.py`` (https://github.com/pytorch/examples/tree/main/vae).

The variational auto-encoder of the paper (Section 3, Appendix C.2) with
convolutional encoder/decoder networks:

* encoder ``q_phi(z|x) = N(mu(x), diag(exp(logvar(x))))``;
* reparameterisation ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)``
  (Section 2.4), which makes the Monte-Carlo ELBO differentiable in ``phi``;
* prior ``p(z) = N(0, I)``; Bernoulli decoder ``p_theta(x|z)`` whose logits
  are the decoder output (Appendix C.1);
* loss = negative ELBO per image = reconstruction BCE summed over pixels (one
  sample of ``z`` per image, L = 1 as in the paper's experiments) + the KL
  term in closed form (Appendix B).

Evaluation reports the negative ELBO and, when ``num_importance_samples > 0``,
the importance-sampled marginal log-likelihood estimate
``log p(x) ~= log 1/K sum_k p(x|z_k) p(z_k) / q(z_k|x)``, ``z_k ~ q(z|x)``
(the estimator of the paper's Appendix D with ``q`` as proposal).
"""
import math
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.structures import BaseDataElement
from torch import nn

from tessera_generative.registry import MODELS

from ..losses import standard_normal_kl

LOG_2PI = math.log(2.0 * math.pi)

# Encoder conv stages, each followed by ReLU. Columns: (out_channels, kernel, stride, padding).
# The decoder mirrors the table with transposed convolutions (ReLU between them, logits out).
ARCH_SETTINGS = {
    'base': ((32, 4, 2, 1), (64, 4, 2, 1)),     # 28 -> 14 -> 7
    'wide': ((64, 4, 2, 1), (128, 4, 2, 1)),    # 28 -> 14 -> 7
    'deep': ((32, 4, 2, 1), (64, 4, 2, 1), (128, 3, 2, 1)),  # 28 -> 14 -> 7 -> 4
}


def _conv_out(size: int, kernel: int, stride: int, padding: int) -> int:
    return (size + 2 * padding - kernel) // stride + 1


@MODELS.register_module()
class ConvVAE(BaseModel):
    """Convolutional VAE with a Gaussian posterior and a Bernoulli decoder.

    Args:
        latent_dim (int): Dimension D of ``z``.
        in_channels (int): Image channels C.
        input_size (tuple[int, int]): Image size (H, W) the networks are built for.
        arch (str | Sequence[tuple]): A key of :attr:`ARCH_SETTINGS` or an
            explicit table of ``(out_channels, kernel, stride, padding)`` rows.
        hidden_dim (int): Width of the fully connected layer between the conv
            features and the latent code, in both networks.
        num_elbo_samples (int): Samples of ``z`` per image for the ELBO
            estimate reported by ``predict``.
        num_importance_samples (int): Samples K of the importance-sampled
            log-likelihood estimate in ``predict``; 0 disables it.
        importance_chunk (int): Samples decoded at once by that estimate.
        data_preprocessor (dict, optional): Defaults to ``VAEDataPreprocessor``.

    Shapes: inputs (N, C, H, W) float in [0, 1]; ``mu``/``logvar``/``z`` (N, D);
    decoder logits (N, C, H, W).
    """
    arch_settings = ARCH_SETTINGS

    def __init__(self, latent_dim: int = 16, in_channels: int = 1, input_size: Sequence[int] = (28, 28),
                 arch: Union[str, Sequence[Sequence[int]]] = 'base', hidden_dim: int = 256,
                 num_elbo_samples: int = 1, num_importance_samples: int = 0, importance_chunk: int = 16,
                 data_preprocessor: Optional[dict] = None, init_cfg=None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='VAEDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if isinstance(arch, str):
            if arch not in self.arch_settings:
                raise KeyError(f'unknown ConvVAE arch {arch!r}; valid: {sorted(self.arch_settings)}')
            table = self.arch_settings[arch]
        else:
            table = tuple(tuple(row) for row in arch)
            if not table or any(len(row) != 4 for row in table):
                raise ValueError('an explicit ConvVAE arch is a non-empty list of '
                                 f'(out_channels, kernel, stride, padding) rows, got {arch!r}')
        if latent_dim < 1 or hidden_dim < 1:
            raise ValueError(f'latent_dim and hidden_dim must be >= 1, got {latent_dim}, {hidden_dim}')
        if num_elbo_samples < 1 or num_importance_samples < 0 or importance_chunk < 1:
            raise ValueError(f'need num_elbo_samples >= 1, num_importance_samples >= 0, importance_chunk >= 1; '
                             f'got {num_elbo_samples}, {num_importance_samples}, {importance_chunk}')
        if len(input_size) != 2:
            raise ValueError(f'input_size must be (H, W), got {tuple(input_size)}')
        self.latent_dim, self.in_channels = latent_dim, in_channels
        self.input_size = tuple(int(s) for s in input_size)
        self.arch = table
        self.num_elbo_samples = num_elbo_samples
        self.num_importance_samples = num_importance_samples
        self.importance_chunk = importance_chunk

        # Spatial sizes after every encoder stage.
        sizes = [self.input_size]
        for (_, k, s, p) in table:
            h, w = (_conv_out(x, k, s, p) for x in sizes[-1])
            if h < 1 or w < 1:
                raise ValueError(f'input_size {self.input_size} is too small for ConvVAE arch {table}')
            sizes.append((h, w))
        self.feat_shape = (table[-1][0], *sizes[-1])
        feat_dim = math.prod(self.feat_shape)

        enc, prev = [], in_channels
        for (c, k, s, p) in table:
            enc += [nn.Conv2d(prev, c, k, s, p), nn.ReLU(inplace=True)]
            prev = c
        self.encoder = nn.Sequential(*enc, nn.Flatten(), nn.Linear(feat_dim, hidden_dim), nn.ReLU(inplace=True))
        self.fc_mu = nn.Linear(hidden_dim, latent_dim)
        self.fc_logvar = nn.Linear(hidden_dim, latent_dim)

        self.decoder_fc = nn.Sequential(nn.Linear(latent_dim, hidden_dim), nn.ReLU(inplace=True),
                                        nn.Linear(hidden_dim, feat_dim), nn.ReLU(inplace=True))
        dec = []
        for i in reversed(range(len(table))):
            c_in, k, s, p = table[i]
            c_out = table[i - 1][0] if i > 0 else in_channels
            natural = tuple((x - 1) * s - 2 * p + k for x in sizes[i + 1])
            out_pad = tuple(t - n for t, n in zip(sizes[i], natural))
            if any(not 0 <= op < s for op in out_pad):
                raise ValueError(f'ConvVAE arch row {table[i]} cannot be inverted from {sizes[i + 1]} back to '
                                 f'{sizes[i]} with a transposed convolution; choose another input_size or arch')
            dec.append(nn.ConvTranspose2d(c_in, c_out, k, s, p, output_padding=out_pad))
            if i > 0:
                dec.append(nn.ReLU(inplace=True))
        self.decoder_conv = nn.Sequential(*dec)

    # ------------------------------------------------------------------ networks
    def _check_inputs(self, x: torch.Tensor) -> None:
        expected = (self.in_channels, *self.input_size)
        if x.dim() != 4 or tuple(x.shape[1:]) != expected:
            raise ValueError(f'ConvVAE expects inputs of shape (N, {expected[0]}, {expected[1]}, {expected[2]}), '
                             f'got {tuple(x.shape)}')

    def encode(self, x: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (N, C, H, W) in [0, 1] -> posterior ``(mu, logvar)``, each (N, D)."""
        self._check_inputs(x)
        h = self.encoder(x)
        return self.fc_mu(h), self.fc_logvar(h)

    def decode(self, z: torch.Tensor) -> torch.Tensor:
        """z (N, D) -> Bernoulli logits (N, C, H, W)."""
        if z.dim() != 2 or z.size(1) != self.latent_dim:
            raise ValueError(f'latent codes must have shape (N, {self.latent_dim}), got {tuple(z.shape)}')
        h = self.decoder_fc(z).view(z.size(0), *self.feat_shape)
        return self.decoder_conv(h)

    @staticmethod
    def _randn(shape, like: torch.Tensor, generator: Optional[torch.Generator]) -> torch.Tensor:
        if generator is None:
            return torch.randn(shape, device=like.device, dtype=like.dtype)
        eps = torch.randn(shape, generator=generator, device=generator.device, dtype=like.dtype)
        return eps.to(like.device)

    def reparameterize(self, mu: torch.Tensor, logvar: torch.Tensor,
                       generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``z = mu + exp(logvar / 2) * eps`` with ``eps ~ N(0, I)``; (N, D) -> (N, D)."""
        eps = self._randn(mu.shape, mu, generator)
        return mu + torch.exp(0.5 * logvar) * eps

    @staticmethod
    def reconstruction_bce(logits: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``-log p(x|z)`` of a Bernoulli decoder summed over pixels: (N, C, H, W) -> (N,)."""
        return F.binary_cross_entropy_with_logits(logits, x, reduction='none').flatten(1).sum(1)

    # ------------------------------------------------------------------ objectives
    def elbo_terms(self, x: torch.Tensor, num_samples: int = 1,
                   generator: Optional[torch.Generator] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Per-image reconstruction BCE (mean over ``num_samples`` draws of z) and KL.

        Returns:
            tuple[Tensor, Tensor]: ``(rec, kl)``, each (N,) in nats; the negative
            ELBO estimate is ``rec + kl``.
        """
        mu, logvar = self.encode(x)
        rec = x.new_zeros(x.size(0))
        for _ in range(num_samples):
            rec = rec + self.reconstruction_bce(self.decode(self.reparameterize(mu, logvar, generator)), x)
        return rec / num_samples, standard_normal_kl(mu, logvar)

    def importance_log_weights(self, x: torch.Tensor, num_samples: int,
                               generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """``log w_k = log p(x|z_k) + log p(z_k) - log q(z_k|x)`` with ``z_k ~ q(z|x)``.

        Returns:
            Tensor: (K, N) log importance weights in nats.
        """
        if num_samples < 1:
            raise ValueError(f'num_samples must be >= 1, got {num_samples}')
        mu, logvar = self.encode(x)
        n, d = mu.shape
        out = []
        for start in range(0, num_samples, self.importance_chunk):
            k = min(self.importance_chunk, num_samples - start)
            eps = self._randn((k, n, d), mu, generator)
            z = mu + torch.exp(0.5 * logvar) * eps                               # (k, N, D)
            log_q = -0.5 * (LOG_2PI + logvar + eps.pow(2)).sum(-1)               # (k, N)
            log_prior = -0.5 * (LOG_2PI + z.pow(2)).sum(-1)                      # (k, N)
            logits = self.decode(z.reshape(k * n, d))
            log_px = -self.reconstruction_bce(logits, x.repeat(k, 1, 1, 1)).view(k, n)
            out.append(log_px + log_prior - log_q)
        return torch.cat(out)

    def log_likelihood(self, x: torch.Tensor, num_samples: int,
                       generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Importance-sampled ``log p(x)`` estimate, (N,) nats (a lower bound in expectation)."""
        log_w = self.importance_log_weights(x, num_samples, generator)
        return torch.logsumexp(log_w, dim=0) - math.log(num_samples)

    @torch.no_grad()
    def sample(self, num: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Draw ``num`` images from the model: ``z ~ N(0, I)``, pixel probabilities
        ``sigmoid(decoder(z))``. Returns (num, C, H, W) in [0, 1]; equal seeds give equal samples."""
        if num < 1:
            raise ValueError(f'num must be >= 1, got {num}')
        ref = next(self.parameters())
        z = self._randn((num, self.latent_dim), ref, generator)
        return torch.sigmoid(self.decode(z))

    # ------------------------------------------------------------------ mmengine API
    def forward(self, inputs: torch.Tensor, data_samples: Optional[List[BaseDataElement]] = None,
                mode: str = 'tensor'):
        """Modes: ``'loss'`` -> dict(loss_rec, loss_kl) (means over the batch of
        per-image sums); ``'predict'`` -> data samples with ``pred_img`` (C, H, W)
        (the decoded posterior mean), ``rec_loss``, ``kl``, ``nelbo`` and, if
        enabled, ``log_likelihood``; ``'tensor'`` -> ``(logits, mu, logvar)``."""
        if mode == 'loss':
            return self.loss(inputs)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            mu, logvar = self.encode(inputs)
            return self.decode(self.reparameterize(mu, logvar)), mu, logvar
        raise ValueError(f"invalid mode {mode!r}; valid: 'loss', 'predict', 'tensor'")

    def loss(self, inputs: torch.Tensor) -> dict:
        rec, kl = self.elbo_terms(inputs, num_samples=1)
        return dict(loss_rec=rec.mean(), loss_kl=kl.mean())

    def predict(self, inputs: torch.Tensor,
                data_samples: Optional[List[BaseDataElement]] = None) -> List[BaseDataElement]:
        rec, kl = self.elbo_terms(inputs, num_samples=self.num_elbo_samples)
        mu, _ = self.encode(inputs)
        recon = torch.sigmoid(self.decode(mu))
        log_lik = (self.log_likelihood(inputs, self.num_importance_samples)
                   if self.num_importance_samples > 0 else None)
        if data_samples is None:
            data_samples = [BaseDataElement() for _ in range(inputs.size(0))]
        for i, sample in enumerate(data_samples):
            sample.pred_img = recon[i]
            sample.rec_loss = rec[i]
            sample.kl = kl[i]
            sample.nelbo = rec[i] + kl[i]
            if log_lik is not None:
                sample.log_likelihood = log_lik[i]
        return data_samples
