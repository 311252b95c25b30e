"""CPU batch-1 latency of tessera-core's deploy paths, as ratios to timm's eager GhostNet.

Measures in one process and one run (never an assertion), batch 1, 3 x 224 x 224, 1000-class heads:

- the reference: ``timm.create_model('ghostnet_100')`` eager (eval, NCHW, ``torch.inference_mode``);
- tessera GhostNet-1.0x holding the *same weights* (timm's random init copied by
  ``convert_timm_ghostnet``; logits checked equal), MicroNet M0-M3 and DCD ResNet-18, each on
  four paths (random weights; BatchNorm statistics calibrated on two random batches so that
  activations stay finite, see :func:`calibrate_batchnorm`):

  ``eager``     the model as built (eval, NCHW, ``torch.inference_mode``);
  ``deploy``    ``switch_to_deploy()`` on every module that has it (BatchNorm folded),
                ``channels_last`` weights and input, ``torch.inference_mode``;
  ``compile``   the deploy model under ``torch.compile`` (inductor) with, by default
                (``--compile-mode frozen``), ``freezing`` (weights become constants, folded
                and pre-packed for oneDNN) and ``cpp_wrapper`` (the compiled graph is driven
                from C++, not Python); ``--compile-mode default`` is plain ``torch.compile``.
                When compilation fails on this CPU the reason is printed instead of a figure;
  ``onnxruntime`` the deploy model exported to ONNX (batch 1) and run by ONNX Runtime with all
                graph optimisations (NCHWc layout, Conv+activation/Add fusions), intra-op threads
                set to the thread count and spin-waiting off (idle ORT threads would otherwise
                spin during the other models' calls of the round-robin);

- a dense 3x3 conv (128 -> 128 channels, 56 x 56, channels_last), timed in the same rounds, whose
  MACs per second give the MAC-bound floor of each model: ``floor = MACs / dense-conv throughput``
  (MACs of the folded model, as mmengine counts them). ``x floor`` is latency / floor.

Every figure is measured at one intra-op thread and at all threads (``--threads``), each thread
count in its own round-robin (one call of each contender per round, ``--warmup`` rounds
discarded, median over ``--runs`` rounds), and printed as a ratio to timm's eager GhostNet at the
same thread count. Target for GhostNet-1.0x: <= 0.5x timm eager.

Usage::

    python shared/benchmarks/deploy_latency.py                      # full table
    python shared/benchmarks/deploy_latency.py --models ghostnet --paths eager deploy onnxruntime
"""
import argparse
import copy
import os
import os.path as osp
import statistics
import sys
import tempfile
import time
from typing import Callable, Dict, List, Optional

import torch

sys.path.insert(0, osp.dirname(osp.abspath(__file__)))
from backbone_latency import build_ghostnet_pair, classifier, micronet  # noqa: E402

from tessera_core.analysis import get_flops  # noqa: E402
from tessera_core.deploy import export_onnx, ort_session, switch_to_deploy  # noqa: E402
from tessera_core.registry import MODELS  # noqa: E402

PATHS = ('eager', 'deploy', 'compile', 'onnxruntime')
REFERENCE = 'timm ghostnet_100'
DENSE_CONV = dict(channels=128, size=56, kernel=3)  # the throughput probe


def model_configs() -> Dict[str, dict]:
    """Name -> ImageNet classifier config of the models timed next to GhostNet."""
    return {
        **{f'micronet_{arch}': micronet(arch) for arch in ('m0', 'm1', 'm2', 'm3')},
        'dcd_resnet18': classifier(dict(type='DCDResNet', depth=18),
                                   dict(type='LinearClsHead', num_classes=1000, in_channels=512)),
    }


