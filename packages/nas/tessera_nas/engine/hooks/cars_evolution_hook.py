"""CARS' continuous evolution: warm-up, then every few epochs one generation evolved on the supernet.

CARS: Continuous Evolution for Efficient Neural Architecture Search, Yang et al., CVPR 2020,
arXiv:1909.04977, Algorithm 1 (official code: huawei-noah/vega ``cars_alg.py`` ``search_evol_arch``,
``cars_trainer_callback.py``). Selection and operators: :mod:`tessera_nas.engine.cars_evolution`.
"""
import copy
import json
import os.path as osp
from typing import Dict, List, Optional

import numpy as np
import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_nas.benchmarks import TabularBenchmark, space
from tessera_nas.benchmarks.search import table_neighbors
from tessera_nas.engine.cars_evolution import PROTECTIONS, generate_offspring, nsga3_select, pnsga3_select
from tessera_nas.registry import HOOKS

__all__ = ['CARSEvolutionHook', 'OBJECTIVES']

#: The cost objectives an individual can be selected on (all read from its cell).
OBJECTIVES = ('params', 'macs', 'latency')


@HOOKS.register_module()
class CARSEvolutionHook(Hook):
    """Run CARS' evolution around the supernet training of :class:`~tessera_nas.models.CARSClassifier`.

    After ``warmup_epochs`` epochs of uniform single-path training (parameter warm-up), the
    population is initialised with ``population_size`` random individuals. Then after every
    ``interval`` further epochs (the population's paths train the supernet in between, eq. 3), one
    generation: ``round(offspring_ratio * N)`` offspring (mutation / crossover / random), every parent
    and offspring evaluated with the weights it inherits from the supernet (validation accuracy on the
    run's ``val_dataloader``, the fitness), and pNSGA-III keeps ``N`` of them on (accuracy, ``objective``)
    with the ``protection``. The accuracy increase of an individual is its accuracy now minus its
    accuracy with the supernet weights of the previous generation (kept in memory; offspring are
    evaluated with them too). Plain NSGA-III's choice on the same candidates is computed beside it,
    so every record says which survivors it would have dropped.

    Every evaluation and every generation is written to ``<work_dir>/<record_file>``: candidates with
    their cell, origin, accuracy, previous accuracy, increase, params / MACs / latency, kept or not, kept
    by NSGA-III or not; the supernet's weight movement (relative L2 distance to the initial weights and
    to the previous generation's); the final population's first front.

    Args:
        warmup_epochs (int): Epochs of uniform-path warm-up before the population exists.
        interval (int): Epochs of population training between generations.
        population_size (int): ``N`` (the classifier's ``population_size``).
        offspring_ratio (float): Offspring per parent (paper ``t``; official ``expand`` = 1).
        p_mutation, p_crossover (float): Probability of a mutated / crossed offspring (0.25 / 0.25;
            the rest are random individuals).
        crossover_rate, mutation_rate (float): Per-edge rates (0.5 / 0.5).
        objective (str): Cost objective, one of ``params``, ``macs``, ``latency`` (the table's).
        protection (str): ``increase`` (paper's pNSGA-III), ``large`` (official ``CARS_NSGA``) or
            ``none`` (plain NSGA-III).
        restrict_to_table (bool): Individuals are cells of the tabular benchmark only (random ones
            drawn uniformly from the table), so that each one can be scored by the table; required by
            ``objective='latency'``.
        outside_table (str): With ``restrict_to_table``, what happens to a mutated or crossed child
            outside the table: ``'nearest'`` (default) replaces it by one of the table cells nearest
            to it in edge-op edits (``benchmarks.search.table_neighbors``, drawn uniformly), ``'reject'``
            draws another offspring (the table holds ~10 % of the canonical cells, so then nearly
            every offspring is a random one).
        table (str, optional): Table file (default: the shipped one).
        divisions (int): NSGA-III reference directions per objective.
        seed (int): Seed of the evolution's generator.
        record_file (str): File name in the work dir.
        score_table_at_end (bool): After training, evaluate every cell of the table with the final
            supernet weights (``table_eval`` in the record: the supernet's ranking of the whole table,
            for measuring; off in a search).
    """
    priority = 'NORMAL'

    def __init__(self, warmup_epochs: int = 10, interval: int = 2, population_size: int = 16,
                 offspring_ratio: float = 1.0, p_mutation: float = 0.25, p_crossover: float = 0.25,
                 crossover_rate: float = 0.5, mutation_rate: float = 0.5, objective: str = 'params',
                 protection: str = 'increase', restrict_to_table: bool = True, table: Optional[str] = None,
                 divisions: int = 10, seed: int = 0, record_file: str = 'cars_generations.json',
                 score_table_at_end: bool = False, outside_table: str = 'nearest'):
        if objective not in OBJECTIVES:
            raise ValueError(f'CARSEvolutionHook: objective {objective!r} is not one of {list(OBJECTIVES)}')
        if protection not in PROTECTIONS:
            raise ValueError(f'CARSEvolutionHook: protection {protection!r} is not one of {list(PROTECTIONS)}')
        if isinstance(population_size, bool) or not isinstance(population_size, int) or population_size < 2:
            raise ValueError(f'CARSEvolutionHook: population_size must be an int >= 2, got {population_size!r}')
        for name, v in (('warmup_epochs', warmup_epochs), ('interval', interval)):
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == 'warmup_epochs' else 1):
                raise ValueError(f'CARSEvolutionHook: {name} must be an int >= '
                                 f'{0 if name == "warmup_epochs" else 1}, got {v!r}')
        if not offspring_ratio > 0:
            raise ValueError(f'CARSEvolutionHook: offspring_ratio must be > 0, got {offspring_ratio}')
        if outside_table not in ('nearest', 'reject'):
            raise ValueError(f"CARSEvolutionHook: outside_table {outside_table!r} is not one of ['nearest', 'reject']")
        if objective == 'latency' and not restrict_to_table:
            raise ValueError("CARSEvolutionHook: objective='latency' reads the table's measured latency; "
                             'set restrict_to_table=True')
        self.warmup_epochs, self.interval, self.n = warmup_epochs, interval, population_size
        self.num_offspring = max(1, int(round(offspring_ratio * population_size)))
        self.op_kw = dict(p_mutation=p_mutation, p_crossover=p_crossover, crossover_rate=crossover_rate,
                          mutation_rate=mutation_rate)
        self.objective, self.protection, self.divisions = objective, protection, divisions
        self.restrict_to_table, self.table_path, self.seed = restrict_to_table, table, seed
        self.record_file, self.score_table_at_end = record_file, score_table_at_end
        self.outside_table = outside_table
        self._repaired = 0
        self.table_eval: Dict[int, float] = {}
        self.rng = np.random.default_rng(seed)
        self.bench: Optional[TabularBenchmark] = None
        self.population: List[int] = []  # canonical indices
        self.acc: Dict[int, float] = {}  # accuracy of the population members at the last evaluation
        self.prev_state: Optional[dict] = None
        self.init_state: Optional[dict] = None
        self.generations: List[dict] = []
        self.evaluations = 0
        self._fitness = None

    # ------------------------------------------------------------------------------- helpers
    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _key(self, ops) -> Optional[int]:
        idx = space.canonical_index(ops)
        if self.restrict_to_table and idx not in self.bench:
            return None
        return idx

    def _repair(self, ops, rng) -> tuple:
        idx = space.canonical_index(ops)
        if idx in self.bench:
            return ops
        near = table_neighbors(self.bench, idx, 1)
        self._repaired += 1
        return space.ops_of(near[int(rng.integers(len(near)))])

    def _random(self, rng) -> tuple:
        if self.restrict_to_table:
            idx = self.bench.indices[int(rng.integers(len(self.bench)))]
            return space.ops_of(idx)
        return tuple(space.OPS[int(i)] for i in rng.integers(0, len(space.OPS), len(space.EDGES)))

    def _fitness_batches(self, runner, model):
        if self._fitness is None:
            batches = []
            for data in runner.val_dataloader:
                batch = model.data_preprocessor(data, False)
                labels = torch.cat([ds.gt_label.view(-1) for ds in batch['data_samples']])
                batches.append((batch['inputs'], labels))
            self._fitness = batches
        return self._fitness

    @torch.no_grad()
    def evaluate(self, runner, model, idx: int) -> float:
        """Inherited-weight accuracy (%) of cell ``idx`` on the run's validation data."""
        was_training = model.training
        model.eval()
        model.backbone.set_path(idx)
        correct = total = 0
        for x, y in self._fitness_batches(runner, model):
            pred = model(x, mode='tensor').argmax(1)
            correct += int((pred == y.to(pred.device)).sum())
            total += y.numel()
        model.train(was_training)
        self.evaluations += 1
        return 100.0 * correct / max(total, 1)

    def _costs(self, model, idx: int) -> dict:
        c = model.backbone.cost(idx)
        c['latency'] = self.bench.query(idx).latency_ms if idx in self.bench else None
        return c

    @staticmethod
    def _weights(model) -> dict:
        return {k: v.detach().clone() for k, v in model.state_dict().items() if v.is_floating_point()}

    @staticmethod
    def _distance(a: dict, b: dict) -> float:
        num = sum(float((a[k] - b[k]).pow(2).sum()) for k in a)
        den = sum(float(b[k].pow(2).sum()) for k in b)
        return (num / den) ** 0.5 if den else 0.0

    # ---------------------------------------------------------------------------------- steps
    def before_train(self, runner) -> None:
        model = self._model(runner)
        if not callable(getattr(model, 'set_population', None)):
            raise TypeError(f'CARSEvolutionHook needs a CARSClassifier, got {type(model).__name__}')
        if model.population.numel() != self.n:
            raise ValueError(f'CARSEvolutionHook.population_size={self.n} differs from the model\'s '
                             f'population_size={model.population.numel()}')
        self.bench = TabularBenchmark.load(self.table_path)
        if self.restrict_to_table and len(self.bench) < self.n + self.num_offspring:
            raise ValueError(f'the table holds {len(self.bench)} cells, fewer than population + offspring '
                             f'({self.n} + {self.num_offspring})')
        if self.init_state is None:
            self.init_state = self._weights(model)
        if self.warmup_epochs == 0 and not self.population:
            self._init_population(runner, model)

    def _init_population(self, runner, model, done: int = 0) -> None:
        pop: List[int] = []
        while len(pop) < self.n:
            k = self._key(self._random(self.rng))
            if k is not None and k not in pop:
                pop.append(k)
        self.population = pop
        self.acc = {i: self.evaluate(runner, model, i) for i in pop}
        self.prev_state = self._weights(model)
        model.set_population(pop)
        rec = dict(generation=0, epoch=done, population=[space.canonical(i) for i in pop],
                   population_index=pop, candidates=[dict(index=i, genotype=space.canonical(i), origin='initial',
                                                          acc=self.acc[i], **self._costs(model, i)) for i in pop],
                   weight_move_from_init=self._distance(self.prev_state, self.init_state), evaluations=self.evaluations)
        self.generations.append(rec)
        runner.logger.info(f'CARS: population of {self.n} initialised after {done} warm-up epochs; '
                           f'inherited acc {min(self.acc.values()):.2f}-{max(self.acc.values()):.2f}')
        self._write(runner)

    def _evolve(self, runner, model, done: int) -> None:
        pop_ops = [space.ops_of(i) for i in self.population]
        repair = self._repair if self.restrict_to_table and self.outside_table == 'nearest' else None
        self._repaired = 0
        children, how = generate_offspring(pop_ops, self.num_offspring, self.rng, self._random, space.OPS,
                                           key=self._key, repair=repair, **self.op_kw)
        kids = [space.canonical_index(c) for c in children]
        cand = list(self.population) + kids
        origin = ['parent'] * len(self.population) + how
        acc_now = [self.evaluate(runner, model, i) for i in cand]
        # accuracy with the previous generation's weights: recorded for the parents, evaluated for the kids
        current = self._weights(model)
        model.load_state_dict(self.prev_state, strict=False)
        acc_prev = [self.acc[i] for i in self.population] + [self.evaluate(runner, model, i) for i in kids]
        model.load_state_dict(current, strict=False)
        inc = [a - b for a, b in zip(acc_now, acc_prev)]
        costs = [self._costs(model, i) for i in cand]
        cost = [c[self.objective] for c in costs]
        res = pnsga3_select(acc_now, cost, self.n, accuracy_increase=inc, protection=self.protection,
                            rng=self.rng, divisions=self.divisions)
        plain = nsga3_select(np.stack([-np.asarray(acc_now), np.asarray(cost, dtype=float)], 1), self.n,
                             np.random.default_rng(self.seed + len(self.generations)), self.divisions)
        keep, keep_plain = set(res['selected']), set(plain)
        self.population = [cand[k] for k in res['selected']]
        self.acc = {cand[k]: acc_now[k] for k in res['selected']}
        model.set_population(self.population)
        move_prev = self._distance(current, self.prev_state)
        self.prev_state = current
        rows = [dict(index=i, genotype=space.canonical(i), origin=o, acc=a, acc_prev=p, increase=d,
                     kept=k in keep, kept_by_nsga3=k in keep_plain, stage=res['stage'].get(k), **c)
                for k, (i, o, a, p, d, c) in enumerate(zip(cand, origin, acc_now, acc_prev, inc, costs))]
        rec = dict(generation=len(self.generations), epoch=done, population_index=self.population,
                   population=[space.canonical(i) for i in self.population], candidates=rows,
                   repaired_draws=self._repaired, kept_not_by_nsga3=sorted(cand[k] for k in keep - keep_plain),
                   kept_beyond_nsga3_fronts=sorted(cand[k] for k in res['beyond_nsga3']),
                   weight_move_from_init=self._distance(current, self.init_state), weight_move_from_prev=move_prev,
                   evaluations=self.evaluations)
        self.generations.append(rec)
        best = max(res['selected'], key=lambda k: acc_now[k])
        runner.logger.info(
            f'CARS generation {rec["generation"]} (after epoch {done}): offspring {len(kids)} '
            f'({", ".join(f"{h}:{how.count(h)}" for h in ("mutation", "crossover", "random"))}; '
            f'{self._repaired} draws moved to the nearest table cell), '
            f'kept {sum(o != "parent" for o, r in zip(origin, rows) if r["kept"])} of them; protected (NSGA-III '
            f'would drop) {len(rec["kept_not_by_nsga3"])}, beyond its fronts {len(rec["kept_beyond_nsga3_fronts"])}; '
            f'best inherited acc {acc_now[best]:.2f} ({space.canonical(cand[best])}); weights moved '
            f'{move_prev:.4f} since the last generation')
        self._write(runner)

    def after_train_epoch(self, runner) -> None:
        done = runner.epoch + 1  # epochs completed (runner.epoch is incremented after the hooks)
        model = self._model(runner)
        if done == self.warmup_epochs and not self.population:
            self._init_population(runner, model, done)
        elif done > self.warmup_epochs and self.population and (done - self.warmup_epochs) % self.interval == 0:
            self._evolve(runner, model, done)

    def final_front(self) -> List[dict]:
        """The last population's first front on (inherited accuracy up, objective down)."""
        if len(self.generations) < 1:
            return []
        last = self.generations[-1]
        rows = {r['index']: r for r in last['candidates']}
        members = [rows[i] for i in last['population_index']]
        pts = [(-m['acc'], m[self.objective]) for m in members]
        from tessera_nas.engine.cars_evolution import non_dominated_sort
        return [members[k] for k in non_dominated_sort(pts)[0]]

    def after_train(self, runner) -> None:
        if self.score_table_at_end:
            model = self._model(runner)
            n0 = self.evaluations
            self.table_eval = {e.index: self.evaluate(runner, model, e.index) for e in self.bench}
            self.evaluations = n0  # measuring, not searching: not counted
            runner.logger.info(f'CARS: scored all {len(self.table_eval)} table cells with the final supernet')
        self._write(runner)

    @master_only
    def _write(self, runner) -> None:
        with open(osp.join(runner.work_dir, self.record_file), 'w') as f:
            json.dump(dict(objective=self.objective, protection=self.protection, population_size=self.n,
                           num_offspring=self.num_offspring, restrict_to_table=self.restrict_to_table,
                           evaluations=self.evaluations, generations=self.generations,
                           final_front=self.final_front(),
                           table_eval={str(k): v for k, v in self.table_eval.items()}), f, indent=1)

    # ------------------------------------------------------------------------------ checkpoint
    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['cars'] = dict(
            population=list(self.population), acc={str(k): v for k, v in self.acc.items()},
            generations=self.generations, evaluations=self.evaluations,
            prev_state=None if self.prev_state is None else copy.copy(self.prev_state),
            init_state=None if self.init_state is None else copy.copy(self.init_state))

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get('cars')
        if state:
            self.population = list(state['population'])
            self.acc = {int(k): v for k, v in state['acc'].items()}
            self.generations = list(state['generations'])
            self.evaluations = int(state['evaluations'])
            self.prev_state, self.init_state = state['prev_state'], state['init_state']
            self.rng = np.random.default_rng([self.seed, len(self.generations)])
