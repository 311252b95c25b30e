"""GAN training on mmengine, in the conventions of mmagic 1.x's ``BaseGAN``.

Generative Adversarial Nets, Goodfellow et al., NeurIPS 2014, arXiv:1406.2661
(the alternating optimisation of Algorithm 1: ``k`` discriminator steps per generator step).
Reference code for the conventions: open-mmlab/mmagic ``mmagic/models/base_models/base_gan.py``
(mmagic 1.2 does not import on numpy 2; this is an independent implementation of its interface).

One config builds the generator and the discriminator; ``train_step`` receives an
``OptimWrapperDict`` with ``generator`` and ``discriminator`` wrappers
(``optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', generator=..., discriminator=...)``).
Every ``train_step`` (one iteration) makes one discriminator update on the real batch and
fresh fakes ``G(z)`` (generated without a graph into ``G``); the generator is updated
``n_generator_steps`` times on iterations ``i`` with ``(i + 1) % n_discriminator_steps == 0``,
with the discriminator's parameters frozen (``requires_grad=False``). After each generator
phase the EMA generator (``ema_config``, default type mmengine's ``ExponentialMovingAverage``:
``ema = (1 - momentum) * ema + momentum * G``, copied from ``G`` at its first update) is
updated; before ``start_iter`` generator phases it is a copy of ``G``.

Losses come from ``loss_config``: ``gan_loss`` (:class:`GANLoss`: ``'vanilla'`` (non-saturating
generator loss), ``'hinge'``, ``'wgan'``, ``'lsgan'``) and ``disc_auxiliary_loss`` (a list of
modules called ``loss(discriminator, real, fake)``, e.g. :class:`GradientPenaltyLoss` for WGAN-GP).
"""
import copy
from typing import Dict, List, Optional, Sequence, Union

import torch
from mmengine import MessageHub
from mmengine.model import BaseModel, is_model_wrapper
from mmengine.optim import OptimWrapper, OptimWrapperDict
from mmengine.structures import BaseDataElement
from torch import nn

from tessera_generative.registry import MODELS

SAMPLE_MODELS = ('ema', 'orig', 'ema/orig')


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


