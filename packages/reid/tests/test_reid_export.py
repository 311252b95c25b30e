"""ONNX export of re-ID feature extractors (``mim run tessera-reid export``, tessera-core's export path with
``output='features'``).

What the tests prove: the BNNeck and FANet embedding graphs, with BatchNorm statistics and affine parameters
moved off their init (so the exported BatchNorms carry real statistics), give PyTorch's ``pred_feature`` within 1e-4 on real
test images; the graph takes raw pixels with a dynamic batch axis and returns L2-normalised features named
``features``; a difference above the tolerance fails with exit 1; CBN is refused with exit 2, naming why.
"""
import os.path as osp

import numpy as np
import pytest
import torch
from mmengine.config import Config
from torch.nn.modules.batchnorm import _BatchNorm

from tessera_core.deploy import build_classifier, classifier_export, ort_session
from tessera_reid.tools import export as reid_export

pytest.importorskip('onnxruntime', reason="needs the deploy extra: pip install 'tessera-core[deploy]'")
pytest.importorskip('onnx', reason="needs the deploy extra: pip install 'tessera-core[deploy]'")

CONFIGS = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'tessera_reid', 'configs')
BNNECK = osp.join(CONFIGS, 'bnneck', 'bnneck_resnet18-w16_embedded-digits.py')
FANET = osp.join(CONFIGS, 'fanet', 'fanet_resnet18-w16_camstyle-fashion.py')
CBN = osp.join(CONFIGS, 'cbn', 'cbn_resnet18-w16_camstyle-fashion.py')


def _checkpoint_with_moved_batchnorms(config, path):
    """A random-init model whose every BatchNorm has non-trivial running statistics and affine parameters."""
    model = build_classifier(Config.fromfile(config), None)
    gen = torch.Generator().manual_seed(0)
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            c = module.num_features
            module.running_mean.copy_(0.2 * torch.randn(c, generator=gen))
            module.running_var.copy_(0.5 + torch.rand(c, generator=gen))
            if module.affine:
                module.weight.data.copy_(0.5 + torch.rand(c, generator=gen))
                if module.bias is not None and module.bias.requires_grad:
                    module.bias.data.copy_(0.1 * torch.randn(c, generator=gen))
    torch.save(dict(state_dict=model.state_dict(), meta=dict()), path)
    return str(path)


@pytest.mark.parametrize('config, num_images', [(BNNECK, 120), (FANET, 48)])
def test_exported_features_match_pytorch_on_real_test_images(config, num_images, tmp_path, capsys):
    ckpt = _checkpoint_with_moved_batchnorms(config, tmp_path / 'model.pth')
    out = tmp_path / 'model.onnx'
    assert reid_export.main([config, ckpt, '--out', str(out), '--num-images', str(num_images)]) == 0
    printed = capsys.readouterr().out
    assert f'check PASSED: {num_images} images' in printed and 'top-1' not in printed
    assert 'embeddings (N, C)' in printed and 'batch axis dynamic' in printed
    session = ort_session(str(out))
    (image,), (features,) = session.get_inputs(), session.get_outputs()
    assert image.name == 'image' and image.shape[0] == 'batch'
    assert features.name == 'features' and features.shape[0] == 'batch'
    c, h, w = image.shape[1:]
    pixels = np.random.RandomState(0).uniform(0, 255, (3, c, h, w)).astype(np.float32)
    emb = session.run(None, {'image': pixels})[0]
    assert emb.ndim == 2 and np.allclose(np.linalg.norm(emb, axis=1), 1, atol=1e-5)


def test_feature_difference_above_tolerance_fails(tmp_path, capsys, monkeypatch):
    ckpt = _checkpoint_with_moved_batchnorms(BNNECK, tmp_path / 'model.pth')
    reference = classifier_export.torch_scores
    monkeypatch.setattr(classifier_export, 'torch_scores', lambda *a: reference(*a) + 2e-4)
    assert reid_export.main([BNNECK, ckpt, '--out', str(tmp_path / 'm.onnx'), '--num-images', '20']) == 1
    assert 'check FAILED: 20 images: max |ORT - PyTorch| = 0.0002' in capsys.readouterr().out


def test_camera_based_bn_is_refused_naming_why(tmp_path, capsys):
    assert reid_export.main([CBN, str(tmp_path / 'absent.pth')]) == 2
    err = capsys.readouterr().err
    assert 'CBNReIDModel' in err and 'camera id' in err


def test_checkpoint_of_another_model_is_named_not_a_traceback(tmp_path, capsys):
    fanet = _checkpoint_with_moved_batchnorms(FANET, tmp_path / 'fanet.pth')
    assert reid_export.main([BNNECK, fanet, '--out', str(tmp_path / 'm.onnx')]) == 2
    err = capsys.readouterr().err
    assert f'checkpoint {fanet} does not fit the model of the config (ReIDModel)' in err and 'size mismatch' in err
