"""ONNX export of core classifiers (``tessera_core.deploy``, ``mim run tessera-core export``).

What the tests prove:
- the tool exports a random-init ResNet config and ONNX Runtime gives PyTorch's scores (within
  1e-4) and top-1 on real embedded MNIST test digits; the graph takes raw pixels with a dynamic
  batch axis; when the scores disagree the tool says FAILED and exits 1;
- a briefly trained GhostNet (BatchNorm statistics moved off their init) is folded by
  ``switch_to_deploy()`` and its export still matches the *unfolded* PyTorch model on real digits;
- a layer the exporter cannot express is named by module path and class (library and tool, the
  tool without a traceback); a layer that bakes the batch size in falls back to a batch-1 export
  checked image by image;
- without onnx / onnxruntime the error names ``pip install 'tessera-core[deploy]'``;
- the check itself fails on a score difference above the tolerance and on a changed top-1;
- (slow) a Fashion-MNIST-trained GhostNet gives the same top-1 in ONNX Runtime and PyTorch on
  all 10,000 Fashion-MNIST test images.
"""
import os.path as osp
import sys

import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config
from mmengine.runner import Runner
from torch import nn
from torch.nn.modules.batchnorm import _BatchNorm

from tessera_core.deploy import (ClassifierInferenceGraph, UnexportableLayerError, build_classifier,
                                 compare_scores, export_classifier, export_onnx, ort_session, switch_to_deploy)
from tessera_core.deploy import classifier_export
from tessera_core.tools import export as export_tool

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tessera_core', 'configs')
RESNET_DEMO = osp.join(CONFIGS, 'demo', 'resnet18-w16_embedded-digits.py')
GHOSTNET = osp.join(CONFIGS, 'ghostnet', 'ghostnet-1.0x_fashion-mnist.py')
DIGITS = osp.join(CONFIGS, '_base_', 'datasets', 'embedded_digits.py')
FASHION_MNIST = '/usr/share/datasets/fashion-mnist'

onnxruntime = pytest.importorskip('onnxruntime', reason="needs the deploy extra: pip install 'tessera-core[deploy]'")
onnx = pytest.importorskip('onnx', reason="needs the deploy extra: pip install 'tessera-core[deploy]'")


class SingularValueGate(nn.Module):
    """x * its largest singular value: ``torch.linalg.svdvals`` has no ONNX form. (N, C, H, W) -> same."""

    def forward(self, x):
        return x * torch.linalg.svdvals(x.flatten(2))[:, :1, None, None]


class BatchAsGroups(nn.Module):
    """A per-channel scale run as one grouped conv over the batch (groups = N * C), as DCD does
    with its per-sample kernels: the traced graph depends on N. (N, C, H, W) -> same."""

    def __init__(self, channels):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(channels, 1, 1, 1) + 0.5)

    def forward(self, x):
        n, c, h, w = x.shape
        out = F.conv2d(x.reshape(1, n * c, h, w), self.weight.repeat(n, 1, 1, 1), groups=n * c)
        return out.reshape(n, c, h, w)


def _checkpoint(model, path):
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


def _digits_config(path):
    """``path``'s model with the embedded MNIST digits as train and test data."""
    cfg = Config.fromfile(path)
    digits = Config.fromfile(DIGITS)
    cfg.train_dataloader = digits.train_dataloader
    cfg.test_dataloader = digits.test_dataloader
    return cfg


def _train_briefly(model, cfg, steps, batch_size):
    """A few SGD steps on the config's training data (moves the BatchNorm statistics)."""
    loader_cfg = cfg.train_dataloader.copy()
    loader_cfg.update(batch_size=batch_size, num_workers=0, persistent_workers=False)
    loader = Runner.build_dataloader(loader_cfg, seed=0)
    optimizer = torch.optim.AdamW(model.parameters(), lr=2e-3)
    model.train()
    for _, batch in zip(range(steps), loader):
        data = model.data_preprocessor(batch, True)
        loss = sum(v for k, v in model(**data, mode='loss').items() if k.startswith('loss'))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
    return model.eval()


