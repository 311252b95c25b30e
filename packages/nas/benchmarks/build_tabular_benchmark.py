"""Build the tabular NAS benchmark: NB201-style cells trained on Fashion-MNIST at 16 px.

Every architecture of a seeded uniform sample of the canonical cells of
:mod:`tessera_nas.benchmarks.space` is trained with one fixed short recipe (below) from scratch; the
first ``--num-seeds2`` of the sample are trained again with a second seed, which gives the noise
floor. For every architecture the table records the validation and test accuracy per seed, the
parameters and MACs of the macro network (``tessera_core.analysis.complexity.get_flops``, mmengine's
counter: one multiply-add = one MAC), and the CPU latency (batch 1, single thread, median of
``--latency-repeats`` forward passes in eval mode after 5 warm-up passes).

Data (fixed, from the official files read by tessera-core's Fashion-MNIST reader): the 60,000
official training images are permuted with ``--split-seed``; the first ``--num-train`` are the
training set, the next ``--num-valid`` the validation set; the test set is the first ``--num-test``
images of the official test file. Images are resized 28 -> 16 px (bilinear, antialiased) and
standardised with the training set's mean and standard deviation; no augmentation.

Recipe (identical for every architecture): SGD, Nesterov momentum 0.9, lr 0.1 with a per-step
cosine decay to 0, weight decay 5e-4, batch 128, ``--epochs`` epochs over the training set
(the last partial batch is dropped), cross-entropy; the seed fixes the initialisation and the batch
order. Evaluation with BatchNorm running statistics.

Resumable: after each job (architecture, seed) the whole partial results file is rewritten
atomically (temp file + ``os.replace``), so a killed run loses at most the job in progress and a
new call continues. ``--max-minutes`` stops starting new jobs after that wall time (the chunks of a
long build). When every job is done the versioned table is written to ``--out`` (by default
``tessera_nas/benchmarks/data/``, shipped with the package).

Usage::

    OMP_NUM_THREADS=1 python packages/nas/benchmarks/build_tabular_benchmark.py --max-minutes 15
    # repeat until it prints "table written"
"""
import argparse
import json
import os
import os.path as osp
import platform
import random
import shlex
import statistics
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

from tessera_nas.benchmarks import space
from tessera_nas.benchmarks.network import TinyNetwork

VERSION = 'fmnist16-nb201-v1'
PKG_DATA = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tessera_nas', 'benchmarks', 'data')


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--num-archs', type=int, default=500, help='uniform sample of canonical cells')
    p.add_argument('--num-seeds2', type=int, default=50, help='first N of the sample get a second seed')
    p.add_argument('--sample-seed', type=int, default=0)
    p.add_argument('--split-seed', type=int, default=0)
    p.add_argument('--num-train', type=int, default=6000)
    p.add_argument('--num-valid', type=int, default=4000)
    p.add_argument('--num-test', type=int, default=6000)
    p.add_argument('--epochs', type=int, default=2)
    p.add_argument('--batch-size', type=int, default=128)
    p.add_argument('--lr', type=float, default=0.1)
    p.add_argument('--weight-decay', type=float, default=5e-4)
    p.add_argument('--channels', type=int, default=8)
    p.add_argument('--cells-per-stage', type=int, default=1)
    p.add_argument('--latency-repeats', type=int, default=30)
    p.add_argument('--data-root', default=None, help='Fashion-MNIST IDX folder (default: tessera-core\'s)')
    p.add_argument('--work-dir', default='work_dirs/tabular_benchmark', help='holds the partial results')
    p.add_argument('--out', default=osp.join(PKG_DATA, f'{VERSION}.json'))
    p.add_argument('--max-minutes', type=float, default=None, help='stop starting jobs after this wall time')
    p.add_argument('--limit', type=int, default=None, help='only the first N jobs (recipe checks)')
    return p.parse_args(argv)


RECIPE_KEYS = ('num_archs', 'num_seeds2', 'sample_seed', 'split_seed', 'num_train', 'num_valid', 'num_test',
               'epochs', 'batch_size', 'lr', 'weight_decay', 'channels', 'cells_per_stage', 'latency_repeats')


