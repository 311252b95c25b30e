"""P-DARTS: the search in stages of growing depth with search-space approximation and
regularization.

Progressive Differentiable Architecture Search: Bridging the Depth Gap between Search and
Evaluation, Chen, Xie, Wu and Tian, ICCV 2019, arXiv:1904.12760 (journal version "Progressive
DARTS: Bridging the Optimization Gap for NAS in the Wild"). Official code:
https://github.com/chenxin061/pdarts (``train_search.py``).

Official schedule (CIFAR-10): 3 stages of 25 epochs with 5, 11 and 17 cells (``add_layers`` 0, 6,
12), 8, 5 and 3 candidate operations per edge; each stage builds a new supernet (fresh weights,
architecture parameters and optimizers, cosine schedule restarted) and updates the architecture
only after 10 warm-up epochs. Operation-level dropout after the identity candidates at the stage's
rate ``p`` (0.1, 0.4, 0.7): ``p * (E - e - 1) / E`` during warm-up epoch ``e`` of ``E``, then
``p * exp(-0.2 * (e - warmup))``. After a stage, each edge keeps its candidates of largest softmaxed
weight (search-space approximation; ``get_min_k`` drops the smallest, ties: the first). The final
genotype is derived by the DARTS rule from the last stage's weights (``none`` excluded), then the
normal cell is limited to ``M = 2`` skip-connects (search-space regularization): while it has more,
the selected skip-connect of smallest weight is zeroed and the cell derived again.
"""
import copy
import json
import math
import os.path as osp
from typing import Dict, List, Mapping, Optional, Sequence, Tuple, Union

import torch
from mmengine.dist import master_only
from mmengine.model import is_model_wrapper
from mmengine.runner import EpochBasedTrainLoop, find_latest_checkpoint
from tessera_core.engine.safe_checkpoint import safe_load
from torch.utils.data import DataLoader

from tessera_nas.derivation import derive_genotype
from tessera_nas.genotypes import PRIMITIVES, Genotype
from tessera_nas.registry import LOOPS, MODELS

__all__ = ['prune_edge_primitives', 'derive_capped_genotype', 'op_dropout_rate', 'ProgressiveSearchLoop']

STATE_KEY = 'progressive_search'


def _rows(weights) -> List[List[float]]:
    return [[float(w) for w in torch.as_tensor(row).reshape(-1)] for row in weights]


def prune_edge_primitives(weights, edge_primitives: Sequence[Sequence[str]], num_keep: int) -> List[Tuple[str, ...]]:
    """Search-space approximation: keep the ``num_keep`` candidates of largest weight on each edge.

    Args:
        weights (Sequence | Tensor): Softmaxed weights per edge (``weights[e]`` has one entry per
            candidate of edge ``e``).
        edge_primitives (Sequence[Sequence[str]]): Candidates of every edge.
        num_keep (int): Candidates kept per edge.

    Returns:
        list[tuple[str, ...]]: The kept candidates of each edge, in their original order (the
        official switches keep the PRIMITIVES order). The smallest weights are dropped first, ties
        by the first candidate (the official repeated ``np.argmin``).
    """
    rows = _rows(weights)
    if len(rows) != len(edge_primitives):
        raise ValueError(f'weights for {len(rows)} edges but {len(edge_primitives)} candidate lists')
    kept = []
    for e, (row, prims) in enumerate(zip(rows, edge_primitives)):
        if len(row) != len(prims):
            raise ValueError(f'edge {e}: {len(row)} weights for {len(prims)} candidates {list(prims)}')
        if not 1 <= num_keep <= len(prims):
            raise ValueError(f'edge {e}: cannot keep {num_keep} of its {len(prims)} candidates {list(prims)}')
        order = sorted(range(len(prims)), key=lambda k: (row[k], k))
        dropped = set(order[:len(prims) - num_keep])
        kept.append(tuple(p for k, p in enumerate(prims) if k not in dropped))
    return kept


