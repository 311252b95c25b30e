"""Adversarial Learning with Local Coordinate Coding (LCCGAN), Cao, Guo, Wu, Shen, Huang & Tan, ICML 2018,
arXiv:1806.04895. Official repository: https://github.com/guoyongcs/LCCGAN (``trainer.py``).

Three stages in one mmengine run (one ``train_step`` per iteration):

1. iterations ``0 .. ae_iters-1``: the autoencoder (``ConvEncoder`` -> embedding (N, D) -> decoder)
   is trained with the L1 reconstruction loss (official) through the ``autoencoder`` optimizer wrapper;
   the last ``lcc_cfg['num_points']`` real images seen are kept (CPU) for stage 2;
2. at iteration ``ae_iters``: the encoder (eval mode) embeds those images and :func:`fit_lcc_bases`
   fits ``num_bases`` LCC bases on the embeddings; they become the buffers of the generator's
   :class:`LCCSampler` (and of its EMA). The LCC reconstruction error of the embeddings by their ``d``
   nearest bases and the distance of LCC samples to the nearest real embedding are logged
   (``lcc_rel_err``, ``lcc_sample_nn``, ``emb_nn``);
3. from then on :class:`BaseGAN`'s step: the generator maps ``z ~ N(0, I_d)`` (``d`` = ``local_size``,
   official 3) through LCC sampling on the manifold to images.
"""
import copy
from typing import Dict, Optional, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from mmengine.optim import OptimWrapperDict
from torch import nn

from tessera_generative.registry import MODELS
from ..lcc.lcc_bases import fit_lcc_bases
from ..lcc.lcc_coding import lcc_reconstruction_error
from .base_gan import BaseGAN

LCC_DEFAULTS = dict(num_points=1000, init='kmeans', epochs=3, batch_size=1000, rounds=10, steps=10, lr=0.01,
                    lg=2.0, lam=0.2, order=2, seed=0)


