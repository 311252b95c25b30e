"""Log and save an LA-DARTS search on the tabular benchmark's space: per epoch the derived cell, the
architecture weights, how far ``alpha`` moved and the expected latency; after training the derived
cell looked up in the table.

Latency-Aware Differentiable Neural Architecture Search, arXiv:2001.06392 (no official code).
"""
import json
import os.path as osp

import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_nas.benchmarks import TabularBenchmark, space
from tessera_nas.registry import HOOKS

__all__ = ['LADARTSHook']


@HOOKS.register_module()
class LADARTSHook(Hook):
    """Writes ``<work_dir>/la_darts_search.json``: the predictor's held-out report, one record per
    epoch (derived cell, ``softmax(alpha)``, ``|alpha - alpha_0|`` max and L2, expected latency, mean
    logged CE / latency loss / gradient norms of the epoch) and the final cell with its table entry
    (``in_table`` false and the predicted latency when the table lacks its canonical form).

    ``alpha_0`` is ``alpha`` when training starts (the initial one, or the resumed one on a resume).
    """
    priority = 'LOW'
    _LOGGED = ('loss_arch', 'loss_latency', 'expected_latency_ms', 'ce_grad_norm', 'lat_grad_norm')

    def __init__(self, table: str = None, out_file: str = 'la_darts_search.json'):
        self.table, self.out_file = table, out_file
        self.records, self._sums = [], {}

    @staticmethod
    def _model(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        if not callable(getattr(model, 'expected_latency', None)):
            raise TypeError(f'LADARTSHook needs an LADARTSClassifier, got {type(model).__name__}')
        return model

    def before_train(self, runner) -> None:
        model = self._model(runner)
        self.alpha0 = model.backbone.alpha.detach().clone()
        rep = {k: v for k, v in model.latency_report.items() if k != 'heldout_indices'}
        if rep:
            runner.logger.info(f'LA-DARTS latency predictor: {json.dumps(rep)}')
        self.records = []

    def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None) -> None:
        for k in self._LOGGED:
            if outputs and k in outputs:
                s = self._sums.setdefault(k, [0.0, 0])
                s[0] += float(outputs[k])
                s[1] += 1

    def _record(self, runner) -> dict:
        model = self._model(runner)
        alpha = model.backbone.alpha.detach()
        with torch.no_grad():
            lat = float(model.expected_latency())
            probs = model.backbone.arch_weights().detach()
        delta = alpha - self.alpha0
        rec = dict(epoch=runner.epoch + 1, iter=runner.iter + 1, genotype=model.derived_genotype(),
                   expected_latency_ms=lat, alpha_delta_max=float(delta.abs().max()),
                   alpha_delta_l2=float(delta.norm()), probs=[[round(float(v), 5) for v in row] for row in probs],
                   means={k: s[0] / s[1] for k, s in self._sums.items() if s[1]})
        self._sums = {}
        return rec

    def after_train_epoch(self, runner) -> None:
        rec = self._record(runner)
        self.records.append(rec)
        runner.logger.info(f'LA-DARTS epoch {rec["epoch"]}: cell {rec["genotype"]}, expected latency '
                           f'{rec["expected_latency_ms"]:.4f} ms, |alpha - alpha_0| max {rec["alpha_delta_max"]:.4f} '
                           f'L2 {rec["alpha_delta_l2"]:.4f}, means {json.dumps(rec["means"])}')
        rows = ' | '.join(f'{i}->{j}: ' + ' '.join(f'{op}={p:.3f}' for op, p in zip(space.OPS, row))
                          for (i, j), row in zip(space.EDGES, rec['probs']))
        runner.logger.info(f'softmax(alpha): {rows}')

    @master_only
    def after_train(self, runner) -> None:
        model = self._model(runner)
        cell = model.derived_genotype()
        bench = TabularBenchmark.load(self.table)
        final = dict(genotype=cell, canonical=space.canonical(cell), canonical_index=space.canonical_index(cell),
                     predicted_latency_ms=model.predicted_latency(space.canonical(cell)),
                     in_table=cell in bench)
        if final['in_table']:
            e = bench.query(cell)
            final.update(latency_ms=e.latency_ms, valid_acc=e.valid_acc, test_acc=e.test_acc, params=e.params,
                         macs=e.macs)
        out = dict(latency_lambda=model.latency_lambda, latency_form=model.latency_form,
                   arch_gradient=model.arch_gradient, predictor=model.latency_report, epochs=self.records,
                   final=final)
        path = osp.join(runner.work_dir, self.out_file)
        with open(path, 'w') as f:
            json.dump(out, f, indent=1)
        where = (f'table: latency {final["latency_ms"]:.4f} ms, test acc {final["test_acc"]:.2f}' if final['in_table']
                 else 'not in the table (score it with benchmarks/la_darts_sweep.py)')
        runner.logger.info(f'LA-DARTS final cell {cell} (canonical {final["canonical"]}): {where}; written to {path}')