def load_data(args):
    from tessera_core.datasets.mnist_idx import FashionMNIST
    kw = {} if args.data_root is None else dict(data_root=args.data_root)
    tr_x, tr_y = FashionMNIST(split='train', lazy_init=True, **kw).load_arrays()
    te_x, te_y = FashionMNIST(split='test', lazy_init=True, **kw).load_arrays()
    perm = np.random.RandomState(args.split_seed).permutation(len(tr_x))
    i_tr, i_va = perm[:args.num_train], perm[args.num_train:args.num_train + args.num_valid]

    def prep(x):
        x = torch.from_numpy(np.array(x, dtype=np.float32)).div_(255).unsqueeze(1)
        return F.interpolate(x, size=(16, 16), mode='bilinear', antialias=True, align_corners=False)

    xtr, xva, xte = prep(tr_x[i_tr]), prep(tr_x[i_va]), prep(te_x[:args.num_test])
    mean, std = xtr.mean().item(), xtr.std().item()
    norm = lambda x: (x - mean) / std  # noqa: E731
    as_long = lambda y: torch.from_numpy(np.asarray(y, dtype=np.int64))  # noqa: E731
    return dict(train=(norm(xtr), as_long(tr_y[i_tr])), valid=(norm(xva), as_long(tr_y[i_va])),
                test=(norm(xte), as_long(te_y[:args.num_test])), mean=mean, std=std)


@torch.no_grad()
def accuracy(model, x, y, batch=1000):
    model.eval()
    correct = sum((model(x[k:k + batch]).argmax(1) == y[k:k + batch]).sum().item() for k in range(0, len(x), batch))
    return 100.0 * correct / len(x)


def train_one(genotype, seed, data, args):
    torch.manual_seed(seed)
    model = TinyNetwork(genotype, args.channels, args.cells_per_stage)
    x, y = data['train']
    steps_per_epoch = len(x) // args.batch_size
    total = steps_per_epoch * args.epochs
    opt = torch.optim.SGD(model.parameters(), lr=args.lr, momentum=0.9, nesterov=True,
                          weight_decay=args.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=total)
    gen = torch.Generator().manual_seed(seed)
    model.train()
    loss = None
    for _ in range(args.epochs):
        order = torch.randperm(len(x), generator=gen)
        for s in range(steps_per_epoch):
            idx = order[s * args.batch_size:(s + 1) * args.batch_size]
            loss = F.cross_entropy(model(x[idx]), y[idx])
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
    return model, dict(valid=accuracy(model, *data['valid']), test=accuracy(model, *data['test']),
                       final_train_loss=float(loss.detach()))


@torch.no_grad()
def latency_ms(model, repeats):
    model.eval()
    x = torch.zeros(1, 1, 16, 16)
    for _ in range(5):
        model(x)
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        model(x)
        times.append(time.perf_counter() - t)
    return 1000.0 * statistics.median(times)


def jobs_of(args):
    sample = random.Random(args.sample_seed).sample(space.canonical_indices(), args.num_archs)
    jobs = []
    for k, idx in enumerate(sample):
        jobs.append((idx, 0))
        if k < args.num_seeds2:
            jobs.append((idx, 1))
    return sample, jobs


def atomic_write(path, obj):
    os.makedirs(osp.dirname(osp.abspath(path)), exist_ok=True)
    tmp = f'{path}.tmp{os.getpid()}'
    with open(tmp, 'w') as f:
        json.dump(obj, f, indent=1)
    os.replace(tmp, path)