def derive_capped_genotype(weights_normal, weights_reduce, edge_primitives: Mapping[str, Sequence[Sequence[str]]],
                           steps: int = 4, multiplier: int = 4, max_skip_connect: Optional[int] = 2) -> Genotype:
    """The P-DARTS final genotype: the DARTS rule, then at most ``max_skip_connect`` skip-connects in
    the normal cell (the official ``delete_min_sk_prob`` / ``keep_1_on`` / ``keep_2_branches`` loop).

    Args:
        weights_normal, weights_reduce: Softmaxed weights per edge of the last stage.
        edge_primitives (Mapping): ``dict(normal=[...], reduce=[...])`` candidates per edge.
        steps (int): Intermediate nodes.
        multiplier (int): Concatenated states.
        max_skip_connect (int, optional): The cap ``M`` (official 2); None: no cap.

    Raises:
        ValueError: the cap cannot be met because a selected skip-connect edge has no other
            candidate.
    """
    rows_normal = _rows(weights_normal)
    rows_reduce = _rows(weights_reduce)
    prims = dict(normal=[tuple(p) for p in edge_primitives['normal']],
                 reduce=[tuple(p) for p in edge_primitives['reduce']])
    while True:
        genotype = derive_genotype(rows_normal, rows_reduce, prims, steps, multiplier)
        if max_skip_connect is None:
            return genotype
        selected = []  # (weight, edge index, candidate index) of the selected skip-connects
        for position, (op, state) in enumerate(genotype.normal):
            if op == 'skip_connect':
                node = position // 2
                edge = node * (node + 3) // 2 + state  # edges of node i start at sum_{t<i} (t + 2)
                k = prims['normal'][edge].index('skip_connect')
                selected.append((rows_normal[edge][k], edge, k))
        if len(selected) <= max_skip_connect:
            return genotype
        weight, edge, k = min(selected, key=lambda s: (s[0], s[1]))
        if weight <= 0:
            raise ValueError(f'cannot limit the normal cell to {max_skip_connect} skip-connects: edge {edge} '
                             f'{list(prims["normal"][edge])} has no other candidate left')
        rows_normal[edge][k] = 0.0  # official: probs_out[d_idx][idx] = 0.0


def op_dropout_rate(rate: float, epoch_in_stage: int, epochs: int, warmup_epochs: int, decay: float = 0.2) -> float:
    """The official P-DARTS operation-level dropout of an epoch of a stage: ``rate * (E - e - 1) / E``
    during warm-up, then ``rate * exp(-decay * (e - warmup))``."""
    if epoch_in_stage < warmup_epochs:
        return rate * (epochs - epoch_in_stage - 1) / epochs
    return rate * math.exp(-(epoch_in_stage - warmup_epochs) * decay)


