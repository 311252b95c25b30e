"""Peak memory of one supernet training step: PC-DARTS (K=4) vs DARTS, same batch, same cells.

PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search, Xu et al.,
ICLR 2020, arXiv:1907.05737 (https://github.com/yuhuixu1993/PC-DARTS). The paper's premise: with
only 1/K of the channels going through the mixed operations, the search fits about K times the
batch of DARTS (batch 64 -> 256 on CIFAR-10), so at the same batch PC-DARTS should need well
under half the memory of DARTS (target ratio <= 0.45).

One "training step" is what the weight update of the search loop runs: forward of the supernet
(``DARTSSearchBackbone`` + global average pooling + linear classifier) on one batch, cross-entropy,
backward (the architecture parameters keep ``requires_grad`` as in the official code, so their
gradients are computed too). DARTS = ``MixedOp`` on every edge; PC-DARTS =
``PartialChannelMixedOp(k=K)`` + edge normalization, as the official PC-DARTS search. Everything
else (cells, channels, batch, input values) is identical.

How memory is measured (CPU, no CUDA allocator statistics), each variant in its own fresh process:

1. **Allocator trace (primary).** ``torch.profiler`` with ``profile_memory=True`` records every
   allocation and free of tensor memory made through PyTorch's CPU allocator, with its byte
   count and time stamp (the ``[memory]`` events). Sorting them by time and taking the maximum of
   the running sum gives the exact peak of tensor bytes alive during the step above what was
   alive before it (weights, input and their buffers are already allocated): activations saved
   for backward, temporaries, gradients. It is exact (bytes, not pages) and does not depend on
   the malloc implementation.
2. **Resident memory (cross-check).** The kernel's peak resident set (``VmHWM`` in
   ``/proc/self/status``, reset through ``/proc/self/clear_refs``) minus the resident set before
   the step, with glibc's mmap threshold pinned at 64 KiB (``MALLOC_MMAP_THRESHOLD_``) so that
   freed tensors go back to the kernel instead of being kept in the heap. This counts what the
   process really occupied, including allocator overhead, at page granularity.

A warm-up step runs first (one-time initialisations), then the gradients are dropped
(``set_to_none``, as ``optimizer.zero_grad()`` does) before each measured step.

Usage::

    OMP_NUM_THREADS=1 python packages/nas/benchmarks/search_memory.py
    python packages/nas/benchmarks/search_memory.py --batch-size 16 --init-channels 16 --layers 8
"""
import argparse
import gc
import json
import os
import subprocess
import sys
import time
from typing import Dict

import torch
import torch.nn.functional as F
from torch import nn

VARIANTS = {
    'darts': dict(mixed_op=dict(type='MixedOp'), edge_normalization=False),
    'pc-darts': dict(mixed_op=dict(type='PartialChannelMixedOp', k=4), edge_normalization=True),
}


def build_supernet(variant: str, args) -> nn.Module:
    from tessera_core.models import GlobalAveragePooling
    from tessera_nas.models.search import DARTSSearchBackbone

    cfg = dict(VARIANTS[variant])
    if variant == 'pc-darts':
        cfg['mixed_op'] = dict(cfg['mixed_op'], k=args.k)
    torch.manual_seed(0)
    backbone = DARTSSearchBackbone(in_channels=args.in_channels, init_channels=args.init_channels,
                                   layers=args.layers, **cfg)
    return nn.Sequential(backbone, _First(), GlobalAveragePooling(), _First(),
                         nn.Linear(backbone.out_channels, args.num_classes))


class _First(nn.Module):
    """Takes the first element of the backbone's / neck's output tuple."""

    def forward(self, x):
        return x[0] if isinstance(x, (tuple, list)) else x


