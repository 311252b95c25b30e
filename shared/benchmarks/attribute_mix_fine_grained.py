"""Attribute Mix vs no mixing on a fine-grained split of Fashion-MNIST (the four upper-body classes).

The split: T-shirt/top, Pullover, Coat, Shirt (Fashion-MNIST classes 0, 2, 4, 6, relabelled 0-3), the
classes whose confusions make up most of Fashion-MNIST's errors (one super-category, "tops", with
sub-categories told apart by parts: sleeves, collar, buttons, zip), ``--train-per-class`` training
images of each class (the first ones of the training file), all 4,000 test images of the four classes.

Protocol, all in one run (printed side by side, never an assertion):

1. ``none``: the classifier (ResNet-18 with a 3x3/1 stem and ``--base-channels`` base channels: 16 is
   the quarter-width one of ``configs/mixing``) trained with plain cross-entropy; random 2 px shifts; SGD nesterov lr 0.1, batch 64, weight
   decay 5e-4, one linear warm-up epoch, cosine to 0.
2. Attribute mining with the trained ``none`` model (:class:`AttributeMiner`, k attributes per image,
   CAM of the true class, erase-and-repeat); statistics of the mined boxes (mean IoU between attributes
   of the same image, mean box centre per attribute and class) and a PNG of the regions.
3. ``attribute_mix``: the same classifier from the same initialisation trained by
   :class:`AttributeMixClassifier` with that frozen miner, same recipe.

Usage::

    OMP_NUM_THREADS=1 python shared/benchmarks/attribute_mix_fine_grained.py --seeds 0 1 \\
        --png shared/tessera_core/configs/attribute_mix/mined_attributes.png
"""
import argparse
import copy
import math
import time

import numpy as np
import torch
import torch.nn.functional as F

import tessera_core.models  # noqa: F401  (registers the components)
from tessera_core.datasets import FashionMNIST
from tessera_core.models.attribute_mix import AttributeMiner, AttributeMixClassifier
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample

CLASSES = (0, 2, 4, 6)
NAMES = ('T-shirt/top', 'Pullover', 'Coat', 'Shirt')
MEAN, STD = 72.94, 90.02


def classifier_cfg(base_channels: int = 16, num_classes: int = len(CLASSES)) -> dict:
    return dict(type='ImageClassifier',
                backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=base_channels,
                              out_indices=(3,)),
                neck=dict(type='GlobalAveragePooling'),
                head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=8 * base_channels,
                          loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)),
                data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[MEAN], std=[STD]))


def load_split(split: str, per_class: int = 0):
    images, labels = FashionMNIST(split=split, lazy_init=True).load_arrays()
    keep = []
    for new, old in enumerate(CLASSES):
        idx = np.flatnonzero(labels == old)
        keep.append(idx[:per_class] if per_class else idx)
    keep = np.sort(np.concatenate(keep))
    remap = {old: new for new, old in enumerate(CLASSES)}
    x = (torch.from_numpy(images[keep]).float()[:, None] - MEAN) / STD
    y = torch.tensor([remap[int(v)] for v in labels[keep]])
    return x, y


def random_shift(x: torch.Tensor, gen: torch.Generator, pad: int = 2) -> torch.Tensor:
    """Random 2 px shifts (pad with the background, crop back), one offset per image."""
    n, _, h, w = x.shape
    padded = F.pad(x, (pad,) * 4, value=-MEAN / STD)
    dy = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    dx = torch.randint(0, 2 * pad + 1, (n,), generator=gen)
    return torch.stack([padded[i, :, dy[i]:dy[i] + h, dx[i]:dx[i] + w] for i in range(n)])


def train(model, x, y, epochs: int, seed: int, batch: int = 64, lr: float = 0.1):
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    np.random.seed(seed)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=5e-4, nesterov=True)
    iters_per_epoch = math.ceil(len(x) / batch)
    total, it = epochs * iters_per_epoch, 0
    lams = []
    model.train()
    for _ in range(epochs):
        order = torch.randperm(len(x), generator=gen)
        for b in range(iters_per_epoch):
            idx = order[b * batch:(b + 1) * batch]
            if it < iters_per_epoch:   # linear warm-up from 0.1 lr over the first epoch
                cur = lr * (0.1 + 0.9 * it / iters_per_epoch)
            else:                      # cosine to 0 over the rest
                t = (it - iters_per_epoch) / max(1, total - iters_per_epoch)
                cur = 0.5 * lr * (1 + math.cos(math.pi * t))
            for g in opt.param_groups:
                g['lr'] = cur
            xb = random_shift(x[idx], gen)
            samples = [ClsDataSample().set_gt_label(int(v)) for v in y[idx]]
            loss = model(xb, samples, mode='loss')['loss']
            opt.zero_grad()
            loss.backward()
            opt.step()
            if getattr(model, 'last_lam', None) is not None:
                lams.append(model.last_lam.mean().item())
            it += 1
    return lams


@torch.no_grad()
def evaluate(model, x, y):
    model.eval()
    pred = torch.cat([model(x[i:i + 500], mode='tensor').argmax(1) for i in range(0, len(x), 500)])
    conf = torch.zeros(len(CLASSES), len(CLASSES), dtype=torch.long)
    for t, p in zip(y.tolist(), pred.tolist()):
        conf[t, p] += 1
    return 100.0 * (pred == y).float().mean().item(), conf


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    ih = (torch.minimum(a[:, 1], b[:, 1]) - torch.maximum(a[:, 0], b[:, 0])).clamp_min(0)
    iw = (torch.minimum(a[:, 3], b[:, 3]) - torch.maximum(a[:, 2], b[:, 2])).clamp_min(0)
    inter = (ih * iw).float()
    area = lambda t: ((t[:, 1] - t[:, 0]) * (t[:, 3] - t[:, 2])).float()  # noqa: E731
    return inter / (area(a) + area(b) - inter)


