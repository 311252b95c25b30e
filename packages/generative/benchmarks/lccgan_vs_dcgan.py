"""LCCGAN vs DCGAN at the same low generator-input dimension: runs (or reads) the `mim train` work dirs and prints
FID / IS / precision / recall side by side, with LCCGAN's mechanism checks (the LCC fit's log line).

    python benchmarks/lccgan_vs_dcgan.py --work-root work_dirs/lccgan_cmp [--run] [--seed 0]

``--run`` trains DCGAN (``model.noise_size=d``), LCCGAN (d = 3) and LCCGAN++ (d = 5) with ``mim train``
first (about 4 CPU-minutes each); without it the existing work dirs are read.
"""
import argparse
import re
import subprocess
from pathlib import Path

from tessera_core.analysis import iter_run_scalars

RUNS = (  # (name, config, extra cfg-options)
    ('dcgan_z3', 'dcgan_embedded-digits.py', ['model.noise_size=3']),
    ('lccgan_d3', 'lccgan_d3_embedded-digits.py', []),
    ('lccganpp_d5', 'lccgan-pp_d5_embedded-digits.py', []),
    ('dcgan_z5', 'dcgan_embedded-digits.py', ['model.noise_size=5']),
)
KEYS = ('FID/fid', 'IS/is', 'PR/precision', 'PR/recall', 'FID-EMA/fid')


def last_metrics(work: Path) -> dict:
    try:
        _, rows = next(iter_run_scalars(str(work)))
    except FileNotFoundError:
        return {}
    vals = [r for r in rows if 'FID/fid' in r]
    return vals[-1] if vals else {}


def lcc_line(work: Path) -> str:
    for log in sorted(work.glob('*/*.log')):
        m = re.search(r'LCCGAN bases fitted .*', log.read_text())
        if m:
            return m.group(0)
    return ''


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--work-root', default='work_dirs/lccgan_cmp')
    p.add_argument('--run', action='store_true')
    p.add_argument('--seed', type=int, default=0)
    args = p.parse_args()
    root = Path(args.work_root)
    for name, cfg, extra in RUNS:
        work = root / name
        if args.run:
            subprocess.run(['mim', 'train', 'tessera-generative', cfg, '--work-dir', str(work), '--cfg-options',
                            f'randomness.seed={args.seed}', *extra], check=True)
        m = last_metrics(work)
        print(f'{name:12s} ' + '  '.join(f'{k}={m[k]:.3f}' if k in m else f'{k}=-' for k in KEYS))
        line = lcc_line(work)
        if line:
            print('             ' + line)


if __name__ == '__main__':
    main()