def main(argv=None):
    args = parse_args(argv)
    t_start = time.time()
    torch.set_num_threads(1)
    from tessera_core.analysis.complexity import get_flops
    recipe = {k: getattr(args, k) for k in RECIPE_KEYS}
    partial_path = osp.join(args.work_dir, f'{VERSION}.partial.json')
    if osp.isfile(partial_path):
        with open(partial_path) as f:
            state = json.load(f)
        if state['recipe'] != recipe:
            diff = {k: (state['recipe'].get(k), v) for k, v in recipe.items() if state['recipe'].get(k) != v}
            sys.exit(f'{partial_path} was built with another recipe (saved, now): {diff}; '
                     f'use another --work-dir or the same arguments')
        print(f'resuming {partial_path}: {len(state["results"])} jobs done')
    else:
        state = dict(recipe=recipe, results={}, archs={}, chunks=[])
    sample, jobs = jobs_of(args)
    if args.limit is not None:
        jobs = jobs[:args.limit]
    todo = [j for j in jobs if f'{j[0]}:{j[1]}' not in state['results']]
    print(f'{len(jobs)} jobs ({args.num_archs} archs, {args.num_seeds2} with a 2nd seed), {len(todo)} to do', flush=True)
    data = load_data(args) if todo else None
    if data is not None:
        state['norm'] = dict(mean=data['mean'], std=data['std'])
    chunk = dict(started=time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime()), jobs=0,
                 command=' '.join(shlex.quote(a) for a in sys.argv))
    done_times = []
    for n, (idx, seed) in enumerate(todo):
        if args.max_minutes is not None and (time.time() - t_start) / 60 > args.max_minutes:
            print(f'--max-minutes {args.max_minutes} reached, stopping; run again to continue', flush=True)
            break
        genotype = space.to_str(space.ops_of(idx))
        t0 = time.time()
        model, res = train_one(genotype, seed, data, args)
        res['train_seconds'] = round(time.time() - t0, 3)
        key = str(idx)
        if key not in state['archs']:
            fl = get_flops(model, (1, 16, 16))
            state['archs'][key] = dict(index=idx, genotype=genotype, params=fl['params'], macs=fl['flops'],
                                       latency_ms=round(latency_ms(model, args.latency_repeats), 4))
        state['results'][f'{idx}:{seed}'] = res
        chunk['jobs'] += 1
        chunk['seconds'] = round(time.time() - t_start, 1)
        done_times.append(time.time() - t0)
        state['chunks'] = state['chunks'][:len(state['chunks']) - (chunk['jobs'] > 1)] + [dict(chunk)]
        atomic_write(partial_path, state)
        left = len(todo) - n - 1
        eta = left * sum(done_times) / len(done_times)
        print(f'[{len(state["results"])}/{len(jobs)}] {genotype} seed {seed}: valid {res["valid"]:.2f} '
              f'test {res["test"]:.2f} ({res["train_seconds"]:.1f} s) | ETA {eta / 60:.1f} min', flush=True)
    if all(f'{i}:{s}' in state['results'] for i, s in jobs) and args.limit is None:
        write_table(args, state, sample, jobs, recipe, data)
    return state


def write_table(args, state, sample, jobs, recipe, data):
    entries = []
    for idx in sample:
        a = dict(state['archs'][str(idx)])
        seeds = sorted(s for i, s in jobs if i == idx)
        runs = [state['results'][f'{idx}:{s}'] for s in seeds]
        a['seeds'] = seeds
        a['valid_acc'] = [round(r['valid'], 2) for r in runs]
        a['test_acc'] = [round(r['test'], 2) for r in runs]
        a['train_seconds'] = [r['train_seconds'] for r in runs]
        entries.append(a)
    entries.sort(key=lambda e: e['index'])
    train_s = sum(r['train_seconds'] for r in state['results'].values())
    wall = sum(c.get('seconds', 0) for c in state['chunks'])
    table = dict(
        version=VERSION,
        space=dict(ops=list(space.OPS), edges=[list(e) for e in space.EDGES], num_archs=space.NUM_ARCHS,
                   num_unique=space.num_unique(), canonical_rule='tessera_nas.benchmarks.space (module doc)'),
        sample=dict(kind='uniform without replacement over the canonical cells (random.Random(sample_seed).sample)',
                    num_archs=args.num_archs, sample_seed=args.sample_seed,
                    seeds=[0, 1], seed1_for='the first num_seeds2 architectures of the sample order'),
        recipe=dict(recipe, data='Fashion-MNIST (official IDX files), 16x16 bilinear antialiased, standardised',
                    split='official train file permuted with split_seed: [0, num_train) train, next num_valid '
                          'valid; test = first num_test of the official test file',
                    optimizer='SGD nesterov momentum 0.9, per-step cosine to 0', network='TinyNetwork'
                    ' (stem, 3 stages of cells_per_stage cells, ResNet reduction blocks, GAP, linear)',
                    norm_mean=state.get('norm', {}).get('mean'), norm_std=state.get('norm', {}).get('std')),
        macs_counter='tessera_core.analysis.complexity.get_flops (mmengine FlopAnalyzer, 1 MAC = 1 multiply-add)',
        latency='batch 1, 1 thread, median of latency_repeats forwards after 5 warm-ups, eval mode, no_grad',
        machine=dict(processor=platform.processor() or platform.machine(), python=platform.python_version(),
                     torch=torch.__version__),
        commands=[c['command'] for c in state['chunks']],
        chunks=state['chunks'],
        total_train_seconds=round(train_s, 1),
        total_wall_seconds=round(wall, 1),
        entries=entries,
    )
    atomic_write(args.out, table)
    print(f'table written: {args.out} ({len(entries)} archs, {len(state["results"])} runs, '
          f'wall {wall / 60:.1f} min)', flush=True)


if __name__ == '__main__':
    main()