def calibrate_batchnorm(model: torch.nn.Module, size: int, batches: int = 2, batch_size: int = 4) -> None:
    """Set every BatchNorm's running statistics from a few random batches (train-mode forwards).

    With random weights and the default statistics (mean 0, variance 1) eval mode does not
    normalise anything, and DCD's input-dependent kernels (quadratic in x) overflow to inf/NaN
    by the third stage at 224 px; calibrated statistics keep every model's activations in range.
    """
    momenta = {}
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            momenta[m] = m.momentum
            m.momentum = None  # cumulative average over the calibration batches
            m.reset_running_stats()
    generator = torch.Generator().manual_seed(1)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.randn(batch_size, 3, size, size, generator=generator))
    for m, momentum in momenta.items():
        m.momentum = momentum
    model.eval()


def floor_ratio(seconds: float, macs: float, probe_macs: float, probe_seconds: float) -> float:
    """latency / MAC-bound floor, the floor being ``macs`` at the dense conv's MACs per second."""
    return seconds / (macs * probe_seconds / probe_macs)


def first_line(error: BaseException) -> str:
    lines = [line for line in str(error).strip().splitlines() if line.strip()]
    return f'{type(error).__name__}: {lines[0][:200] if lines else ""}'


class DenseConvProbe:
    """A dense 3x3 conv (N=1, C -> C, S x S, channels_last): its MACs per second bound what a
    convolution can reach on this machine."""

    def __init__(self, channels: int, size: int, kernel: int):
        self.conv = torch.nn.Conv2d(channels, channels, kernel, padding=kernel // 2, bias=False).eval()
        self.conv = self.conv.to(memory_format=torch.channels_last)
        self.x = torch.randn(1, channels, size, size).contiguous(memory_format=torch.channels_last)
        self.macs = channels * channels * kernel * kernel * size * size

    def __call__(self, _):
        return self.conv(self.x)


COMPILE_MODES = dict(frozen=dict(freezing=True, cpp_wrapper=True), default=dict())


def build_paths(name: str, model: torch.nn.Module, paths, x: torch.Tensor, workdir: str,
                log: Callable[[str], None], compile_mode: str = 'frozen') -> Dict[str, object]:
    """``{path: callable(x) or an error string}`` for one model (eval mode)."""
    model = model.eval()
    out = {}
    deployed = None
    if set(paths) & {'deploy', 'compile', 'onnxruntime'}:
        deployed = copy.deepcopy(model)
        switch_to_deploy(deployed)
        deployed = deployed.to(memory_format=torch.channels_last)
    if 'eager' in paths:
        out['eager'] = model
    if 'deploy' in paths:
        out['deploy'] = lambda inp, m=deployed: m(inp.contiguous(memory_format=torch.channels_last))
    if 'compile' in paths:
        log(f'  {name}: torch.compile ...')
        start = time.perf_counter()
        try:
            import torch._inductor.config as inductor_config
            for key, value in COMPILE_MODES[compile_mode].items():  # global: any recompilation keeps them
                setattr(inductor_config, key, value)
            compiled = torch.compile(deployed)
            with torch.inference_mode():  # the input made as in the timed calls (an inference tensor)
                compiled(x.contiguous(memory_format=torch.channels_last))
            out['compile'] = lambda inp, m=compiled: m(inp.contiguous(memory_format=torch.channels_last))
            log(f'  {name}: compiled in {time.perf_counter() - start:.0f} s')
        except Exception as error:  # noqa: BLE001  (reported, not raised)
            out['compile'] = f'torch.compile failed: {first_line(error)}'
            log(f'  {name}: {out["compile"]}')
    if 'onnxruntime' in paths:
        path = osp.join(workdir, f'{name}.onnx')
        try:
            export_onnx(copy.deepcopy(deployed).to(memory_format=torch.contiguous_format), (x,), path,
                        output_names=('logits',), dynamic_batch=False)
            out['onnxruntime'] = path
        except Exception as error:  # noqa: BLE001
            out['onnxruntime'] = f'ONNX export failed: {first_line(error)}'
            log(f'  {name}: {out["onnxruntime"]}')
    return out


def ort_callable(path: str, threads: int):
    """A callable x -> logits running the ONNX file with ``threads`` intra-op threads, spinning off."""
    session = ort_session(path, threads=threads, spinning=False)
    input_name = session.get_inputs()[0].name

    def run(x):
        return torch.from_numpy(session.run(None, {input_name: x.numpy()})[0])
    return run


def time_round_robin(contenders: Dict[str, Callable], x: torch.Tensor, runs: int, warmup: int,
                     label: str) -> Dict[str, float]:
    """Median seconds per call of every contender, one call of each per round."""
    samples = {name: [] for name in contenders}
    with torch.inference_mode():
        for round_idx in range(warmup + runs):
            for name, fn in contenders.items():
                start = time.perf_counter()
                fn(x)
                elapsed = time.perf_counter() - start
                if round_idx >= warmup:
                    samples[name].append(elapsed)
            if round_idx % 10 == 9 or round_idx == warmup + runs - 1:
                print(f'  [{label}] round {round_idx + 1}/{warmup + runs}', file=sys.stderr, flush=True)
    return {name: statistics.median(s) for name, s in samples.items()}


def max_diff(fn, reference, x) -> float:
    with torch.inference_mode():
        return (fn(x).float() - reference(x).float()).abs().max().item()


def main(argv: Optional[List[str]] = None) -> Dict[int, Dict[str, float]]:
    parser = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    parser.add_argument('--runs', type=int, default=100, help='timed rounds per thread count (median reported)')
    parser.add_argument('--warmup', type=int, default=10, help='untimed rounds first')
    all_threads = len(os.sched_getaffinity(0)) if hasattr(os, 'sched_getaffinity') else os.cpu_count()
    parser.add_argument('--threads', type=int, nargs='+', default=sorted({1, all_threads}),
                        help=f'intra-op thread counts, each timed in its own round-robin (default: 1 {all_threads})')
    others = model_configs()
    parser.add_argument('--models', nargs='+', default=['ghostnet', *others],
                        help=f'subset of: ghostnet {" ".join(others)}')
    parser.add_argument('--paths', nargs='+', default=list(PATHS), choices=PATHS, help='paths to time')
    parser.add_argument('--size', type=int, default=224, help='input height = width')
    parser.add_argument('--compile-mode', choices=list(COMPILE_MODES), default='frozen',
                        help='inductor settings of the compile path (frozen: freezing + cpp_wrapper)')
    parser.add_argument('--dense-conv', type=int, nargs=2, default=[DENSE_CONV['channels'], DENSE_CONV['size']],
                        metavar=('CHANNELS', 'SIZE'), help='throughput probe: 3x3 conv C -> C on S x S')
    args = parser.parse_args(argv)
    valid = ['ghostnet', *others]
    unknown = [m for m in args.models if m not in valid]
    if unknown:
        parser.error(f'unknown model(s) {unknown}; valid: {valid}')

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    from mmengine.registry import DefaultScope
    load_start = os.getloadavg()[0] if hasattr(os, 'getloadavg') else float('nan')
    torch.set_num_threads(max(args.threads))
    x = torch.randn(1, 3, args.size, args.size)
    workdir = tempfile.mkdtemp(prefix='deploy_latency_')
    from tessera_core.models.converters.timm_ghostnet import convert_timm_ghostnet
    with DefaultScope.overwrite_default_scope('tessera_core'):
        reference, ghostnet = build_ghostnet_pair()
        calibrate_batchnorm(reference, args.size)  # then copied into ours: same weights and statistics
        ghostnet.load_state_dict(convert_timm_ghostnet(reference.state_dict(), widen_factor=1.0), strict=True)
        models = {}
        if 'ghostnet' in args.models:
            models['GhostNet-1.0x'] = ghostnet
        for name in args.models:
            if name != 'ghostnet':
                torch.manual_seed(0)
                models[name] = MODELS.build(others[name])
                calibrate_batchnorm(models[name], args.size)
    with torch.inference_mode():
        same = (reference(x) - ghostnet(x)).abs().max().item()
    print(f'same weights: max |logit diff| tessera GhostNet-1.0x vs timm ghostnet_100 = {same:.2e}')

    log(f'building {len(models)} models x {len(args.paths)} paths ...')
    built, macs, checks = {}, {}, {}
    for name, model in models.items():
        built[name] = build_paths(name, model, args.paths, x, workdir, log, args.compile_mode)
        folded = copy.deepcopy(model)
        switch_to_deploy(folded)
        macs[name] = get_flops(folded, (3, args.size, args.size))['flops']
    macs[REFERENCE] = macs.get('GhostNet-1.0x', get_flops(reference, (3, args.size, args.size))['flops'])
    probe = DenseConvProbe(args.dense_conv[0], args.dense_conv[1], DENSE_CONV['kernel'])

    results: Dict[int, Dict[str, float]] = {}
    for threads in args.threads:
        torch.set_num_threads(threads)
        contenders = {REFERENCE: reference, 'dense conv': probe}
        for name, paths in built.items():
            for path, fn in paths.items():
                if isinstance(fn, str) and fn.endswith('.onnx'):
                    fn = ort_callable(fn, threads)
                if callable(fn):
                    contenders[f'{name} {path}'] = fn
                    if (name, path) not in checks:
                        checks[(name, path)] = max_diff(fn, models[name], x)
        log(f'timing {len(contenders)} contenders: batch 1, 3x{args.size}x{args.size}, {threads} thread(s), '
            f'{args.warmup} warm-up + {args.runs} rounds round-robin, median')
        results[threads] = time_round_robin(contenders, x, args.runs, args.warmup, f'{threads} thread(s)')

    if hasattr(os, 'getloadavg'):
        print(f'\nload average (1 min) at the start {load_start:.2f}, at the end {os.getloadavg()[0]:.2f} '
              f'({all_threads} cores; other processes share them)')
    print('\nmax |logit diff| of each path vs the same model eager: '
          + ', '.join(f'{n} {p} {d:.1e}' for (n, p), d in checks.items()))
    print('dense-conv throughput (3x3 conv '
          f'{args.dense_conv[0]}->{args.dense_conv[0]} at {args.dense_conv[1]}x{args.dense_conv[1]}, '
          f'{probe.macs / 1e6:.0f}M MACs): '
          + ', '.join(f'{t} thread(s) {probe.macs / results[t]["dense conv"] / 1e9:.1f} GMAC/s' for t in args.threads))
    header = '| model | path | MACs |' + ''.join(
        f' {t} thr ms | {t} thr ratio to timm | {t} thr x floor |' for t in args.threads)
    print('\n' + header)
    print('|---|---|---:|' + '---:|---:|---:|' * len(args.threads))
    rows = [(REFERENCE, REFERENCE, 'eager')] + [(f'{n} {p}', n, p) for n in built for p in args.paths]
    for key, name, path in rows:
        cells = []
        for t in args.threads:
            seconds = results[t].get(key)
            if seconds is None:
                cells.append(' n/a | n/a | n/a |')
                continue
            above = floor_ratio(seconds, macs[name], probe.macs, results[t]['dense conv'])
            cells.append(f' {seconds * 1e3:.2f} | {seconds / results[t][REFERENCE]:.3f} | {above:.1f} |')
        label = 'timm ghostnet_100' if name == REFERENCE else name
        print(f'| {label} | {path} | {macs[name] / 1e6:.1f}M |' + ''.join(cells))
    failures = [(n, p, fn) for n, paths in built.items() for p, fn in paths.items()
                if isinstance(fn, str) and not fn.endswith('.onnx')]
    for name, path, reason in failures:
        print(f'- {name} {path}: {reason}')
    if 'GhostNet-1.0x' in built:
        for t in args.threads:
            ratios = {p: results[t][f'GhostNet-1.0x {p}'] / results[t][REFERENCE]
                      for p in args.paths if f'GhostNet-1.0x {p}' in results[t]}
            met = [p for p, r in ratios.items() if r <= 0.5]
            print(f'GhostNet-1.0x at {t} thread(s): ' + ', '.join(f'{p} {r:.3f}' for p, r in ratios.items())
                  + f' x timm eager; target <= 0.5 met by: {", ".join(met) or "none"}')
    return results


if __name__ == '__main__':
    main()
