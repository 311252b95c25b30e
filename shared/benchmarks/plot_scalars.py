"""Plot logged training scalars of several mmengine runs on one figure (e.g. the operator norms of the
norm-decay runs), reading each run's ``<work_dir>/<timestamp>/vis_data/scalars.json``.

Usage::

    python shared/benchmarks/plot_scalars.py --run plain work_dirs/nd-plain --run l1 work_dirs/nd-l1 \\
        --key op_norm_sum --out norms.png [--logy]

When a work dir holds several timestamped runs (e.g. ``mim train`` then ``mim test``), the training
scalars are those of the latest timestamp that logged ``--key``.
"""
import argparse
from typing import List, Tuple

from tessera_core.analysis import iter_run_scalars


def read_scalars(work_dir: str, key: str) -> Tuple[List[int], List[float]]:
    """``(steps, values)`` of ``key`` in the latest run of ``work_dir`` that logged it."""
    seen = set()
    for _, records in iter_run_scalars(work_dir):
        steps, values = [], []
        for record in records:
            seen.update(record)
            if key in record:
                steps.append(int(record.get('step', len(steps))))
                values.append(float(record[key]))
        if values:
            return steps, values
    raise KeyError(f'{key!r} was never logged under {work_dir!r}; logged keys: {sorted(seen)}')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--run', nargs=2, action='append', required=True, metavar=('LABEL', 'WORK_DIR'))
    parser.add_argument('--key', required=True, help='scalar name as logged, e.g. op_norm_sum or loss')
    parser.add_argument('--out', required=True, help='PNG path')
    parser.add_argument('--logy', action='store_true')
    parser.add_argument('--title', default=None)
    args = parser.parse_args(argv)

    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.0), dpi=120)
    for label, work_dir in args.run:
        steps, values = read_scalars(work_dir, args.key)
        ax.plot(steps, values, label=label, linewidth=1.2)
        print(f'{label}: {args.key} first {values[0]:.4g} last {values[-1]:.4g} ({len(values)} points)')
    ax.set_xlabel('iteration')
    ax.set_ylabel(args.key)
    if args.logy:
        ax.set_yscale('log')
    ax.set_title(args.title or args.key)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    fig.savefig(args.out)
    print(f'wrote {args.out}')


if __name__ == '__main__':
    main()