@MODELS.register_module()
class BaseGAN(BaseModel):
    """Unconditional GAN: generator + discriminator + losses + optional generator EMA.

    Args:
        generator (dict | nn.Module): Maps noise (N, noise_size) to images (N, C, H, W) in the
            preprocessor's normalised range ([-1, 1] by default).
        discriminator (dict | nn.Module): Maps images to one score per image, (N, 1) or (N,).
        data_preprocessor (dict, optional): Defaults to ``GenDataPreprocessor``.
        noise_size (int, optional): Dimension of z; defaults to ``generator.noise_size`` and is
            passed to a generator config that does not set it.
        n_discriminator_steps (int): Discriminator updates (iterations) per generator phase
            (mmagic's ``discriminator_steps``; WGAN's ``n_critic``).
        n_generator_steps (int): Generator updates per generator phase.
        ema_config (dict, optional): Config of the generator's average, built with
            ``model=generator``; ``type`` defaults to ``'ExponentialMovingAverage'``;
            ``start_iter`` (generator phases before averaging starts) is popped.
        loss_config (dict, optional): ``gan_loss`` (default ``dict(type='GANLoss',
            gan_type='vanilla')``) and ``disc_auxiliary_loss`` (dict or list of dicts).

    ``val_step`` / ``test_step`` return one data sample per input image with ``fake_img``
    (C, H, W) in [0, 255] (from the EMA generator when there is one, see ``sample_model``),
    ``gt_img`` (the real image, [0, 255]) and ``noise``; ``sample_model='ema/orig'`` gives
    ``ema.fake_img`` and ``orig.fake_img`` instead.
    """

    def __init__(self, generator: Union[dict, nn.Module], discriminator: Union[dict, nn.Module],
                 data_preprocessor: Optional[dict] = None, noise_size: Optional[int] = None,
                 n_discriminator_steps: int = 1, n_generator_steps: int = 1,
                 ema_config: Optional[dict] = None, loss_config: Optional[dict] = None,
                 sample_model: Optional[str] = None, init_cfg: Optional[dict] = None):
        if data_preprocessor is None:
            data_preprocessor = dict(type='GenDataPreprocessor')
        if isinstance(data_preprocessor, dict):
            data_preprocessor = MODELS.build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        if n_discriminator_steps < 1 or n_generator_steps < 1:
            raise ValueError(f'n_discriminator_steps and n_generator_steps must be >= 1, got '
                             f'{n_discriminator_steps}, {n_generator_steps}')
        if isinstance(generator, dict):
            generator = MODELS.build(generator, default_args=dict(noise_size=noise_size) if noise_size else None)
        if isinstance(discriminator, dict):
            discriminator = MODELS.build(discriminator)
        self.generator, self.discriminator = generator, discriminator
        self.noise_size = getattr(generator, 'noise_size', noise_size)
        if self.noise_size is None:
            raise ValueError(f'set noise_size: the generator {type(generator).__name__} has no noise_size attribute')
        if noise_size is not None and self.noise_size != noise_size:
            raise ValueError(f'noise_size={noise_size} but the generator {type(generator).__name__} '
                             f'takes noise of size {self.noise_size}')
        self.n_discriminator_steps, self.n_generator_steps = n_discriminator_steps, n_generator_steps

        loss_config = copy.deepcopy(loss_config) if loss_config else {}
        unknown = set(loss_config) - {'gan_loss', 'disc_auxiliary_loss'}
        if unknown:
            raise KeyError(f'unknown loss_config keys {sorted(unknown)}; valid: gan_loss, disc_auxiliary_loss')
        self.gan_loss = MODELS.build(loss_config.get('gan_loss', dict(type='GANLoss', gan_type='vanilla')))
        aux = loss_config.get('disc_auxiliary_loss') or []
        aux = [aux] if isinstance(aux, dict) else list(aux)
        self.disc_auxiliary_losses = nn.ModuleList([MODELS.build(cfg) for cfg in aux])

        if ema_config is not None:
            ema_config = copy.deepcopy(dict(ema_config))
            ema_config.setdefault('type', 'ExponentialMovingAverage')
            self.ema_start = int(ema_config.pop('start_iter', 0))
            self.generator_ema = MODELS.build(ema_config, default_args=dict(model=self.generator))
            set_requires_grad(self.generator_ema, False)
        else:
            self.ema_start, self.generator_ema = 0, None
        if sample_model is not None and sample_model not in SAMPLE_MODELS:
            raise ValueError(f'unknown sample_model {sample_model!r}; valid: {SAMPLE_MODELS}')
        self.sample_model = sample_model
        self._fallback_iter = 0   # used when no runner publishes 'iter' in the message hub
        # generator phases done (for the EMA's start_iter); a buffer, so it survives a resume
        self.register_buffer('gen_phases', torch.zeros((), dtype=torch.long))

    # ------------------------------------------------------------------ helpers
    @property
    def with_ema_gen(self) -> bool:
        return self.generator_ema is not None

    @property
    def device(self) -> torch.device:
        return next(self.generator.parameters()).device

    def noise_fn(self, num_batches: int, noise: Optional[torch.Tensor] = None) -> torch.Tensor:
        """z ~ N(0, I) of shape (num_batches, noise_size), or ``noise`` checked and moved to the device."""
        if noise is None:
            return torch.randn(num_batches, self.noise_size, device=self.device)
        if noise.dim() != 2 or noise.size(1) != self.noise_size:
            raise ValueError(f'noise must have shape (N, {self.noise_size}), got {tuple(noise.shape)}')
        return noise.to(self.device)

    def _check_outputs(self, real: torch.Tensor, fake: torch.Tensor) -> None:
        if fake.shape[1:] != real.shape[1:]:
            raise ValueError(
                f'the generator {type(self.generator).__name__} produces images of shape (N, '
                f'{", ".join(map(str, fake.shape[1:]))}) but the data are (N, {", ".join(map(str, real.shape[1:]))}); '
                'build it for the data\'s channels and size')

    def _scores(self, img: torch.Tensor) -> torch.Tensor:
        """Discriminator scores (N, 1); refuses any other output shape, naming both shapes."""
        out = self.discriminator(img)
        if out.dim() == 1:
            out = out[:, None]
        if out.dim() != 2 or out.shape != (img.size(0), 1):
            raise ValueError(
                f'the discriminator {type(self.discriminator).__name__} maps images of shape {tuple(img.shape)} '
                f'to {tuple(out.shape)}; it must give one score per image, ({img.size(0)}, 1) or ({img.size(0)},)')
        return out

    def _current_iter(self) -> int:
        try:
            it = MessageHub.get_current_instance().get_info('iter')
        except RuntimeError:
            it = None
        if it is None:
            it = self._fallback_iter
        self._fallback_iter = it + 1
        return int(it)

    def _resolve_sample_model(self, inputs) -> str:
        choice = inputs.get('sample_model') if isinstance(inputs, dict) else None
        choice = choice or self.sample_model or ('ema' if self.with_ema_gen else 'orig')
        if choice not in SAMPLE_MODELS:
            raise ValueError(f'unknown sample_model {choice!r}; valid: {SAMPLE_MODELS}')
        if choice != 'orig' and not self.with_ema_gen:
            raise ValueError(f"sample_model={choice!r} needs an EMA generator (set ema_config)")
        return choice

    def _ema_generator(self) -> nn.Module:
        return self.generator_ema.module

    # ------------------------------------------------------------------ training
    def train_discriminator(self, real: torch.Tensor, optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """One discriminator update: GAN loss on real and on fresh fakes + auxiliary losses."""
        with torch.no_grad():
            fake = self.generator(self.noise_fn(real.size(0)))
        self._check_outputs(real, fake)
        pred_real, pred_fake = self._scores(real), self._scores(fake)
        losses = dict(loss_disc_real=self.gan_loss(pred_real, target_is_real=True, is_disc=True),
                      loss_disc_fake=self.gan_loss(pred_fake, target_is_real=False, is_disc=True))
        for aux in self.disc_auxiliary_losses:
            name = aux.loss_name() if hasattr(aux, 'loss_name') else f'loss_{type(aux).__name__}'
            losses[name] = losses.get(name, 0) + aux(self._scores, real, fake)
        loss, log_vars = self.parse_losses(losses)
        optim_wrapper.update_params(loss)
        log_vars = {k: v.detach() for k, v in log_vars.items() if k != 'loss'}
        log_vars['loss_disc'] = loss.detach()
        return log_vars

    def train_generator(self, num_batches: int, optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """One generator update on ``gan_loss(D(G(z)), target_is_real=True)``."""
        fake = self.generator(self.noise_fn(num_batches))
        loss, log_vars = self.parse_losses(
            dict(loss_gen=self.gan_loss(self._scores(fake), target_is_real=True, is_disc=False)))
        optim_wrapper.update_params(loss)
        return {k: v.detach() for k, v in log_vars.items() if k != 'loss'}

    def update_ema(self) -> None:
        """Average the generator into ``generator_ema`` (or copy it before ``start_iter``)."""
        if not self.with_ema_gen:
            return
        src = self.generator.module if is_model_wrapper(self.generator) else self.generator
        if int(self.gen_phases) >= self.ema_start:
            self.generator_ema.update_parameters(src)
        else:
            with torch.no_grad():
                for dst, s in zip(self._ema_generator().state_dict().values(), src.state_dict().values()):
                    dst.copy_(s)
        self.gen_phases += 1

    def train_step(self, data: dict, optim_wrapper: OptimWrapperDict) -> Dict[str, torch.Tensor]:
        if not isinstance(optim_wrapper, OptimWrapperDict) or \
                not {'generator', 'discriminator'} <= set(optim_wrapper.keys()):
            raise TypeError(
                'BaseGAN.train_step needs an OptimWrapperDict with generator and discriminator wrappers: '
                "optim_wrapper=dict(constructor='MultiOptimWrapperConstructor', generator=dict(optimizer=...), "
                f'discriminator=dict(optimizer=...)); got {type(optim_wrapper).__name__}')
        curr_iter = self._current_iter()
        data = self.data_preprocessor(data, True)
        real = data['inputs']['img']
        d_wrapper = optim_wrapper['discriminator']
        with d_wrapper.optim_context(self.discriminator):
            log_vars = self.train_discriminator(real, d_wrapper)
        if (curr_iter + 1) % (self.n_discriminator_steps * d_wrapper._accumulative_counts) == 0:
            g_wrapper = optim_wrapper['generator']
            steps = self.n_generator_steps * g_wrapper._accumulative_counts
            g_wrapper.initialize_count_status(self.generator, 0, steps)
            set_requires_grad(self.discriminator, False)
            gen_logs: List[Dict[str, torch.Tensor]] = []
            try:
                for _ in range(steps):
                    with g_wrapper.optim_context(self.generator):
                        gen_logs.append(self.train_generator(real.size(0), g_wrapper))
            finally:
                set_requires_grad(self.discriminator, True)
            self.update_ema()
            log_vars.update({k: torch.stack([g[k] for g in gen_logs]).mean() for k in gen_logs[0]})
        return log_vars

    # ------------------------------------------------------------------ sampling
    @torch.no_grad()
    def forward(self, inputs: Union[dict, torch.Tensor], data_samples: Optional[Sequence] = None,
                mode: Optional[str] = None):
        """Sample images. ``inputs``: a noise tensor (N, noise_size) or a dict with any of ``noise``,
        ``num_batches``, ``img`` (real images, normalised; their count sets N and they are returned as
        ``gt_img``) and ``sample_model``. ``mode='tensor'`` returns the generator's raw output
        (N, C, H, W); otherwise (``None``/``'predict'``) one data sample per image (see the class doc)."""
        if mode not in (None, 'predict', 'tensor'):
            raise ValueError(f"invalid mode {mode!r}; valid: None, 'predict', 'tensor' (losses come from train_step)")
        if isinstance(inputs, torch.Tensor):
            inputs = dict(noise=inputs)
        real = inputs.get('img')
        num = inputs.get('num_batches')
        if num is None:
            num = real.size(0) if real is not None else (len(data_samples) if data_samples else 1)
        noise = self.noise_fn(int(num), inputs.get('noise'))
        choice = self._resolve_sample_model(inputs)
        gens = dict(orig=self.generator) if choice == 'orig' else (
            dict(ema=self._ema_generator()) if choice == 'ema' else
            dict(ema=self._ema_generator(), orig=self.generator))
        outputs = {k: g(noise) for k, g in gens.items()}
        if real is not None:
            for out in outputs.values():
                self._check_outputs(real, out)
        if mode == 'tensor':
            return outputs[choice.split('/')[0]]
        destruct = self.data_preprocessor.destruct
        fakes = {k: destruct(v) for k, v in outputs.items()}
        gt = destruct(real) if real is not None else None
        results = []
        for i in range(noise.size(0)):
            meta = data_samples[i].metainfo if data_samples and i < len(data_samples) else {}
            sample = BaseDataElement(metainfo=meta)
            if choice == 'ema/orig':
                sample.ema = BaseDataElement(fake_img=fakes['ema'][i])
                sample.orig = BaseDataElement(fake_img=fakes['orig'][i])
            else:
                sample.fake_img = fakes[choice][i]
            if gt is not None:
                sample.gt_img = gt[i]
            sample.noise = noise[i]
            sample.set_metainfo(dict(sample_model=choice))
            results.append(sample)
        return results

    def val_step(self, data: dict) -> list:
        data = self.data_preprocessor(data, False)
        return self(**data)

    test_step = val_step