@LOOPS.register_module()
class ProgressiveSearchLoop(EpochBasedTrainLoop):
    """P-DARTS search: ``len(stages)`` stages of ``epochs_per_stage`` epochs, each on a new supernet.

    The model is a ``DARTSSearchClassifier`` whose config ``backbone`` (a ``DARTSSearchBackbone``)
    is the template of every stage; its ``warmup_epochs`` count per stage. At the start of stage
    ``s`` the loop builds a new backbone and head (as the official new ``Network``) with ``layers``,
    ``init_channels + add_width``, the stage's ``op_dropout`` and the candidates kept by the previous
    stage (``edge_primitives``), then rebuilds the optimizers (``optim_wrapper``) and
    ``param_scheduler`` of the config (so schedules restart: give them in epochs of one stage).
    Before every epoch it sets the dropout rate
    (:func:`op_dropout_rate`). After the last stage :meth:`final_genotype` applies the skip-connect
    cap (read by :class:`~tessera_nas.engine.GenotypeHook`). The stage and its candidates are kept
    in the message hub (so in checkpoints): ``--resume`` rebuilds the right supernet before loading.
    Single process only (the supernet is replaced between stages).

    Args:
        runner (Runner): The runner.
        dataloader (DataLoader | dict): The search dataloader (a ``SearchSplitDataset``).
        stages (Sequence[dict]): Per stage ``dict(layers=int, num_ops=int, op_dropout=float = 0,
            add_width=int = 0)``; ``num_ops`` of the first stage is the number of candidates of the
            template, then strictly decreasing (official 8, 5, 3).
        epochs_per_stage (int): Epochs of every stage (official 25).
        max_skip_connect (int, optional): Cap on skip-connects of the final normal cell (official 2).
        dropout_decay (float): Decay of the dropout rate after warm-up (official 0.2).
        val_begin, val_interval, dynamic_intervals: As ``EpochBasedTrainLoop`` (``val_interval``
            defaults to validating once, at the end).
    """

    def __init__(self, runner, dataloader: Union[DataLoader, Dict], stages: Sequence[dict], epochs_per_stage: int,
                 max_skip_connect: Optional[int] = 2, dropout_decay: float = 0.2, val_begin: int = 1,
                 val_interval: Optional[int] = None, dynamic_intervals: Optional[List[Tuple[int, int]]] = None):
        if isinstance(epochs_per_stage, bool) or not isinstance(epochs_per_stage, int) or epochs_per_stage < 1:
            raise ValueError(f'epochs_per_stage must be a positive int, got {epochs_per_stage!r}')
        if is_model_wrapper(runner.model):
            raise ValueError('ProgressiveSearchLoop replaces the supernet between stages and runs in a single '
                             f'process only; the model is wrapped in {type(runner.model).__name__}')
        backbone_cfg = copy.deepcopy(runner.cfg.model.backbone)
        template_ops = len(backbone_cfg.get('primitives', PRIMITIVES))
        self.stages = self._check_stages(stages, template_ops)
        self.epochs_per_stage = epochs_per_stage
        self.max_skip_connect = max_skip_connect
        self.dropout_decay = float(dropout_decay)
        max_epochs = len(self.stages) * epochs_per_stage
        super().__init__(runner, dataloader, max_epochs, val_begin=val_begin,
                         val_interval=max_epochs if val_interval is None else val_interval,
                         dynamic_intervals=dynamic_intervals)
        self._backbone_cfg = backbone_cfg
        self._base_channels = backbone_cfg.get('init_channels', 16)
        self.stage = -1
        state = self._resume_state()
        if state is None:
            self._build_stage(0, None)
        else:
            self._build_stage(int(state['stage']), state['edge_primitives'])

    @staticmethod
    def _check_stages(stages: Sequence[dict], template_ops: int) -> List[dict]:
        if not isinstance(stages, Sequence) or len(stages) == 0:
            raise ValueError(f'stages must be a non-empty list of dicts, got {stages!r}')
        valid = ('layers', 'num_ops', 'op_dropout', 'add_width')
        out = []
        for s, stage in enumerate(stages):
            unknown = [k for k in stage if k not in valid]
            missing = [k for k in ('layers', 'num_ops') if k not in stage]
            if unknown or missing:
                raise ValueError(f'stages[{s}] = {dict(stage)}: unknown keys {unknown}, missing {missing}; '
                                 f'valid keys: {list(valid)}')
            stage = {'op_dropout': 0.0, 'add_width': 0, **stage}
            if not 0.0 <= stage['op_dropout'] < 1.0:
                raise ValueError(f'stages[{s}].op_dropout must lie in [0, 1), got {stage["op_dropout"]}')
            previous = template_ops if s == 0 else out[-1]['num_ops']
            if (s == 0 and stage['num_ops'] != template_ops) or (s > 0 and not 2 <= stage['num_ops'] < previous):
                expected = f'= {template_ops} (the candidates of the backbone)' if s == 0 else f'in [2, {previous})'
                raise ValueError(f'stages[{s}].num_ops must be {expected}, got {stage["num_ops"]}')
            out.append(stage)
        return out

    # ------------------------------------------------------------------------------- state
    def _resume_state(self) -> Optional[dict]:
        """The stage saved in the checkpoint ``runner`` is about to resume from (same look-up as
        ``Runner.load_or_resume``), or None."""
        runner = self.runner
        if not runner._resume:
            return None
        path = runner._load_from if runner._load_from is not None else find_latest_checkpoint(runner.work_dir)
        if path is None:
            return None
        checkpoint = safe_load(path, map_location='cpu')
        return checkpoint.get('message_hub', {}).get('runtime_info', {}).get(STATE_KEY)

    @property
    def model(self):
        return self.runner.model

    @property
    def backbone(self):
        return self.runner.model.backbone

    def _build_stage(self, stage: int, edge_primitives: Optional[Mapping[str, Sequence[Sequence[str]]]]) -> None:
        runner, spec = self.runner, self.stages[stage]
        cfg = copy.deepcopy(self._backbone_cfg)
        cfg['layers'] = spec['layers']
        cfg['init_channels'] = self._base_channels + spec['add_width']
        cfg['op_dropout'] = spec['op_dropout']
        if edge_primitives is not None:
            cfg.pop('primitives', None)
            cfg['edge_primitives'] = dict(normal=[list(p) for p in edge_primitives['normal']],
                                          reduce=[list(p) for p in edge_primitives['reduce']])
        device = next(self.model.parameters()).device
        backbone = MODELS.build(cfg).to(device)
        backbone.init_weights()
        head_cfg = copy.deepcopy(runner.cfg.model.head)
        if 'in_channels' in head_cfg:  # add_width changes the feature width
            head_cfg['in_channels'] = backbone.out_channels
        head = MODELS.build(head_cfg).to(device)
        head.init_weights()
        self.model.backbone, self.model.head = backbone, head
        self.model.epoch_offset = stage * self.epochs_per_stage
        self.stage = stage
        state = dict(stage=stage, edge_primitives={cell: [list(p) for p in backbone.edge_primitives[cell]]
                                                   for cell in ('normal', 'reduce')})
        runner.message_hub.update_info(STATE_KEY, state, resumed=True)
        first = stage * self.epochs_per_stage + 1
        runner.logger.info(
            f'P-DARTS stage {stage + 1}/{len(self.stages)} (epochs {first}-{first + self.epochs_per_stage - 1}): '
            f'{spec["layers"]} cells, {cfg["init_channels"]} initial channels, {spec["num_ops"]} candidate ops '
            f'per edge, op dropout {spec["op_dropout"]}, {sum(p.numel() for p in backbone.weight_parameters())} '
            'weights')
        if not isinstance(runner.optim_wrapper, dict):  # already built: a later stage, rebuild everything
            runner.optim_wrapper = runner.build_optim_wrapper(copy.deepcopy(runner.cfg.optim_wrapper))
            if runner.cfg.get('param_scheduler') is not None:
                runner.param_schedulers = runner.build_param_scheduler(copy.deepcopy(runner.cfg.param_scheduler))
            runner.optim_wrapper.initialize_count_status(self.model, self._iter, self._max_iters)

    @master_only
    def _write_stage(self, stage: int, edge_primitives: dict) -> None:
        path = osp.join(self.runner.work_dir, f'pdarts_stage_{stage + 1}_edge_primitives.json')
        with open(path, 'w') as f:
            json.dump(edge_primitives, f, indent=1)

    def _advance(self, stage: int) -> None:
        """Prune the candidates with the current weights and build ``stage``."""
        while self.stage < stage:
            keep = self.stages[self.stage + 1]['num_ops']
            weights = self.backbone.arch_weights()
            pruned = {cell: [list(p) for p in prune_edge_primitives(weights[cell],
                                                                    self.backbone.edge_primitives[cell], keep)]
                      for cell in ('normal', 'reduce')}
            for cell in ('normal', 'reduce'):
                self.runner.logger.info(f'P-DARTS stage {self.stage + 1} done, {cell} cell keeps {keep} ops per edge: '
                                        + '; '.join(f'{e}: {",".join(p)}' for e, p in enumerate(pruned[cell])))
            self._write_stage(self.stage + 1, pruned)
            self._build_stage(self.stage + 1, pruned)

    def _set_dropout(self) -> None:
        epoch_in_stage = self._epoch - self.stage * self.epochs_per_stage
        warmup = getattr(self.model, 'warmup_epochs', 0)
        p = op_dropout_rate(self.stages[self.stage]['op_dropout'], epoch_in_stage, self.epochs_per_stage, warmup,
                            self.dropout_decay)
        self.backbone.set_op_dropout(p)
        self.runner.message_hub.update_scalar('train/op_dropout', p)

    def final_genotype(self) -> Genotype:
        """The genotype of the last stage's weights with the skip-connect cap."""
        weights = self.backbone.arch_weights()
        return derive_capped_genotype(weights['normal'], weights['reduce'], self.backbone.edge_primitives,
                                      self.backbone.steps, self.backbone.multiplier, self.max_skip_connect)

    def run(self) -> torch.nn.Module:
        """Run the stages (progress is logged at every stage boundary)."""
        runner = self.runner
        runner.call_hook('before_train')
        while self._epoch < self._max_epochs and not self.stop_training:
            stage = self._epoch // self.epochs_per_stage
            if stage != self.stage:
                self._advance(stage)
            self._set_dropout()
            self.run_epoch()
            self._decide_current_val_interval()
            if (runner.val_loop is not None and self._epoch >= self.val_begin
                    and (self._epoch % self.val_interval == 0 or self._epoch == self._max_epochs)):
                runner.val_loop.run()
        runner.call_hook('after_train')
        return runner.model
