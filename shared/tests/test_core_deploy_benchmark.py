"""shared/benchmarks/deploy_latency.py with tiny settings: every requested path of every model gets a
row at every thread count, timm's row is the 1.000 reference, the deploy and ONNX Runtime paths give
the eager logits, a failing ``torch.compile`` prints its reason instead of a figure, and the
distance to the MAC-bound floor is latency / (MACs / dense-conv throughput)."""
import importlib.util
import os.path as osp

import pytest
import torch

pytest.importorskip('timm', reason='the benchmark compares with timm ghostnet_100')
pytest.importorskip('onnxruntime', reason="needs the deploy extra: pip install 'tessera-core[deploy]'")

BENCHMARKS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'benchmarks')


def _script(name):
    spec = importlib.util.spec_from_file_location(name, osp.join(BENCHMARKS, f'{name}.py'))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_floor_ratio_is_latency_over_macs_at_dense_conv_throughput():
    deploy_latency = _script('deploy_latency')
    # dense conv: 1e9 MACs in 10 ms -> 1e11 MAC/s; a 1e8-MAC model's floor is 1 ms; 5 ms is 5x the floor
    assert deploy_latency.floor_ratio(5e-3, 1e8, 1e9, 1e-2) == pytest.approx(5.0)


def test_tiny_run_prints_every_path_and_reports_a_failing_compile(capsys, monkeypatch):
    deploy_latency = _script('deploy_latency')

    def broken_compile(model, *args, **kwargs):
        raise RuntimeError('no C++ compiler in this test\nsecond line')

    monkeypatch.setattr(torch, 'compile', broken_compile)
    results = deploy_latency.main(['--runs', '2', '--warmup', '1', '--threads', '1', '2', '--size', '32',
                                   '--dense-conv', '32', '16', '--models', 'ghostnet',
                                   '--paths', 'eager', 'deploy', 'compile', 'onnxruntime'])
    out = capsys.readouterr().out
    assert set(results) == {1, 2}
    for threads in (1, 2):
        names = set(results[threads])
        assert names == {'timm ghostnet_100', 'dense conv', 'GhostNet-1.0x eager', 'GhostNet-1.0x deploy',
                         'GhostNet-1.0x onnxruntime'}  # compile failed: no figure
    assert 'same weights: max |logit diff| tessera GhostNet-1.0x vs timm ghostnet_100 = 0.00e+00' in out
    rows = [line for line in out.splitlines() if line.startswith('| ') and not line.startswith('| model')]
    assert rows[0].startswith('| timm ghostnet_100 | eager |') and rows[0].count('| 1.000 |') == 2
    assert [r.split(' | ')[1] for r in rows] == ['eager', 'eager', 'deploy', 'compile', 'onnxruntime']
    compile_row = next(r for r in rows if '| compile |' in r)
    assert compile_row.count('n/a') == 6  # 3 figures x 2 thread counts
    assert '- GhostNet-1.0x compile: torch.compile failed: RuntimeError: no C++ compiler in this test' in out
    diffs = out.split('max |logit diff| of each path vs the same model eager: ')[1].splitlines()[0]
    for item in diffs.split(', '):
        assert float(item.rsplit(' ', 1)[1]) < 1e-4, item
    assert 'GhostNet-1.0x at 1 thread(s): eager' in out and 'target <= 0.5 met by:' in out
