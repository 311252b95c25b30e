"""CPU batch-1 latency of the efficient backbones of tessera-core, against timm's GhostNet.

Measures, in one process and one run (never an assertion):

1. tessera-core ``GhostNet`` 1.0x classifier vs ``timm.create_model('ghostnet_100')`` with the
   *same weights* (timm's random init copied into ours by the converter; logits checked equal),
   batch 1, 3 x 224 x 224, eval mode, ``torch.inference_mode``. Printed as a ratio ours / timm
   (target <= 1.0), then again after ``switch_to_deploy()`` folded our BatchNorms (target <= 0.85).
2. The other issue-3 backbones (MicroNet M0-M3, DCD ResNet-18/MobileNetV2, MobileNetV2,
   ResNet-18) at the same input, as ms and as a ratio to timm's GhostNet measured in the same run.

Timing: the models are timed round-robin (one call of each per round, so drift from other load
hits all of them alike), ``--warmup`` rounds discarded, median over ``--runs`` rounds; threads
pinned with ``--threads`` (default 1: batch-1 latency on one core is the least noisy setting on a
shared 2-core machine).

Usage::

    python shared/benchmarks/backbone_latency.py                # full table
    python shared/benchmarks/backbone_latency.py --runs 300 --models ghostnet
"""
import argparse
import statistics
import sys
import time

import torch
from mmengine.registry import init_default_scope

from tessera_core.analysis import count_parameters, get_flops
from tessera_core.models.converters.timm_ghostnet import convert_timm_ghostnet
from tessera_core.registry import MODELS


def classifier(backbone: dict, head: dict, neck: dict = dict(type='GlobalAveragePooling')) -> dict:
    return dict(type='ImageClassifier', backbone=backbone, neck=neck, head=head,
                data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]))


def micronet(arch: str) -> dict:
    """MicroNet classifier with the official head width / dropout of ``arch``."""
    from tessera_core.models.backbones.micronet import MicroNet
    setting = MicroNet.arch_settings[arch]
    final_channels = MicroNet(arch=arch, init_cfg=None).out_channels[-1]
    return classifier(dict(type='MicroNet', arch=arch),
                      dict(type='MicroNetClsHead', num_classes=1000, in_channels=final_channels,
                           mid_channels=setting['head_channels'], dropout=setting['dropout']), neck=None)


def other_models() -> dict:
    """Name -> ImageNet classifier config (1000 classes, the papers' heads) timed next to GhostNet."""
    mobilenet_head = dict(type='LinearClsHead', num_classes=1000, in_channels=1280, dropout=0.2)
    resnet_head = dict(type='LinearClsHead', num_classes=1000, in_channels=512)
    return {
        **{f'micronet_{arch}': micronet(arch) for arch in ('m0', 'm1', 'm2', 'm3')},
        'mobilenet_v2': classifier(dict(type='MobileNetV2'), mobilenet_head),
        'dcd_mobilenet_v2': classifier(dict(type='DCDMobileNetV2'), mobilenet_head),
        'resnet18': classifier(dict(type='ResNet', depth=18), resnet_head),
        'dcd_resnet18': classifier(dict(type='DCDResNet', depth=18), resnet_head),
    }


def build_ghostnet_pair():
    """timm ghostnet_100 and our GhostNet-1.0x classifier holding the same (random) weights."""
    import timm
    torch.manual_seed(0)
    reference = timm.create_model('ghostnet_100', pretrained=False, num_classes=1000).eval()
    ours = MODELS.build(classifier(dict(type='GhostNet', widen_factor=1.0),
                                   dict(type='ConvClsHead', num_classes=1000, in_channels=960,
                                        mid_channels=1280, dropout=0.2))).eval()
    ours.load_state_dict(convert_timm_ghostnet(reference.state_dict(), widen_factor=1.0), strict=True)
    return reference, ours


def time_round_robin(models: dict, x: torch.Tensor, runs: int, warmup: int) -> dict:
    """Median seconds per call of every model, timed one call each per round."""
    samples = {name: [] for name in models}
    with torch.inference_mode():
        for round_idx in range(warmup + runs):
            for name, fn in models.items():
                start = time.perf_counter()
                fn(x)
                elapsed = time.perf_counter() - start
                if round_idx >= warmup:
                    samples[name].append(elapsed)
            if round_idx % 50 == 49:
                print(f'  round {round_idx + 1}/{warmup + runs}', file=sys.stderr, flush=True)
    return {name: statistics.median(s) for name, s in samples.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=200, help='timed rounds (median reported)')
    parser.add_argument('--warmup', type=int, default=20, help='untimed rounds first')
    parser.add_argument('--threads', type=int, default=1, help='torch intra-op threads')
    others = other_models()
    parser.add_argument('--models', nargs='*', default=None,
                        help=f'subset of: ghostnet {" ".join(others)} (default: all)')
    args = parser.parse_args(argv)
    valid = ['ghostnet', *others]
    selected = args.models or valid
    unknown = [m for m in selected if m not in valid]
    if unknown:
        parser.error(f'unknown model(s) {unknown}; valid: {valid}')
    torch.set_num_threads(args.threads)
    init_default_scope('tessera_core')
    x = torch.randn(1, 3, 224, 224)

    reference, ours = build_ghostnet_pair()
    with torch.inference_mode():
        diff = (reference(x) - ours(x)).abs().max().item()
    print(f'same weights: max |logit diff| ours vs timm = {diff:.2e}')
    deployed = MODELS.build(classifier(dict(type='GhostNet', widen_factor=1.0),
                                       dict(type='ConvClsHead', num_classes=1000, in_channels=960,
                                            mid_channels=1280, dropout=0.2))).eval()
    deployed.load_state_dict(ours.state_dict())
    deployed.backbone.switch_to_deploy()
    with torch.inference_mode():
        diff_deploy = (reference(x) - deployed(x)).abs().max().item()
    print(f'after switch_to_deploy: max |logit diff| = {diff_deploy:.2e}')

    contenders = {'timm ghostnet_100': reference}
    if 'ghostnet' in selected:
        contenders['tessera GhostNet-1.0x'] = ours
        contenders['tessera GhostNet-1.0x deploy'] = deployed
    sizes = {name: (count_parameters(m), get_flops(m, (3, 224, 224))['flops'])
             for name, m in contenders.items()}
    for name in selected:
        if name == 'ghostnet':
            continue
        torch.manual_seed(0)
        model = MODELS.build(others[name]).eval()
        contenders[name] = model
        sizes[name] = (count_parameters(model), get_flops(model, (3, 224, 224))['flops'])

    print(f'timing {len(contenders)} models: batch 1, 3x224x224, {args.threads} thread(s), '
          f'{args.warmup} warm-up + {args.runs} rounds round-robin, median', flush=True)
    medians = time_round_robin(contenders, x, args.runs, args.warmup)
    ref = medians['timm ghostnet_100']
    print(f'\n| model | params | MACs | latency (ms) | ratio to timm ghostnet_100 |')
    print('|---|---:|---:|---:|---:|')
    for name, seconds in medians.items():
        params, macs = sizes[name]
        print(f'| {name} | {params / 1e6:.2f}M | {macs / 1e6:.1f}M | {seconds * 1e3:.2f} | '
              f'{seconds / ref:.3f} |')
    if 'ghostnet' in selected:
        print(f'\nratio ours/timm: {medians["tessera GhostNet-1.0x"] / ref:.3f} (target <= 1.0); '
              f'after switch_to_deploy: {medians["tessera GhostNet-1.0x deploy"] / ref:.3f} (target <= 0.85)')


if __name__ == '__main__':
    main()