def test_tool_exports_a_resnet_that_ort_matches_on_real_digits(tmp_path, capsys):
    ckpt = _checkpoint(build_classifier(Config.fromfile(RESNET_DEMO), None), tmp_path / 'resnet.pth')
    out = tmp_path / 'resnet.onnx'
    assert export_tool.main([RESNET_DEMO, ckpt, '--format', 'onnx', '--out', str(out), '--num-images', '300']) == 0
    printed = capsys.readouterr().out
    assert 'check PASSED: 300 images' in printed and 'top-1 identical on 300/300' in printed
    session = ort_session(str(out))
    (image,), (scores,) = session.get_inputs(), session.get_outputs()
    assert (image.name, image.shape) == ('image', ['batch', 1, 28, 28])
    assert (scores.name, scores.shape) == ('scores', ['batch', 10])
    probs = session.run(None, {'image': torch.full((3, 1, 28, 28), 255.0).numpy()})[0]
    assert probs.shape == (3, 10) and abs(probs.sum(1) - 1).max() < 1e-5  # softmax scores of raw pixels


def test_tool_fails_with_exit_1_when_scores_differ(tmp_path, capsys, monkeypatch):
    ckpt = _checkpoint(build_classifier(Config.fromfile(RESNET_DEMO), None), tmp_path / 'resnet.pth')
    reference = classifier_export.torch_scores
    monkeypatch.setattr(classifier_export, 'torch_scores', lambda *a: reference(*a) + 1e-3)
    assert export_tool.main([RESNET_DEMO, ckpt, '--out', str(tmp_path / 'r.onnx'), '--num-images', '50']) == 1
    assert 'check FAILED: 50 images: max |ORT - PyTorch| = 0.001' in capsys.readouterr().out


def test_briefly_trained_ghostnet_is_folded_and_matches_unfolded_pytorch(tmp_path):
    cfg = _digits_config(GHOSTNET)
    model = _train_briefly(build_classifier(cfg, None), cfg, steps=6, batch_size=32)
    bn = next(m for m in model.backbone.modules() if isinstance(m, _BatchNorm))
    assert not torch.allclose(bn.running_var, torch.ones_like(bn.running_var))  # trained statistics
    ckpt = _checkpoint(model, tmp_path / 'ghostnet.pth')
    report = export_classifier(cfg, ckpt, str(tmp_path / 'ghostnet.onnx'), num_images=200, log=lambda _: None)
    assert report.switched == [('backbone', 'GhostNet')] and report.dynamic_batch
    assert report.passed, report.comparison.summary()
    assert report.comparison.images == 200 and report.comparison.top1_same == 200
    assert report.comparison.max_abs_diff <= 1e-4


def test_switch_to_deploy_folds_every_batchnorm_and_keeps_the_outputs():
    cfg = _digits_config(GHOSTNET)
    model = build_classifier(cfg, None)
    x = torch.randn(2, 1, 28, 28)
    with torch.no_grad():
        before = model(x)
        assert switch_to_deploy(model) == [('backbone', 'GhostNet')]
        after = model(x)
    assert not any(isinstance(m, _BatchNorm) for m in model.backbone.modules())
    assert torch.allclose(before, after, atol=1e-5)


def test_unexportable_layer_is_named_by_path_and_type(tmp_path):
    model = build_classifier(Config.fromfile(RESNET_DEMO), None)
    block = model.backbone.layer3[1]
    block.bn2 = nn.Sequential(block.bn2, SingularValueGate())
    with pytest.raises(UnexportableLayerError) as info:
        export_onnx(ClassifierInferenceGraph(model), (torch.zeros(1, 1, 28, 28),), str(tmp_path / 'x.onnx'))
    error = info.value
    assert error.path == 'backbone.layer3.1.bn2.1'
    assert error.layer_type.endswith('test_core_export.SingularValueGate')
    assert 'aten::linalg_svdvals' in str(error) and "layer 'backbone.layer3.1.bn2.1'" in str(error)


def test_tool_names_the_unexportable_layer_without_a_traceback(tmp_path, capsys, monkeypatch):
    ckpt = _checkpoint(build_classifier(Config.fromfile(RESNET_DEMO), None), tmp_path / 'resnet.pth')
    build = classifier_export.build_classifier

    def with_gate(cfg, checkpoint):
        model = build(cfg, checkpoint)
        model.backbone.layer2[0].conv1 = nn.Sequential(model.backbone.layer2[0].conv1, SingularValueGate())
        return model

    monkeypatch.setattr(classifier_export, 'build_classifier', with_gate)
    assert export_tool.main([RESNET_DEMO, ckpt, '--out', str(tmp_path / 'x.onnx'), '--num-images', '10']) == 2
    err = capsys.readouterr().err
    assert "layer 'backbone.layer2.0.conv1.1' (test_core_export.SingularValueGate)" in err
    assert 'linalg_svdvals' in err and 'Traceback' not in err