def training_step(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> None:
    for p in model.parameters():
        p.grad = None
    loss = F.cross_entropy(model(images), labels)
    loss.backward()


def _status_kib(field: str) -> int:
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    raise RuntimeError(f'{field} not found in /proc/self/status')


def measure_rss_peak(model, images, labels) -> int:
    """Peak resident bytes of one step above the resident set before it (Linux ``VmHWM``)."""
    gc.collect()
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')  # resets VmHWM to the current VmRSS
    before = _status_kib('VmRSS')
    training_step(model, images, labels)
    return (_status_kib('VmHWM') - before) * 1024


def measure_allocator_peak(model, images, labels) -> int:
    """Peak of the running sum of the allocator's [memory] events recorded during one step."""
    from torch.profiler import ProfilerActivity, profile

    for p in model.parameters():
        p.grad = None
    gc.collect()
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        training_step(model, images, labels)
    events = sorted((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                    if e.name() == '[memory]')
    live = peak = 0
    for _, nbytes in events:
        live += nbytes
        peak = max(peak, live)
    return peak


def run_variant(variant: str, args) -> Dict[str, float]:
    torch.set_num_threads(args.threads)
    model = build_supernet(variant, args).train()
    g = torch.Generator().manual_seed(1)
    images = torch.randn(args.batch_size, args.in_channels, args.image_size, args.image_size, generator=g)
    labels = torch.randint(0, args.num_classes, (args.batch_size,), generator=g)
    start = time.perf_counter()
    training_step(model, images, labels)  # warm-up
    step_seconds = time.perf_counter() - start
    rss = measure_rss_peak(model, images, labels)
    allocated = measure_allocator_peak(model, images, labels)
    backbone = model[0]
    return dict(variant=variant, allocator_peak_bytes=allocated, rss_peak_bytes=rss, step_seconds=step_seconds,
                weight_parameters=sum(p.numel() for p in backbone.weight_parameters()),
                arch_parameters=sum(p.numel() for p in backbone.arch_parameters()))


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--batch-size', type=int, default=8)
    parser.add_argument('--init-channels', type=int, default=16, help='C of the first cells (official 16)')
    parser.add_argument('--layers', type=int, default=5, help='cells (official search: 8)')
    parser.add_argument('--image-size', type=int, default=32)
    parser.add_argument('--in-channels', type=int, default=3)
    parser.add_argument('--num-classes', type=int, default=10)
    parser.add_argument('--k', type=int, default=4, help='PC-DARTS channel sampling ratio K')
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--variant', choices=sorted(VARIANTS), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    if args.variant is not None:  # child process: measure one variant, print JSON
        print(json.dumps(run_variant(args.variant, args)))
        return
    env = dict(os.environ, MALLOC_MMAP_THRESHOLD_='65536', MALLOC_TRIM_THRESHOLD_='0',
               OMP_NUM_THREADS=str(args.threads), MKL_NUM_THREADS=str(args.threads))
    passthrough = [a for a in (argv if argv is not None else sys.argv[1:])]
    results = {}
    wall = time.perf_counter()
    for variant in ('darts', 'pc-darts'):
        out = subprocess.run([sys.executable, os.path.abspath(__file__), *passthrough, '--variant', variant],
                             env=env, capture_output=True, text=True)
        if out.returncode != 0:
            raise RuntimeError(f'{variant} measurement failed:\n{out.stdout}\n{out.stderr}')
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    d, p = results['darts'], results['pc-darts']
    mib = 2.0 ** 20
    print(f'supernet step: batch {args.batch_size}, {args.in_channels}x{args.image_size}x{args.image_size}, '
          f'C={args.init_channels}, {args.layers} cells, PC-DARTS K={args.k} (+ edge normalization), '
          f'{args.threads} thread(s)')
    print(f"{'variant':<10} {'allocator peak MiB':>19} {'RSS peak MiB':>13} {'weights':>9} {'step s':>7}")
    for r in (d, p):
        print(f"{r['variant']:<10} {r['allocator_peak_bytes'] / mib:>19.2f} {r['rss_peak_bytes'] / mib:>13.2f} "
              f"{r['weight_parameters']:>9d} {r['step_seconds']:>7.2f}")
    ratio = p['allocator_peak_bytes'] / d['allocator_peak_bytes']
    rss_ratio = p['rss_peak_bytes'] / d['rss_peak_bytes'] if d['rss_peak_bytes'] > 0 else float('nan')
    print(f'peak memory ratio PC-DARTS / DARTS (allocator trace): {ratio:.3f}  (target <= 0.45)')
    print(f'peak memory ratio PC-DARTS / DARTS (resident set):    {rss_ratio:.3f}')
    print(f'wall time {time.perf_counter() - wall:.1f} s')


if __name__ == '__main__':
    main()
