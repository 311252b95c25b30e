"""How MBN's training backward decides whether small-batch training works at all.

Trains the quarter-width ResNet-18 of the MBN configs (configs/mbn) on Fashion-MNIST at batch 4 for a
few thousand SGD steps with each normalisation variant, from the same initial weights and on the same
batch sequence, and prints the mean training loss of every 500 steps and the top-1 on the first
``--test-images`` test images (eval mode: BatchNorm's moving averages, MBN's memory of the last k
training batches). The variants:

- ``bn``: BatchNorm;
- ``mbn-renorm``: MemorizedBatchNorm2d(k, gradient='renorm'), the default;
- ``mbn-exact``: MemorizedBatchNorm2d(k, gradient='exact'), only the current batch's share of the
  pooled statistics carries gradient;
- ``mbn-constant``: the pooled statistics as constants (no gradient through any statistic).

The optimiser follows the configs (SGD nesterov, momentum 0.9, weight decay 5e-5, lr 0.1 x 4 / 128
with a 500-step linear warm-up from 0.1x, then constant: the ablation is short). Plain PyTorch loop,
no runner, so that only the normalisation differs.

Usage::

    OMP_NUM_THREADS=1 python shared/benchmarks/mbn_gradient_ablation.py --steps 3000 --seed 0
"""
import argparse
import statistics
import time

import torch
import torch.nn.functional as F

import tessera_core  # noqa: F401  (registers the models)
from tessera_core.datasets.mnist_idx import read_idx
from tessera_core.models.layers.memorized_batch_norm import MemorizedBatchNorm2d
from tessera_core.registry import MODELS

FASHION_MNIST_MEAN, FASHION_MNIST_STD = 72.94, 90.02
VARIANTS = ('bn', 'mbn-renorm', 'mbn-exact', 'mbn-constant')


def load_split(root: str, prefix: str, limit: int = None):
    """Normalised images (N, 1, 28, 28) and labels (N,) of a Fashion-MNIST split."""
    images = torch.tensor(read_idx(f'{root}/{prefix}-images-idx3-ubyte.gz')[:limit]).float()
    labels = torch.tensor(read_idx(f'{root}/{prefix}-labels-idx1-ubyte.gz')[:limit]).long()
    return images.sub(FASHION_MNIST_MEAN).div(FASHION_MNIST_STD)[:, None], labels


def build_network(variant: str, memory_size: int):
    """Backbone + linear classifier; MBN variants replace every BatchNorm."""
    if variant == 'bn':
        norm_cfg = dict(type='BN')
    else:
        gradient = 'renorm' if variant == 'mbn-renorm' else 'exact'
        norm_cfg = dict(type='MBN', memory_size=memory_size, gradient=gradient)
    backbone = MODELS.build(dict(type='ResNet', depth=18, in_channels=1, stem='small', stem_stride=1,
                                 base_channels=16, norm_cfg=norm_cfg))
    return torch.nn.ModuleDict(dict(backbone=backbone, fc=torch.nn.Linear(128, 10)))


def logits(net, x):
    return net['fc'](net['backbone'](x)[-1].mean(dim=(2, 3)))


def run(variant, args, train, test):
    torch.manual_seed(args.seed)
    net = build_network(variant, args.memory_size)
    if variant == 'mbn-constant':
        _force_constant_statistics(net)
    base_lr = 0.1 * args.batch_size / 128
    optimizer = torch.optim.SGD(net.parameters(), lr=base_lr, momentum=0.9, nesterov=True, weight_decay=5e-5)
    order = torch.randperm(len(train[1]), generator=torch.Generator().manual_seed(args.seed))
    losses, start = [], time.time()
    net.train()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group['lr'] = base_lr * min(1.0, 0.1 + 0.9 * step / 500)
        idx = order[(step * args.batch_size) % len(order):][:args.batch_size]
        loss = F.cross_entropy(logits(net, train[0][idx]), train[1][idx])
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
        if (step + 1) % 500 == 0:
            print(f'{variant:>12} step {step + 1:>6}  train loss (last 500) {statistics.mean(losses[-500:]):.3f}'
                  f'  {time.time() - start:.0f} s', flush=True)
    net.eval()
    with torch.no_grad():
        correct = sum((logits(net, test[0][i:i + 500]).argmax(1) == test[1][i:i + 500]).sum().item()
                      for i in range(0, len(test[1]), 500))
    return statistics.mean(losses[-1000:]), 100.0 * correct / len(test[1])


def _force_constant_statistics(net):
    """Patch every MBN layer's backward to treat all pooled statistics as constants."""
    for module in net.modules():
        if isinstance(module, MemorizedBatchNorm2d):
            module.forward = _constant_statistics_forward(module)


def _constant_statistics_forward(module):
    def forward(x):
        with torch.no_grad():
            module._memorize(*module.batch_statistics(x), x.numel() // module.num_features, replace_newest=False)
            mean, var = module.memorized_statistics()
        return F.batch_norm(x, mean, var, module.weight, module.bias, False, 0.0, module.eps)
    return forward


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--variants', nargs='+', default=list(VARIANTS), choices=VARIANTS)
    parser.add_argument('--steps', type=int, default=3000)
    parser.add_argument('--batch-size', type=int, default=4)
    parser.add_argument('--memory-size', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--test-images', type=int, default=2000)
    parser.add_argument('--data-root', default='/usr/share/datasets/fashion-mnist')
    args = parser.parse_args()
    train = load_split(args.data_root, 'train')
    test = load_split(args.data_root, 't10k', args.test_images)
    rows = [(variant, *run(variant, args, train, test)) for variant in args.variants]
    print(f'\nbatch {args.batch_size}, k = {args.memory_size}, {args.steps} steps, seed {args.seed}\n')
    print(f'| variant | train loss (last 1,000 steps) | top-1 on {len(test[1])} test images |')
    print('|---|---|---|')
    for variant, loss, top1 in rows:
        print(f'| {variant} | {loss:.3f} | {top1:.2f} |')


if __name__ == '__main__':
    main()