def test_batch_dependent_layer_falls_back_to_a_batch_1_export(tmp_path, monkeypatch):
    cfg = Config.fromfile(RESNET_DEMO)
    build = classifier_export.build_classifier

    def with_grouped_conv(cfg, checkpoint):
        model = build(cfg, checkpoint)
        model.backbone.layer4[0].relu = nn.Sequential(BatchAsGroups(128), nn.ReLU())
        return model

    monkeypatch.setattr(classifier_export, 'build_classifier', with_grouped_conv)
    logs = []
    report = export_classifier(cfg, None, str(tmp_path / 'x.onnx'), num_images=40, log=logs.append)
    assert not report.dynamic_batch and report.passed, report.comparison.summary()
    assert any('fixed batch of 1' in line for line in logs)
    assert ort_session(report.path).get_inputs()[0].shape == [1, 1, 28, 28]


def test_missing_dependencies_name_the_deploy_extra(tmp_path, monkeypatch, capsys):
    model = build_classifier(Config.fromfile(RESNET_DEMO), None)
    monkeypatch.setitem(sys.modules, 'onnx', None)
    with pytest.raises(ImportError, match=r"'onnx'.*pip install 'tessera-core\[deploy\]'"):
        export_onnx(ClassifierInferenceGraph(model), (torch.zeros(1, 1, 28, 28),), str(tmp_path / 'x.onnx'))
    ckpt = _checkpoint(model, tmp_path / 'resnet.pth')
    assert export_tool.main([RESNET_DEMO, ckpt, '--out', str(tmp_path / 'x.onnx'), '--num-images', '5']) == 2
    assert "pip install 'tessera-core[deploy]'" in capsys.readouterr().err
    monkeypatch.setitem(sys.modules, 'onnxruntime', None)
    with pytest.raises(ImportError, match=r"'onnxruntime'.*pip install 'tessera-core\[deploy\]'"):
        ort_session(str(tmp_path / 'x.onnx'))


def test_check_fails_on_a_difference_above_tolerance_or_a_changed_top1():
    scores = torch.tensor([[0.6, 0.4], [0.2, 0.8]])
    batches = [(torch.zeros(2, 1, 2, 2), None, torch.tensor([0, 1]))]
    same = compare_scores(lambda x: scores.numpy(), lambda x, _: scores, batches)
    assert same.passed and same.correct_torch == same.correct_ort == 2
    shifted = compare_scores(lambda x: (scores + 2e-4).numpy(), lambda x, _: scores, batches)
    assert not shifted.passed and shifted.top1_same == 2
    torch_near_tie = torch.tensor([[0.50001, 0.49999], [0.2, 0.8]])
    ort_near_tie = torch.tensor([[0.49999, 0.50001], [0.2, 0.8]])
    flipped = compare_scores(lambda x: ort_near_tie.numpy(), lambda x, _: torch_near_tie, batches)
    assert flipped.max_abs_diff <= 1e-4 and flipped.top1_same == 1 and not flipped.passed


@pytest.mark.slow
@pytest.mark.skipif(not osp.isdir(FASHION_MNIST),
                    reason=f'Fashion-MNIST not installed at {FASHION_MNIST} (Debian package dataset-fashion-mnist)')
def test_trained_ghostnet_same_top1_on_the_fashion_mnist_test_set(tmp_path):
    cfg = Config.fromfile(GHOSTNET)
    model = _train_briefly(build_classifier(cfg, None), cfg, steps=40, batch_size=64)
    ckpt = _checkpoint(model, tmp_path / 'ghostnet.pth')
    report = export_classifier(cfg, ckpt, str(tmp_path / 'ghostnet.onnx'), log=lambda _: None)
    result = report.comparison
    assert report.passed, result.summary()
    assert result.images == result.top1_same == result.labelled == 10000
    assert result.correct_torch == result.correct_ort and result.correct_torch > 5000  # trained: well above chance
