"""How MBN's training backward decides whether small-batch training works at all.

Trains the network of the MBN configs (``configs/mbn/resnet18-w16_fashion-mnist-bs4.py``: backbone,
classifier width, input normalisation, batch size, SGD settings and warm-up are read from it) on
Fashion-MNIST for a few thousand SGD steps with each normalisation variant, from the same initial
weights and on the same batch sequence, and prints the mean training loss of every 500 steps and the
top-1 on the first ``--test-images`` test images (eval mode: BatchNorm's moving averages, MBN's memory
of the last k training batches). The variants:

- ``bn``: BatchNorm;
- ``mbn-renorm``: MemorizedBatchNorm2d(k, gradient='renorm'), the default;
- ``mbn-exact``: MemorizedBatchNorm2d(k, gradient='exact'), only the current batch's share of the
  pooled statistics carries gradient;
- ``mbn-constant``: the pooled statistics as constants (no gradient through any statistic).

The learning rate is the config's after its linear warm-up, then constant (the ablation is short).
Plain PyTorch loop, no runner, so that only the normalisation differs.

Usage::

    OMP_NUM_THREADS=1 python shared/benchmarks/mbn_gradient_ablation.py --steps 3000 --seed 0
"""
import argparse
import os.path as osp
import statistics
import time

import torch
import torch.nn.functional as F
from mmengine.config import Config

import tessera_core
from tessera_core.datasets import FashionMNIST
from tessera_core.datasets.mnist_idx import FASHION_MNIST_ROOT
from tessera_core.models.layers.memorized_batch_norm import MemorizedBatchNorm2d
from tessera_core.registry import MODELS

BN_CONFIG = osp.join(osp.dirname(tessera_core.__file__), 'configs', 'mbn', 'resnet18-w16_fashion-mnist-bs4.py')
VARIANTS = ('bn', 'mbn-renorm', 'mbn-exact', 'mbn-constant')


def load_split(cfg, data_root: str, split: str, limit: int = None):
    """Images (N, 1, 28, 28) normalised as the config's data preprocessor does, and labels (N,)."""
    images, labels = FashionMNIST(data_root=data_root, split=split, lazy_init=True).load_arrays()
    mean, std = cfg.model.data_preprocessor.mean[0], cfg.model.data_preprocessor.std[0]
    images = torch.tensor(images[:limit]).float().sub(mean).div(std)[:, None]
    return images, torch.tensor(labels[:limit]).long()


def build_network(cfg, variant: str, memory_size: int):
    """The config's backbone (MBN variants replace every BatchNorm) + its linear classifier."""
    if variant == 'bn':
        norm_cfg = dict(type='BN')
    else:
        gradient = 'renorm' if variant == 'mbn-renorm' else 'exact'
        norm_cfg = dict(type='MBN', memory_size=memory_size, gradient=gradient)
    backbone = MODELS.build(dict(cfg.model.backbone, norm_cfg=norm_cfg))
    head = cfg.model.head
    return torch.nn.ModuleDict(dict(backbone=backbone, fc=torch.nn.Linear(head.in_channels, head.num_classes)))


def logits(net, x):
    return net['fc'](net['backbone'](x)[-1].mean(dim=(2, 3)))


def run(cfg, variant, args, train, test):
    torch.manual_seed(args.seed)
    net = build_network(cfg, variant, args.memory_size)
    if variant == 'mbn-constant':
        _force_constant_statistics(net)
    sgd = {k: v for k, v in cfg.optim_wrapper.optimizer.items() if k != 'type'}
    optimizer = torch.optim.SGD(net.parameters(), **sgd)
    batch_size, warmup = cfg.batch_size, cfg.warmup_iters
    start_factor = cfg.param_scheduler[0].start_factor
    order = torch.randperm(len(train[1]), generator=torch.Generator().manual_seed(args.seed))
    losses, start = [], time.time()
    net.train()
    for step in range(args.steps):
        for group in optimizer.param_groups:
            group['lr'] = sgd['lr'] * min(1.0, start_factor + (1 - start_factor) * step / warmup)
        idx = order[(step * batch_size) % len(order):][:batch_size]
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
    parser.add_argument('--memory-size', type=int, default=4)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--test-images', type=int, default=2000)
    parser.add_argument('--data-root', default=FASHION_MNIST_ROOT)
    args = parser.parse_args()
    cfg = Config.fromfile(BN_CONFIG)
    train = load_split(cfg, args.data_root, 'train')
    test = load_split(cfg, args.data_root, 'test', args.test_images)
    rows = [(variant, *run(cfg, variant, args, train, test)) for variant in args.variants]
    print(f'\nbatch {cfg.batch_size}, k = {args.memory_size}, {args.steps} steps, seed {args.seed}\n')
    print(f'| variant | train loss (last 1,000 steps) | top-1 on {len(test[1])} test images |')
    print('|---|---|---|')
    for variant, loss, top1 in rows:
        print(f'| {variant} | {loss:.3f} | {top1:.2f} |')


if __name__ == '__main__':
    main()
