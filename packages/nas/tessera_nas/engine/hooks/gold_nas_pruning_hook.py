"""Run the GOLD-NAS pruning schedule during the one-level search and record the Pareto snapshots.

GOLD-NAS: Gradual, One-Level, Differentiable, Bi, Xie, Chen, Wei and Tian, arXiv:2007.03331 (2020),
Algorithm 1 (schedule: :class:`~tessera_nas.engine.gold_nas_pruner.GoldNASPruner`).
"""
import json
import os.path as osp
from typing import Optional

import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_nas.engine.gold_nas_pruner import GoldNASPruner
from tessera_nas.registry import HOOKS

__all__ = ['GoldNASPruningHook']


@HOOKS.register_module()
class GoldNASPruningHook(Hook):
    """Every ``interval`` iterations after ``warmup_iters``: prune (at most ``num_per_step`` gates
    below ``threshold``), adapt ``lambda`` (the model's ``resource_lambda``), and append a snapshot
    to ``<work_dir>/<snapshot_file>`` when a gate was pruned (the first record is the supernet
    before any pruning). Training stops when no gate is left or the relaxed network's multiply-adds
    fall to ``min_flops`` (paper: ``FLOPs_min``).

    A snapshot holds: ``iter``, ``epoch``, ``lambda``, ``pruned`` (gate names), ``num_active``,
    ``active_ops`` (per edge), ``genotype`` (the derived one-op-per-edge cell), ``single_path``,
    ``flops`` / ``params`` (relaxed network), ``gates`` (sigmoid of every gate, 0 = pruned),
    ``max_gate_move`` (largest ``|sigmoid(alpha) - sigmoid(alpha_init)|`` so far), and the interval's
    mean ``loss_cls`` (CE) and ``loss_resource`` (``lambda * R``).

    Args:
        interval (int): ``t0``, iterations between pruning steps.
        warmup_iters (int): No pruning step (and ``lambda`` stays 0) before this iteration.
        num_per_step, threshold, lambda_init, growth: :class:`GoldNASPruner`.
        min_flops (int): Stop when the relaxed network has at most this many multiply-adds.
        snapshot_file (str): File name in the work dir.
    """
    priority = 'NORMAL'

    def __init__(self, interval: int = 20, warmup_iters: int = 0, num_per_step: int = 2, threshold: float = 0.005,
                 lambda_init: float = 0.01, growth: float = 2.0, min_flops: int = 0,
                 snapshot_file: str = 'gold_nas_snapshots.json'):
        if isinstance(interval, bool) or not isinstance(interval, int) or interval < 1:
            raise ValueError(f'interval must be an int >= 1, got {interval!r}')
        if not isinstance(warmup_iters, int) or warmup_iters < 0:
            raise ValueError(f'warmup_iters must be an int >= 0, got {warmup_iters!r}')
        self.pruner = GoldNASPruner(num_per_step, threshold, lambda_init, growth)
        self.interval, self.warmup_iters, self.min_flops = interval, warmup_iters, int(min_flops)
        self.snapshot_file = snapshot_file
        self.snapshots = []
        self.steps = []  # every pruning step: iter, pruned count, lambda after the update, active gates
        self._init_gates: Optional[torch.Tensor] = None
        self._sums = dict(loss_cls=0.0, loss_resource=0.0, n=0)
        self.stopped = False

    @staticmethod
    def _model(runner):
        return runner.model.module if is_model_wrapper(runner.model) else runner.model

    def _record(self, runner, model, pruned, lam, it: int) -> dict:
        sn = model.backbone
        gates = sn.gates().detach().cpu()
        moved = (torch.sigmoid(sn.alpha.detach().cpu()) - self._init_gates).abs()
        n = max(self._sums['n'], 1)
        names = sn.gate_names()
        rec = dict(iter=it, epoch=runner.epoch, **{'lambda': lam}, pruned=[names[i] for i in pruned],
                   num_active=sn.num_active(), active_ops=sn.active_ops(0), genotype=sn.derived_genotype(0),
                   single_path=sn.is_single_path(), **sn.snapshot_cost(),
                   gates=[round(float(v), 5) for v in gates.reshape(-1)],
                   max_gate_move=float(moved.max()), loss_cls=self._sums['loss_cls'] / n,
                   loss_resource=self._sums['loss_resource'] / n)
        self.snapshots.append(rec)
        self._write(runner)
        return rec

    @master_only
    def _write(self, runner):
        with open(osp.join(runner.work_dir, self.snapshot_file), 'w') as f:
            json.dump(dict(gate_names=self._model(runner).backbone.gate_names(), steps=self.steps,
                           snapshots=self.snapshots), f, indent=1)

    def before_train(self, runner) -> None:
        model = self._model(runner)
        if not callable(getattr(model.backbone, 'prune', None)) or not hasattr(model, 'resource_lambda'):
            raise TypeError('GoldNASPruningHook needs a GoldNASClassifier over a GoldNASSupernet, got '
                            f'{type(model).__name__} / {type(getattr(model, "backbone", None)).__name__}')
        if self._init_gates is None:
            self._init_gates = torch.sigmoid(model.backbone.alpha.detach().cpu()).clone()
        model.resource_lambda.fill_(self.pruner.lam)
        if not self.snapshots:
            self._record(runner, model, [], self.pruner.lam, runner.iter)

    def after_train_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        if outputs is not None:
            for k in ('loss_cls', 'loss_resource'):
                if k in outputs:
                    self._sums[k] += float(outputs[k])
            self._sums['n'] += 1
        it = runner.iter + 1
        if self.stopped or it <= self.warmup_iters or it % self.interval:
            return
        model = self._model(runner)
        sn = model.backbone
        pruned, lam = self.pruner.step(sn.gates(), sn.active)
        if pruned:
            sn.prune(pruned)
        model.resource_lambda.fill_(lam)
        n = max(self._sums['n'], 1)
        self.steps.append(dict(iter=it, num_pruned=len(pruned), **{'lambda': lam}, num_active=sn.num_active(),
                               loss_cls=self._sums['loss_cls'] / n, loss_resource=self._sums['loss_resource'] / n))
        runner.logger.info(f'GOLD-NAS iter {it}: pruned {len(pruned)} '
                           f'({", ".join(sn.gate_names()[i] for i in pruned) or "-"}), {sn.num_active()} active, '
                           f'lambda {lam:.4g}, flops {sn.snapshot_cost()["flops"]}, cell {sn.derived_genotype(0)}')
        if pruned:
            self._record(runner, model, pruned, lam, it)
        else:
            self._write(runner)
        self._sums = dict(loss_cls=0.0, loss_resource=0.0, n=0)
        if sn.num_active() == 0 or sn.snapshot_cost()['flops'] <= self.min_flops:
            runner.logger.info(f'GOLD-NAS: stopping ({sn.num_active()} gates left, '
                               f'flops {sn.snapshot_cost()["flops"]} <= min_flops {self.min_flops})')
            runner.train_loop.stop_training = True  # checked by mmengine's loops at the next epoch
            self.stopped = True

    def before_save_checkpoint(self, runner, checkpoint: dict) -> None:
        checkpoint.setdefault('meta', {})['gold_nas'] = dict(
            pruner=self.pruner.state_dict(), snapshots=self.snapshots, steps=self.steps,
            init_gates=None if self._init_gates is None else self._init_gates.tolist())

    def after_load_checkpoint(self, runner, checkpoint: dict) -> None:
        state = checkpoint.get('meta', {}).get('gold_nas')
        if state:
            self.pruner.load_state_dict(state['pruner'])
            self.snapshots = list(state['snapshots'])
            self.steps = list(state.get('steps', []))
            if state.get('init_gates') is not None:
                self._init_gates = torch.tensor(state['init_gates'])