def mining_report(miner: AttributeMiner, x, y, png: str = ''):
    boxes = torch.cat([miner(x[i:i + 500], y[i:i + 500]) for i in range(0, len(x), 500)])
    k = boxes.shape[1]
    area = ((boxes[..., 1] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 2])).float() / (x.shape[-2] * x.shape[-1])
    print(f'mined {k} attributes on {len(x)} test images; mean box area per attribute: '
          + ', '.join(f'{a:.3f}' for a in area.mean(0).tolist()))
    for i in range(k):
        for j in range(i + 1, k):
            print(f'  mean IoU(attribute {i}, attribute {j}) of the same image: '
                  f'{box_iou(boxes[:, i], boxes[:, j]).mean().item():.3f}')
    print('  mean box centre (row, col) per class and attribute:')
    for c, name in enumerate(NAMES):
        sel = boxes[y == c].float()
        cy = ((sel[:, :, 0] + sel[:, :, 1]) / 2).mean(0)
        cx = ((sel[:, :, 2] + sel[:, :, 3]) / 2).mean(0)
        centres = [f'({cy[j]:.1f}, {cx[j]:.1f})' for j in range(k)]
        print(f'    {name:12s} ' + '  '.join(centres))
    if png:
        import matplotlib
        matplotlib.use('Agg')
        import matplotlib.pyplot as plt
        from matplotlib.patches import Rectangle
        colours = ('tab:red', 'tab:green', 'tab:blue', 'tab:orange', 'tab:purple')
        fig, axes = plt.subplots(len(CLASSES), 4, figsize=(4 * 1.3, len(CLASSES) * 1.4), dpi=60)
        for c in range(len(CLASSES)):
            idx = torch.nonzero(y == c)[:4, 0]
            for col, i in enumerate(idx.tolist()):
                ax = axes[c, col]
                ax.imshow((x[i, 0] * STD + MEAN).numpy(), cmap='gray', vmin=0, vmax=255)
                for j in range(k):
                    y1, y2, x1, x2 = boxes[i, j].tolist()
                    ax.add_patch(Rectangle((x1 - 0.5, y1 - 0.5), x2 - x1, y2 - y1, fill=False,
                                           edgecolor=colours[j % len(colours)], linewidth=1.5))
                ax.set_xticks([])
                ax.set_yticks([])
                if col == 0:
                    ax.set_ylabel(NAMES[c], fontsize=7)
        fig.suptitle('mined attributes: 1st red, 2nd green, 3rd blue', fontsize=7)
        fig.tight_layout()
        fig.savefig(png)
        print(f'  saved {png}')
    return boxes


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--train-per-class', type=int, default=500)
    parser.add_argument('--base-channels', type=int, default=16, help='ResNet-18 width (16: configs/mixing)')
    parser.add_argument('--epochs', type=int, default=8)
    parser.add_argument('--seeds', type=int, nargs='+', default=[0])
    parser.add_argument('--num-attributes', type=int, default=3)
    parser.add_argument('--threshold', type=float, default=0.5)
    parser.add_argument('--prob', type=float, default=1.0)
    parser.add_argument('--png', default='')
    args = parser.parse_args()
    torch.set_num_threads(int(__import__('os').environ.get('OMP_NUM_THREADS', 1)))
    xtr, ytr = load_split('train', args.train_per_class)
    xte, yte = load_split('test')
    print(f'fine-grained split {NAMES}: {len(xtr)} train, {len(xte)} test images, {args.epochs} epochs, '
          f'ResNet-18 width {args.base_channels}, k = {args.num_attributes}, theta = {args.threshold}, prob = {args.prob}')
    results = {'none': [], 'attribute_mix': []}
    for seed in args.seeds:
        torch.manual_seed(seed)
        base = MODELS.build(classifier_cfg(args.base_channels))
        init = copy.deepcopy(base.state_dict())
        t0 = time.time()
        train(base, xtr, ytr, args.epochs, seed)
        acc, conf = evaluate(base, xte, yte)
        results['none'].append(acc)
        print(f'[seed {seed}] none: top-1 {acc:.2f} ({time.time() - t0:.0f} s); confusion (rows true):\n{conf}')

        cfg = classifier_cfg(args.base_channels)
        cfg.pop('type')
        mix = AttributeMixClassifier(miner=base, num_attributes=args.num_attributes, threshold=args.threshold,
                                     prob=args.prob, **cfg)
        mix.allow_untrained_miner = True   # the miner is the model trained above, passed as an object
        mix.load_state_dict(init)
        if seed == args.seeds[0]:
            mining_report(mix.miner, xte, yte, args.png)
        start = copy.deepcopy(mix.state_dict())
        t0 = time.time()
        lams = train(mix, xtr, ytr, args.epochs, seed)
        moved = sum((p - start[n]).norm() ** 2 for n, p in mix.state_dict().items()
                    if p.dtype.is_floating_point) ** 0.5
        acc, conf = evaluate(mix, xte, yte)
        results['attribute_mix'].append(acc)
        print(f'[seed {seed}] attribute_mix: top-1 {acc:.2f} ({time.time() - t0:.0f} s); mean pasted share lam '
              f'{np.mean(lams):.3f} over {len(lams)} mixed batches; student weights moved {moved:.2f} (L2); '
              f'confusion:\n{conf}')
    print('\n| training | top-1 per seed | mean |\n|---|---|---|')
    for name, accs in results.items():
        print(f'| {name} | ' + ' / '.join(f'{a:.2f}' for a in accs) + f' | {np.mean(accs):.2f} |')


if __name__ == '__main__':
    main()
