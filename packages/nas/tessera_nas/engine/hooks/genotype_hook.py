"""Derive, log and save the genotype of a DARTS supernet during the search.

DARTS: Differentiable Architecture Search, Liu, Simonyan and Yang, ICLR 2019,
arXiv:1806.09055. Official code: https://github.com/quark0/darts (``cnn/train_search.py`` logs
``model.genotype()`` and prints the softmax of ``alphas_normal`` / ``alphas_reduce`` every epoch;
``cnn/visualize.py`` draws the cells).
"""
import os.path as osp

import torch
from mmengine.dist import master_only
from mmengine.hooks import Hook
from mmengine.model import is_model_wrapper

from tessera_nas.derivation import plot_cell, save_genotype_json
from tessera_nas.genotypes import Genotype
from tessera_nas.registry import HOOKS

__all__ = ['GenotypeHook']


def _format_weights(name: str, weights, primitives) -> str:
    lines = [f'softmax({name}), one row per edge:']
    rows = weights if isinstance(weights, (list, tuple)) else list(weights)
    for e, (row, prims) in enumerate(zip(rows, primitives)):
        cells = ' '.join(f'{p}={float(w):.4f}' for p, w in zip(prims, torch.as_tensor(row).reshape(-1)))
        lines.append(f'  edge {e:2d}: {cells}')
    return '\n'.join(lines)


@HOOKS.register_module()
class GenotypeHook(Hook):
    """After every training epoch: log the derived genotype and the softmaxed architecture weights,
    and write ``genotype_epoch_{N}.json`` (N = epochs done) in the work dir. After training: write
    ``genotype.json`` and the cell diagrams ``genotype_normal.png`` / ``genotype_reduce.png``.

    The final genotype is ``runner.train_loop.final_genotype()`` when the loop has one (P-DARTS:
    derived with the skip-connect cap), else ``backbone.genotype()``. Everything the hook reads is
    in the checkpoint (architecture parameters and both optimizers), so a resumed search continues
    with the same files.

    Args:
        log_weights (bool): Log the softmaxed weights of every edge each epoch.
        plot (bool): Draw the final cells.
        plot_every_epoch (bool): Also draw ``genotype_epoch_{N}_{normal,reduce}.png`` each epoch.
    """
    priority = 'LOW'

    def __init__(self, log_weights: bool = True, plot: bool = True, plot_every_epoch: bool = False):
        self.log_weights, self.plot, self.plot_every_epoch = log_weights, plot, plot_every_epoch

    @staticmethod
    def _backbone(runner):
        model = runner.model.module if is_model_wrapper(runner.model) else runner.model
        backbone = getattr(model, 'backbone', None)
        if backbone is None or not callable(getattr(backbone, 'genotype', None)):
            raise TypeError('GenotypeHook needs a model whose backbone has genotype() (a DARTS supernet), got '
                            f'{type(backbone).__name__}')
        return backbone

    @master_only
    def _save(self, runner, genotype: Genotype, stem: str, plot: bool) -> None:
        save_genotype_json(genotype, osp.join(runner.work_dir, f'{stem}.json'))
        if plot:
            for cell in ('normal', 'reduce'):
                plot_cell(genotype, cell, osp.join(runner.work_dir, f'{stem}_{cell}.png'),
                          title=f'{stem}: {cell} cell')

    def after_train_epoch(self, runner) -> None:
        backbone = self._backbone(runner)
        genotype = backbone.genotype()
        epoch = runner.epoch + 1
        runner.logger.info(f'epoch {epoch}: genotype = {genotype}')
        if self.log_weights and callable(getattr(backbone, 'arch_weights', None)):
            weights = backbone.arch_weights()
            primitives = getattr(backbone, 'edge_primitives', None)
            for cell in ('normal', 'reduce'):
                if primitives is not None:
                    runner.logger.info(_format_weights(f'alphas_{cell}', weights[cell], primitives[cell]))
                if f'edge_{cell}' in weights:
                    edge = ' '.join(f'{float(w):.3f}' for w in weights[f'edge_{cell}'])
                    runner.logger.info(f'edge weights ({cell}): {edge}')
        self._save(runner, genotype, f'genotype_epoch_{epoch}', self.plot_every_epoch)

    def final_genotype(self, runner) -> Genotype:
        """The genotype the search ends with (see the class docstring)."""
        derive = getattr(runner.train_loop, 'final_genotype', None)
        return derive() if callable(derive) else self._backbone(runner).genotype()

    def after_train(self, runner) -> None:
        genotype = self.final_genotype(runner)
        runner.logger.info(f'final genotype = {genotype}')
        self._save(runner, genotype, 'genotype', self.plot)
        runner.logger.info(f'genotype written to {osp.join(runner.work_dir, "genotype.json")}')
