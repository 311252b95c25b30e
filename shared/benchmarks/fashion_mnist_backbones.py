"""Accuracy vs MACs vs parameters of every Fashion-MNIST backbone config of tessera-core.

Reads the measured top-1 from each config's ``metafile.yml`` (the numbers recorded by the
trainings, never recomputed here), counts parameters and MACs of the config's model at
1 x 28 x 28 through ``mmengine.analysis``, and prints one markdown table with each model's
MACs and accuracy relative to the ResNet-18 baseline measured with the same recipe. With
``--plot PNG`` it also draws accuracy against MACs (log scale).

Usage::

    python shared/benchmarks/fashion_mnist_backbones.py --plot shared/docs/fashion_mnist_backbones.png
"""
import argparse
import glob
import os.path as osp
import re

import yaml
from mmengine.config import Config
from mmengine.registry import init_default_scope

import tessera_core
from tessera_core.analysis import get_flops
from tessera_core.registry import MODELS

PACKAGE_ROOT = osp.dirname(tessera_core.__file__)
BASELINE = 'resnet18_fashion-mnist'
RECIPE = 'fashion_mnist_backbones.py'  # the shared schedule: only configs trained with it compare


def uses_recipe(config: str) -> bool:
    """Whether ``config`` or a config it inherits (``_base_``, followed on disk) uses :data:`RECIPE`."""
    text = open(config).read()
    if RECIPE in text:
        return True
    bases = re.findall(r"['\"]([^'\"]+\.py)['\"]", text.split('_base_', 1)[1].split('\n\n', 1)[0]) \
        if '_base_' in text else []
    return any(uses_recipe(osp.normpath(osp.join(osp.dirname(config), b))) for b in bases)
METRIC = 'Top 1 Accuracy'


def fashion_mnist_models(root: str = PACKAGE_ROOT):
    """Metafile entries trained with the shared recipe: list of dicts (name, config, status, top1)."""
    rows = []
    for path in sorted(glob.glob(osp.join(root, 'configs', '*', 'metafile.yml'))):
        with open(path) as f:
            meta = yaml.safe_load(f)
        for model in meta.get('Models', []):
            if not uses_recipe(osp.join(root, model['Config'])):
                continue
            top1 = None
            for result in model.get('Results') or []:
                top1 = result.get('Metrics', {}).get(METRIC, top1)
            rows.append(dict(name=model['Name'], config=osp.join(root, model['Config']),
                             status=model['Metadata']['Status'],
                             method=model['Metadata'].get('Catalog Method', 'none'), top1=top1))
    return rows


def measure_sizes(rows):
    init_default_scope('tessera_core')
    for row in rows:
        cfg = Config.fromfile(row['config'])
        model = MODELS.build(cfg.model)
        counts = get_flops(model, (1, 28, 28))
        row['params'], row['macs'] = counts['params'], counts['flops']
    return rows


def markdown_table(rows) -> str:
    base = next((r for r in rows if r['name'] == BASELINE), None)
    lines = ['| config | params | MACs (1x28x28) | MACs vs ResNet-18 | top-1 | vs ResNet-18 |',
             '|---|---:|---:|---:|---:|---:|']
    for r in sorted(rows, key=lambda r: r['macs']):
        rel_macs = f'{r["macs"] / base["macs"]:.1%}' if base else 'n/a'
        top1 = f'{r["top1"]:.2f}' if r['top1'] is not None else 'not trained'
        gap = (f'{r["top1"] - base["top1"]:+.2f}' if base and base['top1'] is not None
               and r['top1'] is not None else 'n/a')
        lines.append(f'| `{r["name"]}` | {r["params"] / 1e6:.2f}M | {r["macs"] / 1e6:.1f}M | {rel_macs} | '
                     f'{top1} | {gap} |')
    return '\n'.join(lines)


def plot(rows, path: str) -> None:
    import matplotlib
    matplotlib.use('Agg')
    import matplotlib.pyplot as plt
    trained = [r for r in rows if r['top1'] is not None]
    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=120)
    for r in trained:
        ax.scatter(r['macs'] / 1e6, r['top1'], s=20 + r['params'] / 2e5, alpha=0.7)
        ax.annotate(r['name'].replace('_fashion-mnist', ''), (r['macs'] / 1e6, r['top1']),
                    textcoords='offset points', xytext=(5, 4), fontsize=8)
    ax.set_xscale('log')
    ax.set_xlabel('MACs per 28x28 image (millions, log scale)')
    ax.set_ylabel('Fashion-MNIST test top-1 (%)')
    ax.set_title('Same 5-epoch recipe; marker area ~ parameters')
    ax.grid(True, which='both', alpha=0.3)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--plot', help='write an accuracy-vs-MACs PNG here')
    args = parser.parse_args(argv)
    rows = measure_sizes(fashion_mnist_models())
    if not rows:
        raise SystemExit(f'no Fashion-MNIST entries in {PACKAGE_ROOT}/configs/*/metafile.yml')
    print(markdown_table(rows))
    if args.plot:
        plot(rows, args.plot)
        print(f'wrote {args.plot}')


if __name__ == '__main__':
    main()
