"""The CARS parameter-optimisation step: the supernet trained through the paths of the population.

CARS: Continuous Evolution for Efficient Neural Architecture Search, Yang et al., CVPR 2020,
arXiv:1909.04977 (official code: huawei-noah/vega, ``vega/algorithms/nas/cars/cars_trainer_callback.py``).

Parameter optimisation (paper, eqs. 1-3): the shared weights ``W`` should serve every individual,
so their gradient is the mean of the individuals' gradients, approximated on each batch by a
mini-batch of ``N_b`` individuals ``n_1 .. n_b`` drawn from the population::

    dW = 1 / N_b * sum_{k=1..N_b} dL(N_{n_k}(X, W * C_{n_k}), Y) / dW                    (3)

then one SGD step (gradient clipping as the official trainer). Before the population exists
(parameter warm-up), every batch trains one path drawn uniformly (each edge's op uniform over the
space), so that every op is trained equally often; whatever ``N_b`` (the official callback also
stops after one path in warm-up). The population (canonical cell indices) is the
buffer :attr:`population`, set by :class:`~tessera_nas.engine.hooks.CARSEvolutionHook`; empty
(all ``-1``) means warm-up.
"""
from typing import Dict, Optional

import torch
from mmengine.optim import OptimWrapper
from tessera_core.models import ImageClassifier

from tessera_nas.benchmarks import space
from tessera_nas.registry import MODELS

__all__ = ['CARSClassifier']


@MODELS.register_module()
class CARSClassifier(ImageClassifier):
    """An :class:`ImageClassifier` over a :class:`~tessera_nas.models.search.CARSSupernet`.

    Args:
        backbone (dict): A supernet with ``set_path`` (``CARSSupernet``).
        head, neck, data_preprocessor, init_cfg: As :class:`ImageClassifier`.
        paths_per_iter (int): ``N_b`` of eq. (3) (paper and official default: 1).
        population_size (int): Length of the :attr:`population` buffer (the hook fills it).

    Shapes: inputs (N, C, H, W) as the backbone expects.
    """

    def __init__(self, backbone: dict, head: dict, neck: Optional[dict] = None,
                 data_preprocessor: Optional[dict] = None, init_cfg=None, paths_per_iter: int = 1,
                 population_size: int = 16):
        if isinstance(paths_per_iter, bool) or not isinstance(paths_per_iter, int) or paths_per_iter < 1:
            raise ValueError(f'paths_per_iter must be an int >= 1, got {paths_per_iter!r}')
        if isinstance(population_size, bool) or not isinstance(population_size, int) or population_size < 2:
            raise ValueError(f'population_size must be an int >= 2, got {population_size!r}')
        super().__init__(backbone=backbone, head=head, neck=neck, data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        if not callable(getattr(self.backbone, 'set_path', None)):
            raise TypeError(f'CARSClassifier needs a supernet backbone with set_path() (e.g. CARSSupernet); got '
                            f'{type(self.backbone).__name__}')
        self.paths_per_iter = paths_per_iter
        self.register_buffer('population', torch.full((population_size,), -1, dtype=torch.long))

    # ------------------------------------------------------------------------------ population
    @property
    def in_warmup(self) -> bool:
        return bool((self.population < 0).all())

    def set_population(self, indices) -> None:
        idx = torch.as_tensor(list(indices), dtype=torch.long)
        if idx.numel() != self.population.numel():
            raise ValueError(f'population has {self.population.numel()} slots (population_size), got '
                             f'{idx.numel()} individuals')
        if (idx < 0).any() or (idx >= space.NUM_ARCHS).any():
            raise ValueError(f'population indices must lie in [0, {space.NUM_ARCHS}), got {idx.tolist()}')
        self.population.copy_(idx)

    def sample_path(self) -> int:
        """The space index of one path: uniform per edge in warm-up, else a uniform population member."""
        if self.in_warmup:
            ops = torch.randint(len(space.OPS), (len(space.EDGES),)).tolist()
            return space.index_of([space.OPS[i] for i in ops])
        return int(self.population[int(torch.randint(self.population.numel(), ()))])

    def subnet(self, arch: space.ArchLike):
        """The individual ``arch`` as a standalone network sharing the supernet's tensors (logits out)."""
        from tessera_nas.models.search.cars_supernet import CARSSubnet
        return CARSSubnet(self.backbone, arch, head=self.head.fc)

    # ------------------------------------------------------------------------------------ step
    def train_step(self, data: dict, optim_wrapper: OptimWrapper) -> Dict[str, torch.Tensor]:
        """Eq. (3) on one batch: ``N_b`` paths, mean of their losses, one backward each, one step."""
        if not isinstance(optim_wrapper, OptimWrapper):
            raise ValueError('CARSClassifier.train_step needs a single OptimWrapper (one SGD for the supernet), '
                             f'got {type(optim_wrapper).__name__}')
        batch = self.data_preprocessor(data, True)
        optim_wrapper.zero_grad()
        total = None
        # warm-up: one uniform path per batch whatever N_b (the official callback breaks after the first)
        n_paths = 1 if self.in_warmup else self.paths_per_iter
        for _ in range(n_paths):
            self.backbone.set_path(self.sample_path())
            losses = self._run_forward(batch, mode='loss')
            loss, log_vars = self.parse_losses(losses)
            (loss / n_paths).backward()
            total = loss.detach() if total is None else total + loss.detach()
        optim_wrapper.step()  # clip_grad of the wrapper applies
        optim_wrapper.zero_grad()
        log_vars['loss'] = total / n_paths
        log_vars['warmup'] = torch.tensor(float(self.in_warmup))
        return log_vars
