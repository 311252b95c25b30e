"""What a DAFL generator learned: the teacher's predictions on its images, and a PNG grid of them.

    mim run tessera-compression dafl_samples CONFIG CHECKPOINT [--num 1000] [--png grid.png] [--compare-init]
        [--teacher-ckpt PATH]

Builds the ``DAFL`` model of CONFIG (teacher from its config + checkpoint), loads the trained generator
(``generator.*`` of CHECKPOINT), draws ``--num`` images (generator in train mode, as during training) and
prints the teacher's class histogram on them, the entropy of that histogram (log K when balanced), the
mean of the teacher's top softmax probability and the teacher's mean absolute feature; ``--compare-init``
prints the same for a freshly initialised generator (torch seed 0, the same on every call; not the run's
own starting weights, which depend on its training seed). ``--png`` writes an
8 x 8 grid of generated images, a column of each row per teacher class where available.
"""
import argparse
import math

import numpy as np
import torch
import torch.nn.functional as F


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('config')
    parser.add_argument('checkpoint')
    parser.add_argument('--num', type=int, default=1000)
    parser.add_argument('--batch', type=int, default=250)
    parser.add_argument('--png', default=None)
    parser.add_argument('--compare-init', action='store_true')
    parser.add_argument('--seed', type=int, default=12345)
    parser.add_argument('--teacher-ckpt', default=None, help='overrides model.teacher_ckpt of CONFIG')
    return parser.parse_args(argv)


@torch.no_grad()
def probe(model, num: int, batch: int, seed: int):
    """(images (num, C, H, W), teacher predictions (num,), summary dict)."""
    model.generator.train()
    images, preds, top, act = [], [], [], []
    for start in range(0, num, batch):
        seeds = torch.arange(start, min(start + batch, num)) + seed * num
        x = model.generator(model.sample_noise(seeds, 0))
        logits = model.teacher_forward(x, None)
        feats = model.teacher_recorders.get_record_data('features') \
            if 'features' in model.teacher_recorders.recorders else None
        prob = F.softmax(logits, dim=1)
        images.append(x)
        preds.append(prob.argmax(1))
        top.append(prob.max(1).values)
        if feats is not None:
            act.append(feats.flatten(1).abs().mean(1))
    preds = torch.cat(preds)
    k = logits.size(1)
    hist = torch.bincount(preds, minlength=k).float()
    p = hist / hist.sum()
    entropy = -(p[p > 0] * p[p > 0].log()).sum().item()
    summary = dict(histogram=hist.long().tolist(), entropy=entropy, max_entropy=math.log(k),
                   mean_top_prob=torch.cat(top).mean().item(),
                   mean_abs_feature=torch.cat(act).mean().item() if act else float('nan'))
    return torch.cat(images), preds, summary


def save_grid(images: torch.Tensor, preds: torch.Tensor, path: str, rows: int = 8, cols: int = 8) -> None:
    """Row ``r`` holds images the teacher assigns to class ``r`` (then the rest), min-max scaled per image."""
    from PIL import Image
    order = []
    for c in range(rows):
        order += (preds == c).nonzero().flatten().tolist()[:cols]
    order += [i for i in range(len(images)) if i not in set(order)][:rows * cols - len(order)]
    tiles = images[order[:rows * cols]].squeeze(1).numpy()
    h, w = tiles.shape[-2:]
    canvas = np.zeros((rows * (h + 2), cols * (w + 2)), dtype=np.uint8)
    for n, tile in enumerate(tiles):
        r, c = divmod(n, cols)
        t = (tile - tile.min()) / max(float(tile.max() - tile.min()), 1e-8)
        canvas[r * (h + 2) + 1:r * (h + 2) + 1 + h, c * (w + 2) + 1:c * (w + 2) + 1 + w] = (t * 255).astype(np.uint8)
    Image.fromarray(canvas).resize((canvas.shape[1] * 3, canvas.shape[0] * 3), Image.NEAREST).save(path)


def main(argv=None):
    args = parse_args(argv)
    from mmengine.config import Config
    from mmengine.registry import DefaultScope
    from mmengine.runner import load_checkpoint

    import tessera_compression.models  # noqa: F401
    from tessera_compression.registry import MODELS
    cfg = Config.fromfile(args.config)
    if args.teacher_ckpt:
        cfg.model.teacher_ckpt = args.teacher_ckpt
    with DefaultScope.overwrite_default_scope('tessera_compression'):
        # Seeded before the build: PyTorch's default layer init runs in the constructors, so the "initial
        # generator" of --compare-init is the same fresh initialisation on every call.
        torch.manual_seed(0)
        model = MODELS.build(cfg.model)
        if not hasattr(model, 'generator'):
            raise TypeError(f'{args.config}: model {type(model).__name__} has no generator')
        model.init_weights()
        if args.compare_init:
            _, _, init = probe(model, args.num, args.batch, args.seed)
            print(f'initial generator: teacher classes {init["histogram"]}, entropy {init["entropy"]:.3f} / '
                  f'{init["max_entropy"]:.3f}, mean top prob {init["mean_top_prob"]:.3f}, '
                  f'mean |feature| {init["mean_abs_feature"]:.4f}')
        load_checkpoint(model, args.checkpoint, map_location='cpu', strict=False, logger='current')
        images, preds, s = probe(model, args.num, args.batch, args.seed)
    print(f'trained generator: teacher classes {s["histogram"]}, entropy {s["entropy"]:.3f} / '
          f'{s["max_entropy"]:.3f}, mean top prob {s["mean_top_prob"]:.3f}, mean |feature| {s["mean_abs_feature"]:.4f}')
    if args.png:
        save_grid(images, preds, args.png)
        print(f'wrote {args.png}')


if __name__ == '__main__':
    main()
