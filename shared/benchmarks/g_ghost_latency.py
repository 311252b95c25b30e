"""CPU latency of G-Ghost RegNetX against the plain RegNetX of the same width, measured in one run.

G-GhostNet (Han et al., IJCV 2022, arXiv:2201.03297) replaces the thin blocks of the deeper RegNetX
stages by cheap 1x1 features of the stage's first block ("G-Ghost stage"); its claim is lower GPU/CPU
latency at equal accuracy, not only fewer MACs. Here each G-Ghost RegNetX size is timed next to the
plain RegNetX built from the same table and the same ``RegNetXBlock`` (``GGhostRegNet`` with every
cheap ratio set to 0: tessera-core has no separate RegNet backbone), same random init seed.

Settings (each its own round-robin: one call of every contender per round, ``--warmup`` rounds
discarded, median over ``--runs`` rounds; ``--threads`` intra-op threads, default 1):

- ``224px b1``: 3 x 224 x 224, batch 1, 1000-class head (the paper's input), stem stride 2;
- ``28px b1`` and ``28px b128``: 1 x 28 x 28 Fashion-MNIST inputs, 10 classes, stem stride 1 (the
  configs of ``configs/g_ghostnet/``), batch 1 and batch 128 (a throughput point).

Both models are timed eager (eval, ``torch.inference_mode``) and after ``switch_to_deploy()`` (BatchNorm
folded into the convs). Ratios are G-Ghost / plain in the same setting and path. Never an assertion.

Usage::

    OMP_NUM_THREADS=1 python shared/benchmarks/g_ghost_latency.py --archs 200mf 3.2gf
"""
import argparse
import statistics
import sys
import time

import torch
from mmengine.registry import init_default_scope

import tessera_core.models  # noqa: F401  (registers the components)
from tessera_core.analysis import get_flops
from tessera_core.models.backbones import GGhostRegNet
from tessera_core.registry import MODELS


def regnet_classifier(arch: str, plain: bool, in_channels: int, num_classes: int, stem_stride: int) -> dict:
    """G-Ghost RegNetX-``arch`` classifier, or (``plain``) the RegNetX of the same table without G-Ghost stages."""
    table = dict(GGhostRegNet.arch_settings[arch])
    if plain:
        table['cheap_ratios'] = (0, 0, 0, 0)
    return dict(type='ImageClassifier',
                backbone=dict(type='GGhostRegNet', arch=table, in_channels=in_channels, stem_stride=stem_stride),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=table['widths'][-1], dropout=0.2),
                data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=in_channels,
                                       mean=[0] * in_channels, std=[1] * in_channels))


def time_round_robin(models: dict, x: torch.Tensor, runs: int, warmup: int) -> dict:
    samples = {name: [] for name in models}
    with torch.inference_mode():
        for round_idx in range(warmup + runs):
            for name, model in models.items():
                start = time.perf_counter()
                model(x)
                if round_idx >= warmup:
                    samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(s) for name, s in samples.items()}


SETTINGS = {  # name: (in_channels, size, batch, num_classes, stem_stride)
    '224px b1': (3, 224, 1, 1000, 2),
    '28px b1': (1, 28, 1, 10, 1),
    '28px b128': (1, 28, 128, 10, 1),
}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--archs', nargs='+', default=['200mf'], help=f'of {", ".join(GGhostRegNet.arch_settings)}')
    parser.add_argument('--settings', nargs='+', default=list(SETTINGS), help=f'of {list(SETTINGS)}')
    parser.add_argument('--runs', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    bad = [a for a in args.archs if a not in GGhostRegNet.arch_settings] + [s for s in args.settings if s not in SETTINGS]
    if bad:
        parser.error(f'unknown arch/setting {bad}; archs: {list(GGhostRegNet.arch_settings)}, settings: {list(SETTINGS)}')
    torch.set_num_threads(args.threads)
    init_default_scope('tessera_core')
    print(f'{args.threads} thread(s), {args.warmup} warm-up + {args.runs} rounds round-robin, median; '
          f'torch {torch.__version__}')
    print('\n| arch | setting | model | params | MACs / image (folded) | eager ms | deploy ms | '
          'eager ratio | deploy ratio |\n|---|---|---|---:|---:|---:|---:|---:|---:|')
    for arch in args.archs:
        for setting in args.settings:
            c, size, batch, classes, stem = SETTINGS[setting]
            contenders, sizes = {}, {}
            for plain in (True, False):
                name = 'plain RegNetX' if plain else 'G-Ghost RegNetX'
                torch.manual_seed(0)
                eager = MODELS.build(regnet_classifier(arch, plain, c, classes, stem)).eval()
                deploy = MODELS.build(regnet_classifier(arch, plain, c, classes, stem)).eval()
                deploy.load_state_dict(eager.state_dict())
                deploy.backbone.switch_to_deploy()
                flops = get_flops(deploy, (c, size, size))
                sizes[name] = (flops['params'], flops['flops'])
                contenders[f'{name} eager'], contenders[f'{name} deploy'] = eager, deploy
            x = torch.randn(batch, c, size, size)
            med = time_round_robin(contenders, x, args.runs, args.warmup)
            print(f'  [{arch} {setting} timed]', file=sys.stderr, flush=True)
            for name in ('plain RegNetX', 'G-Ghost RegNetX'):
                params, macs = sizes[name]
                e, d = med[f'{name} eager'], med[f'{name} deploy']
                print(f'| {arch} | {setting} | {name} | {params / 1e6:.2f}M | {macs / 1e6:.1f}M | {e * 1e3:.2f} | '
                      f'{d * 1e3:.2f} | {e / med["plain RegNetX eager"]:.3f} | {d / med["plain RegNetX deploy"]:.3f} |',
                      flush=True)


if __name__ == '__main__':
    main()
