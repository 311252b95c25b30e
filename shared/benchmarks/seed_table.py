"""Mean, spread and per-seed values of `mim test` metrics over seeds, as a markdown table.

Each ``--group LABEL WORK_DIR [WORK_DIR ...]`` is one config run with several seeds; the metrics of a
work dir are those of its latest ``mim test`` (the ``<timestamp>/<timestamp>.json`` that mmengine
writes at the end of a test run: one JSON line of metrics), or with ``--source val`` those of the
last validation of its latest training run (``<timestamp>/vis_data/scalars.json``; for runs that
were validated at their end but not tested). Nothing is recomputed.

Usage::

    python shared/benchmarks/seed_table.py --metric seg/mIoU \\
        --group baseline work_dirs/fpn-s0 work_dirs/fpn-s1 work_dirs/fpn-s2 \\
        --group psa-p work_dirs/psa-p-s0 work_dirs/psa-p-s1 work_dirs/psa-p-s2
"""
import argparse
import glob
import json
import os.path as osp
import statistics
from typing import Dict, List

from tessera_core.analysis import iter_run_scalars


def read_test_metrics(work_dir: str) -> Dict[str, float]:
    """Metrics of the latest ``mim test`` in ``work_dir``."""
    files = sorted(glob.glob(osp.join(work_dir, '*', '*.json')), reverse=True)
    for path in files:
        with open(path) as f:
            lines = [line for line in f if line.strip()]
        if len(lines) == 1:  # a test run writes one line; training runs write one per logged step
            record = json.loads(lines[0])
            if 'step' not in record:
                return record
    raise FileNotFoundError(f'no mim test metrics (<timestamp>/<timestamp>.json with one line) under {work_dir!r}')


def read_last_val_metrics(work_dir: str) -> Dict[str, float]:
    """Metrics of the last validation logged by the latest training run in ``work_dir``."""
    try:
        for _, records in iter_run_scalars(work_dir):
            val = [r for r in records if 'loss' not in r and 'lr' not in r]  # training steps log loss and lr
            if val:
                return val[-1]
    except FileNotFoundError:
        pass  # no run at all: the same message as runs without a validation
    raise FileNotFoundError(f'no validation metrics (<timestamp>/vis_data/scalars.json) under {work_dir!r}')


def summarise(values: List[float]) -> Dict[str, float]:
    out = dict(n=len(values), mean=statistics.mean(values), median=statistics.median(values),
               min=min(values), max=max(values))
    out['std'] = statistics.stdev(values) if len(values) > 1 else 0.0
    return out


def markdown_table(groups: Dict[str, List[float]], metric: str) -> str:
    width = max(len(v) for v in groups.values())
    header = ['run'] + [f'run {i + 1}' for i in range(width)] + ['mean', 'std', 'median']
    lines = [f'{metric}:', '| ' + ' | '.join(header) + ' |', '|---' + '|---:' * (len(header) - 1) + '|']
    for label, values in groups.items():
        s = summarise(values)
        cells = [f'{v:.2f}' for v in values] + [''] * (width - len(values))
        lines.append('| ' + ' | '.join([label] + cells + [f"{s['mean']:.2f}", f"{s['std']:.2f}",
                                                           f"{s['median']:.2f}"]) + ' |')
    return '\n'.join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--group', nargs='+', action='append', required=True, metavar='LABEL WORK_DIR',
                        help='a label then the work dirs of its seeds')
    parser.add_argument('--metric', action='append', required=True, help='e.g. accuracy/top1 (repeatable)')
    parser.add_argument('--source', choices=('test', 'val'), default='test',
                        help="'test': the latest mim test (default); 'val': the last validation of training")
    args = parser.parse_args(argv)
    read_metrics = read_test_metrics if args.source == 'test' else read_last_val_metrics
    for group in args.group:
        if len(group) < 2:
            parser.error(f'--group {group[0]!r} needs at least one work dir after its label')
    for metric in args.metric:
        groups = {}
        for label, *work_dirs in args.group:
            values = []
            for work_dir in work_dirs:
                metrics = read_metrics(work_dir)
                if metric not in metrics:
                    raise KeyError(f'{metric!r} not in the {args.source} metrics of {work_dir!r}: {sorted(metrics)}')
                values.append(float(metrics[metric]))
            groups[label] = values
        print(markdown_table(groups, metric))
        print()


if __name__ == '__main__':
    main()
