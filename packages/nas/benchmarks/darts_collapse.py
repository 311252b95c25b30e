"""Follow a DARTS-family search epoch by epoch: does it collapse into skip-connections?

DARTS' known failure (the one Amended-DARTS and P-DARTS address) is that, as the supernet's weights
train, the architecture weights drift to parameter-free operations until the derived normal cell is
mostly skip-connections, while the supernet's own validation accuracy keeps rising. For each search
work dir (run with per-epoch validation and ``checkpoint=dict(interval=1, max_keep_ckpts=-1)``, as the
``*_archlr-0.025_fashion-mnist-2k.py`` configs do) this prints one row per epoch:

- skip-connections and parameter-free operations (skip, max / avg pool) in the derived normal and
  reduction cells (``genotype_epoch_N.json``, written by ``GenotypeHook``);
- the mean softmax weight of ``skip_connect`` over the 14 normal-cell edges (uniform: 1 / number of
  candidates) and the largest op weight per edge, mean (from ``epoch_N.pth``, read with the safe loader);
- ``max |alpha|`` (alpha starts at 1e-3 N(0, 1), so this is how far the search moved it);
- the mean architecture-gradient norm logged during the epoch, and the supernet's top-1 on the
  validation images after it (``vis_data/scalars.json``).

Usage::

    python packages/nas/benchmarks/darts_collapse.py work_dirs/darts2_s0 work_dirs/amended_s0
"""
import argparse
import glob
import json
import os.path as osp
from collections import defaultdict

import torch
from mmengine.config import Config

from tessera_core.analysis import iter_run_scalars
from tessera_core.engine.safe_checkpoint import safe_load
from tessera_nas.genotypes import PRIMITIVES

PARAMETER_FREE = ('skip_connect', 'max_pool_3x3', 'avg_pool_3x3')


def read_scalars(work_dir: str) -> tuple:
    """(per-iteration records, per-epoch validation records) of the newest run in the work dir."""
    _, records = next(iter_run_scalars(work_dir))
    train = [r for r in records if 'accuracy/top1' not in r]
    return train, [r for r in records if 'accuracy/top1' in r]


def count_ops(cell: list) -> tuple:
    """(skip-connections, parameter-free ops) among a genotype cell's ``[op, input]`` pairs."""
    ops = [op for op, _ in cell]
    return ops.count('skip_connect'), sum(op in PARAMETER_FREE for op in ops)


def search_primitives(work_dir: str) -> tuple:
    """The candidate list of the search, from the config mmengine dumps into the work dir."""
    dumped = glob.glob(osp.join(work_dir, '*.py'))
    if len(dumped) != 1:
        raise FileNotFoundError(f'{work_dir}: expected the one config mmengine dumps there, found {dumped}')
    backbone = Config.fromfile(dumped[0]).model.backbone
    if backbone.get('edge_primitives') is not None:
        raise ValueError(f'{dumped[0]}: per-edge candidate lists (edge_primitives) are not supported here')
    return tuple(backbone.get('primitives', PRIMITIVES))


def epoch_rows(work_dir: str) -> list:
    train, val = read_scalars(work_dir)
    grad_norms = defaultdict(list)
    val_by_epoch = {int(r['step']): r['accuracy/top1'] for r in val}
    genotypes = sorted(glob.glob(osp.join(work_dir, 'genotype_epoch_*.json')),
                       key=lambda p: int(p.rsplit('_', 1)[1].split('.')[0]))
    if not genotypes:
        raise FileNotFoundError(f'{work_dir}: no genotype_epoch_*.json (the config needs GenotypeHook)')
    for r in train:
        if 'arch_grad_norm' in r and 'epoch' in r:
            grad_norms[int(r['epoch'])].append(r['arch_grad_norm'])
    skip = list(search_primitives(work_dir)).index('skip_connect')
    rows = []
    for path in genotypes:
        epoch = int(path.rsplit('_', 1)[1].split('.')[0])
        with open(path) as f:
            genotype = json.load(f)
        row = dict(epoch=epoch)
        row['normal_skip'], row['normal_free'] = count_ops(genotype['normal'])
        row['reduce_skip'], row['reduce_free'] = count_ops(genotype['reduce'])
        ckpt = osp.join(work_dir, f'epoch_{epoch}.pth')
        if osp.exists(ckpt):
            state = safe_load(ckpt, map_location='cpu')['state_dict']
            alphas = state['backbone.alphas_normal'].float()
            weights = alphas.softmax(-1)
            row['skip_weight'] = weights[:, skip].mean().item()
            row['max_weight'] = weights.max(-1).values.mean().item()
            row['max_abs_alpha'] = max(alphas.abs().max().item(),
                                       state['backbone.alphas_reduce'].float().abs().max().item())
        norms = grad_norms.get(epoch, [])
        row['arch_grad_norm'] = sum(norms) / len(norms) if norms else None
        row['val_top1'] = val_by_epoch.get(epoch)
        rows.append(row)
    return rows


def _fmt(value, spec):
    return '-' if value is None else format(value, spec)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('work_dirs', nargs='+')
    parser.add_argument('--out', help='also write the rows as JSON')
    args = parser.parse_args(argv)
    summary = {}
    print('| search | epoch | normal: skips (param-free) | reduce: skips (param-free) | mean skip weight, normal '
          '| largest op weight, mean | max abs alpha | arch-grad norm | supernet val top-1 |')
    print('|---|---:|---:|---:|---:|---:|---:|---:|---:|')
    for work_dir in args.work_dirs:
        rows = epoch_rows(work_dir)
        summary[work_dir] = rows
        for r in rows:
            print(f'| {osp.basename(osp.normpath(work_dir))} | {r["epoch"]} | {r["normal_skip"]} ({r["normal_free"]}) '
                  f'| {r["reduce_skip"]} ({r["reduce_free"]}) | {_fmt(r.get("skip_weight"), ".3f")} '
                  f'| {_fmt(r.get("max_weight"), ".3f")} | {_fmt(r.get("max_abs_alpha"), ".2f")} '
                  f'| {_fmt(r["arch_grad_norm"], ".3g")} | {_fmt(r["val_top1"], ".2f")} |')
    if args.out:
        with open(args.out, 'w') as f:
            json.dump(summary, f, indent=1)


if __name__ == '__main__':
    main()
