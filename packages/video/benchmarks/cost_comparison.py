"""CoST vs C2D vs C3D on the 8-direction moving digits: parameters, MACs, and the learned view coefficients.

``complexity`` prints the parameters and MACs (tessera-core's ``get_flops``: one multiply-add = 1) of the four
configs of ``configs/cost/`` on one 4-frame 48x48 grey clip (backbone + head).

``coefficients CONFIG CHECKPOINT`` evaluates a trained CoST checkpoint on the test split (2 views per video, as
the test config) and prints, for every CoST unit, the fusion coefficients of the three views (H-W spatial, T-W
and T-H temporal) averaged over the output channels (and, for CoST(b), over the test clips), their spread over
the channels, and how far they moved from their initial values (CoST(a): softmax(0.7, -0.7, -0.7) = 0.670 /
0.165 / 0.165; CoST(b): 1/3 each up to N(0, 0.01) fc weights). For CoST(b) it also splits the T-W and T-H
coefficients by the axis of the clip's motion: horizontal motion (right / left) is visible in the T-W view,
vertical motion (down / up) in the T-H view, diagonal motion in both.

Usage::

    python packages/video/benchmarks/cost_comparison.py complexity
    python packages/video/benchmarks/cost_comparison.py coefficients \
        costb_resnet18-w16_moving-digits-8dir.py work_dirs/costb/epoch_2.pth
"""
import argparse
import os.path as osp
from collections import defaultdict

import numpy as np
import torch
from mmengine.config import Config
from mmengine.registry import init_default_scope
from mmengine.runner import load_checkpoint

import tessera_core  # noqa: F401  (safe checkpoint loading)
import tessera_video
import tessera_video.datasets  # noqa: F401
import tessera_video.models  # noqa: F401
from tessera_core.analysis.complexity import get_flops
from tessera_video.datasets.moving_digits import DIRECTIONS
from tessera_video.models.layers.cost import VIEWS, CoSTa, CoSTb
from tessera_video.registry import DATASETS, MODELS

CONFIG_DIR = osp.join(osp.dirname(tessera_video.__file__), 'configs', 'cost')
CONFIGS = ('c2d', 'c3d', 'costa', 'costb')
AXIS = {'right': 'horizontal', 'left': 'horizontal', 'down': 'vertical', 'up': 'vertical'}


def build(config: str):
    cfg = Config.fromfile(osp.join(CONFIG_DIR, config))
    return cfg, MODELS.build(cfg.model)


def complexity() -> None:
    print(f'{"config":45s} {"params":>10s} {"MACs (1 clip 1x4x48x48)":>24s}')
    for name in CONFIGS:
        config = f'{name}_resnet18-w16_moving-digits-8dir.py'
        _, model = build(config)
        r = get_flops(model, (1, 1, 4, 48, 48), forward_fn=lambda m, x: m(x, mode='tensor'))
        print(f'{config:45s} {r["params"]:>10,d} {r["flops"]:>24,d}')


def coefficients(config: str, checkpoint: str, batch_size: int = 50, limit: int = 0) -> None:
    cfg, model = build(config)
    load_checkpoint(model, checkpoint, map_location='cpu')
    model.eval()
    units = [(n, m) for n, m in model.backbone.named_modules() if isinstance(m, (CoSTa, CoSTb))]
    if not units:
        raise SystemExit(f'{config} has no CoST unit')
    captured = defaultdict(list)
    hooks = [m.attention.register_forward_hook(lambda mod, inp, out, n=n: captured[n].append(out.detach()))
             for n, m in units if isinstance(m, CoSTb)]
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    n = len(dataset) if not limit else min(limit, len(dataset))
    labels, correct = [], 0
    with torch.no_grad():
        for start in range(0, n, batch_size):
            items = [dataset[i] for i in range(start, min(start + batch_size, n))]
            data = model.data_preprocessor(dict(inputs=[it['inputs'] for it in items],
                                                data_samples=[it['data_samples'] for it in items]))
            preds = model(data['inputs'], data['data_samples'], mode='predict')
            for it, p in zip(items, preds):
                labels.append(int(it['data_samples'].gt_label))
                correct += int(p.pred_label) == labels[-1]
    for h in hooks:
        h.remove()
    print(f'{config}: top-1 {100 * correct / n:.2f} on {n} test videos')
    print(f'{"unit":24s} ' + ' '.join(f'{v:>14s}' for v in VIEWS) + '   moved (mean |a - a_init|)')
    for name, m in units:
        if isinstance(m, CoSTa):
            a = m.coefficients().cpu()  # (3, C)
            init = torch.softmax(torch.tensor([0.7, -0.7, -0.7]), 0)[:, None]
        else:
            a = torch.cat(captured[name]).mean(0)  # (3, C): mean over the clips (all views of all videos)
            init = torch.full((3, 1), 1 / 3)
        moved = (a - init).abs().mean().item()
        cells = ' '.join(f'{a[v].mean():6.3f}+-{a[v].std():5.3f}' for v in range(3))
        print(f'{name:24s} {cells}   {moved:.3f}')
    if any(isinstance(m, CoSTb) for _, m in units):
        classes = np.array([DIRECTIONS[k][0] for k in labels])
        clips = len(torch.cat(captured[units[0][0]])) // n  # views per video, in dataset order
        print('CoST(b) coefficients by the axis of motion (mean over channels and clips): T-W / T-H')
        print(f'{"unit":24s} {"horizontal":>16s} {"vertical":>16s} {"diagonal":>16s}')
        for name, _ in units:
            a = torch.cat(captured[name]).view(n, clips, 3, -1).mean((1, 3))  # (videos, 3)
            row = []
            for axis in ('horizontal', 'vertical', 'diagonal'):
                sel = torch.from_numpy(np.array([AXIS.get(c, 'diagonal') == axis for c in classes]))
                row.append(f'{a[sel, 1].mean():.3f} / {a[sel, 2].mean():.3f}')
            print(f'{name:24s} ' + ' '.join(f'{r:>16s}' for r in row))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest='cmd', required=True)
    sub.add_parser('complexity')
    c = sub.add_parser('coefficients')
    c.add_argument('config', help='a config file name in configs/cost/')
    c.add_argument('checkpoint')
    c.add_argument('--limit', type=int, default=0, help='first N test videos only (0: all)')
    args = parser.parse_args()
    init_default_scope('tessera_video')
    if args.cmd == 'complexity':
        complexity()
    else:
        coefficients(args.config, args.checkpoint, limit=args.limit)


if __name__ == '__main__':
    main()
