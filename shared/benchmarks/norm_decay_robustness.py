"""Norms, generalisation gap and adversarial robustness of trained classifiers (norm decay, issue 4).

For each ``--run NAME CONFIG CHECKPOINT`` (checkpoints read with tessera-core's safe loader):

- the exact l1 and l-inf operator norms of every Conv2d / Linear layer (closed forms of
  ``tessera_core.analysis.conv_operator_norms``, large-input form), summed and maximal;
- top-1 on the config's test set and on its training split with the test pipeline, and the gap;
- FGSM and PGD (l-inf, random start, step 2.5 eps / steps) accuracy on the first ``--attack-samples``
  test images, eps in grey levels of 0-255 (``--eps 2 8`` = 2/255 and 8/255 of the range).

The paper's observation to compare with: norm regularisation lowers the norms and may narrow the
gap, but does not make the network more robust (it can slightly hurt robustness).

Usage::

    python shared/benchmarks/norm_decay_robustness.py \\
        --run plain <config> work_dirs/nd-plain/epoch_5.pth --run l1 <config> work_dirs/nd-l1/epoch_5.pth
"""
import argparse
import copy
import sys
import time

import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import Runner, load_checkpoint
from torch import nn

import tessera_core  # noqa: F401  (registers the safe checkpoint loader)
from tessera_core.analysis import adversarial_accuracy, module_operator_norm
from tessera_core.registry import MODELS


def operator_norms(model: nn.Module) -> dict:
    """Sum and max over Conv2d/Linear layers of the exact l1 and l-inf operator norms."""
    layers = [m for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    out = {}
    with torch.no_grad():
        for norm in ('l1', 'linf'):
            values = torch.stack([module_operator_norm(m, norm) for m in layers])
            out[f'{norm}_sum'], out[f'{norm}_max'] = values.sum().item(), values.max().item()
    out['layers'] = len(layers)
    return out


def top1(model: nn.Module, dataloader) -> float:
    correct = total = 0
    with torch.no_grad():
        for batch in dataloader:
            for sample in model.test_step(batch):
                correct += int(sample.pred_label.item() == sample.gt_label.item())
                total += 1
    return 100.0 * correct / total


def evaluate(name: str, config: str, checkpoint: str, args) -> dict:
    cfg = Config.fromfile(config)
    init_default_scope(cfg.get('default_scope', 'tessera_core'))
    model = MODELS.build(cfg.model)
    load_checkpoint(model, checkpoint, map_location='cpu', logger='silent')
    model.eval()
    test_cfg = copy.deepcopy(cfg.test_dataloader)
    test_cfg.update(num_workers=0, persistent_workers=False)
    train_cfg = copy.deepcopy(test_cfg)
    train_cfg['dataset']['split'] = 'train'
    start = time.time()
    row = dict(name=name, **operator_norms(model))
    row['test_top1'] = top1(model, Runner.build_dataloader(test_cfg))
    row['train_top1'] = top1(model, Runner.build_dataloader(train_cfg))
    row['gap'] = row['train_top1'] - row['test_top1']
    print(f'[{name}] clean test {row["test_top1"]:.2f}, train {row["train_top1"]:.2f} '
          f'({time.time() - start:.0f} s); attacking {args.attack_samples} test images...', file=sys.stderr)

    def progress(done):
        print(f'[{name}] attacked {done}/{args.attack_samples} ({time.time() - start:.0f} s)', file=sys.stderr)
    attacks = adversarial_accuracy(model, Runner.build_dataloader(test_cfg), eps=args.eps, pgd_steps=args.pgd_steps,
                                   max_samples=args.attack_samples, seed=args.seed, progress=progress)
    row.update({k: v for k, v in attacks.items() if k not in ('clean', 'samples')})
    row['attack_clean'] = attacks['clean']
    return row


def markdown_table(rows, eps, steps) -> str:
    attack_keys = [f'fgsm@{e:g}' for e in eps] + [f'pgd{steps}@{e:g}' for e in eps]
    header = ['run', 'sum l1', 'max l1', 'sum linf', 'max linf', 'train top-1', 'test top-1', 'gap',
              'clean (attack set)'] + attack_keys
    lines = ['| ' + ' | '.join(header) + ' |', '|' + '---|' * len(header)]
    for r in rows:
        cells = [r['name'], f"{r['l1_sum']:.1f}", f"{r['l1_max']:.2f}", f"{r['linf_sum']:.1f}", f"{r['linf_max']:.2f}",
                 f"{r['train_top1']:.2f}", f"{r['test_top1']:.2f}", f"{r['gap']:+.2f}", f"{r['attack_clean']:.2f}"]
        cells += [f'{r[k]:.2f}' for k in attack_keys]
        lines.append('| ' + ' | '.join(cells) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--run', nargs=3, action='append', required=True, metavar=('NAME', 'CONFIG', 'CHECKPOINT'))
    parser.add_argument('--eps', type=float, nargs='+', default=[2.0, 8.0], help='l-inf radii in grey levels (0-255)')
    parser.add_argument('--pgd-steps', type=int, default=10)
    parser.add_argument('--attack-samples', type=int, default=2000)
    parser.add_argument('--seed', type=int, default=0, help='PGD random start')
    parser.add_argument('--threads', type=int, default=None)
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = [evaluate(name, config, ckpt, args) for name, config, ckpt in args.run]
    print(f'attacks: first {args.attack_samples} test images, eps in grey levels of 0-255, '
          f'PGD {args.pgd_steps} steps, step 2.5 eps / {args.pgd_steps}, random start (seed {args.seed})')
    print(markdown_table(rows, args.eps, args.pgd_steps))


if __name__ == '__main__':
    main()