@MODELS.register_module()
class LCCGAN(BaseGAN):
    """Args:
        generator (dict | nn.Module): an :class:`LCCGenerator` (its ``noise_size`` = ``local_size`` = d).
        discriminator (dict | nn.Module): as in :class:`BaseGAN`.
        encoder (dict | nn.Module): images (N, C, H, W) -> embeddings (N, D), e.g. ``ConvEncoder``.
        decoder (dict | nn.Module): embeddings (N, D) -> images, e.g. ``DCGANGenerator(noise_size=D)``.
        ae_iters (int): stage-1 iterations (>= 1).
        lcc_cfg (dict): keys of :data:`LCC_DEFAULTS` (stage 2, the official values; ``order=3``,
            ``lg=1e-4`` and ``local_size=5`` give LCCGAN++, arXiv:2008.00942).
        **kwargs: :class:`BaseGAN`'s (losses, EMA, n_discriminator_steps, ...).

    ``optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', generator=..., discriminator=...,
    autoencoder=...)``.
    """

    def __init__(self, generator: Union[dict, nn.Module], discriminator: Union[dict, nn.Module],
                 encoder: Union[dict, nn.Module], decoder: Union[dict, nn.Module], ae_iters: int = 500,
                 lcc_cfg: Optional[dict] = None, **kwargs):
        super().__init__(generator, discriminator, **kwargs)
        if ae_iters < 1:
            raise ValueError(f'ae_iters must be >= 1 (the bases are fitted on trained embeddings), got {ae_iters}')
        unknown = set(lcc_cfg or {}) - set(LCC_DEFAULTS)
        if unknown:
            raise KeyError(f'unknown lcc_cfg keys {sorted(unknown)}; valid: {sorted(LCC_DEFAULTS)}')
        self.lcc_cfg = {**LCC_DEFAULTS, **(lcc_cfg or {})}
        if self.lcc_cfg['num_points'] < self.generator.sampler.num_bases:
            raise ValueError(f"lcc_cfg num_points={self.lcc_cfg['num_points']} < num_bases="
                             f'{self.generator.sampler.num_bases}')
        dim = self.generator.embedding_dim
        if isinstance(encoder, dict):
            encoder = MODELS.build(encoder, default_args=dict(embedding_dim=dim))
        if isinstance(decoder, dict):
            decoder = MODELS.build(decoder, default_args=dict(noise_size=dim))
        self.autoencoder = nn.ModuleDict(dict(encoder=encoder, decoder=decoder))
        self.ae_iters = ae_iters
        self.register_buffer('ae_steps', torch.zeros((), dtype=torch.long))
        self.register_buffer('bases_fitted', torch.zeros((), dtype=torch.bool))
        self._bank = []
        self.lcc_stats: Dict[str, float] = {}

    @property
    def encoder(self) -> nn.Module:
        return self.autoencoder['encoder']

    @torch.no_grad()
    def embed(self, img: torch.Tensor, chunk: int = 500) -> torch.Tensor:
        """Normalised images (N, C, H, W) -> embeddings (N, D), encoder in eval mode."""
        was = self.encoder.training
        self.encoder.eval()
        out = torch.cat([self.encoder(img[i:i + chunk].to(self.device)) for i in range(0, img.size(0), chunk)])
        self.encoder.train(was)
        return out

    def train_autoencoder(self, real: torch.Tensor, optim_wrapper) -> Dict[str, torch.Tensor]:
        with optim_wrapper.optim_context(self.autoencoder):
            rec = self.autoencoder['decoder'](self.encoder(real))
            self._check_outputs(real, rec)
            loss = F.l1_loss(rec, real)
            optim_wrapper.update_params(loss)
        self._bank.append(real.detach().cpu())
        keep, total = [], 0
        for b in reversed(self._bank):
            if total >= self.lcc_cfg['num_points']:
                break
            keep.append(b)
            total += b.size(0)
        self._bank = list(reversed(keep))
        self.ae_steps += 1
        return dict(loss_ae=loss.detach())

    @torch.no_grad()
    def fit_bases(self) -> Dict[str, float]:
        """Stage 2 on the kept images; sets the generator's (and the EMA's) LCC bases."""
        if not self._bank:
            raise RuntimeError('LCCGAN has no stored images to fit its bases on (run the autoencoder stage first)')
        imgs = torch.cat(self._bank)[-self.lcc_cfg['num_points']:]
        if imgs.size(0) < self.generator.sampler.num_bases:
            raise ValueError(f'LCCGAN stage 1 kept {imgs.size(0)} images (ae_iters={self.ae_iters} x the batch size) '
                             f'but fitting num_bases={self.generator.sampler.num_bases} bases needs at least as many; '
                             'raise ae_iters or the batch size')
        emb = self.embed(imgs).cpu()
        cfg = {k: v for k, v in self.lcc_cfg.items() if k != 'num_points'}
        with torch.enable_grad():
            bases = fit_lcc_bases(emb, self.generator.sampler.num_bases, **cfg)
        self.generator.set_bases(bases)
        if self.with_ema_gen:
            self._ema_generator().set_bases(bases)
        d = self.generator.sampler.local_size
        err = lcc_reconstruction_error(emb, bases, d)
        h = self.generator.sampler(torch.randn(emb.size(0), d).to(self.device)).cpu()
        dist = torch.cdist(emb, emb)
        dist.fill_diagonal_(float('inf'))
        gauss = torch.randn_like(emb) * emb.std(0) + emb.mean(0)
        self.lcc_stats = dict(
            lcc_rel_err=err['relative'], lcc_mse=err['mse'],
            lcc_sample_nn=float(torch.cdist(h, emb).min(1).values.mean()),
            gauss_sample_nn=float(torch.cdist(gauss, emb).min(1).values.mean()),
            emb_nn=float(dist.min(1).values.mean()),
            emb_norm=float(emb.norm(dim=1).mean()))
        print_log('LCCGAN bases fitted on %d embeddings (D=%d, M=%d, d=%d): %s' % (
            emb.size(0), emb.size(1), bases.size(0), d,
            ', '.join(f'{k}={v:.4f}' for k, v in self.lcc_stats.items())), logger='current')
        self.bases_fitted.fill_(True)
        self._bank = []
        return self.lcc_stats

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        if not bool(self.bases_fitted):
            if 'autoencoder' not in optim_wrapper.keys():
                raise TypeError("LCCGAN needs an 'autoencoder' optimizer wrapper: optim_wrapper=dict(constructor="
                                "'MultiOptimWrapperConstructor', generator=..., discriminator=..., autoencoder=...)")
            if int(self.ae_steps) < self.ae_iters:
                real = self.data_preprocessor(copy.copy(data), True)['inputs']['img']
                self._current_iter()
                return self.train_autoencoder(real, optim_wrapper['autoencoder'])
            self.fit_bases()
        return super().train_step(data, optim_wrapper)
