"""Sparse-shift MobileNetV2 (the SSL basic block of arXiv:1903.05285): structure, exact sizes against
MobileNetV2 in closed form, quantisation of a trained network, the Fashion-MNIST configs."""
import os.path as osp

import pytest
import torch
from mmengine.config import Config

from tessera_core.analysis import count_parameters, get_flops
from tessera_core.models import ImageClassifier
from tessera_core.models.backbones import MobileNetV2, SparseShiftMobileNetV2
from tessera_core.models.backbones.mobilenet_v2 import InvertedResidual
from tessera_core.models.layers import SparseShift2d
from tessera_core.registry import MODELS

CONFIGS = osp.join(osp.dirname(__file__), '..', 'tessera_core', 'configs', 'fe_net')


def _classifier(backbone, widen_factor=0.35):
    return ImageClassifier(
        backbone=dict(type=backbone, widen_factor=widen_factor, in_channels=1, stem_stride=1),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=1280, dropout=0.2),
        data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[0], std=[1])).eval()


def test_every_depthwise_conv_becomes_a_sparse_shift_of_the_same_stride():
    ref, ssl = MobileNetV2(widen_factor=0.5), SparseShiftMobileNetV2(widen_factor=0.5)
    ref_blocks = [m for m in ref.modules() if isinstance(m, InvertedResidual)]
    ssl_blocks = [m for m in ssl.modules() if isinstance(m, InvertedResidual)]
    assert len(ref_blocks) == len(ssl_blocks) == 17
    for r, s in zip(ref_blocks, ssl_blocks):
        assert isinstance(s.depthwise, SparseShift2d)
        assert s.depthwise.channels == r.depthwise.conv.in_channels
        assert s.depthwise.stride == r.depthwise.conv.stride[0]
        assert s.use_shortcut == r.use_shortcut
    # no 3x3 depthwise conv is left: only the stem conv has a spatial kernel
    spatial = [m for m in ssl.modules() if isinstance(m, torch.nn.Conv2d) and m.kernel_size != (1, 1)]
    assert len(spatial) == 1 and spatial[0].in_channels == 3
    x = torch.randn(2, 3, 64, 64)
    assert [t.shape for t in ssl.eval()(x)] == [t.shape for t in ref.eval()(x)]


def test_sizes_exact_against_mobilenetv2_in_closed_form():
    # 0.35x on 28 x 28 grey images, the Fashion-MNIST configs
    ref, ssl = _classifier('MobileNetV2'), _classifier('SparseShiftMobileNetV2')
    assert count_parameters(ref) == 408_650
    assert count_parameters(ssl) == 385_178
    # inference is the integer shift (memory movement, no multiply-add): count after quantisation
    with torch.no_grad():
        ssl.train()(torch.randn(2, 1, 28, 28), mode='tensor')
    ssl.backbone.quantize_shifts()
    ssl.eval()
    assert get_flops(ref, (1, 28, 28))['flops'] == 4_340_848
    assert get_flops(ssl, (1, 28, 28))['flops'] == 3_627_872
    # closed form: each of the hidden maps h loses its 3x3 depthwise filter (9 weights) and its BN affine
    # (2), gains a 2-d displacement; MACs lose 9 per output element and the 2 per element that mmengine's
    # analyzer counts for an affine BatchNorm in eval mode (after quantisation the shift itself costs 0).
    hidden, out_pixels = [], []
    hooks = [m.depthwise.register_forward_hook(lambda mod, i, o: out_pixels.append(o.shape[-2] * o.shape[-1]))
             for m in ref.modules() if isinstance(m, InvertedResidual)]
    hidden = [m.depthwise.conv.in_channels for m in ref.modules() if isinstance(m, InvertedResidual)]
    ref(torch.randn(1, 1, 28, 28), mode='tensor')
    for h in hooks:
        h.remove()
    assert count_parameters(ref) - count_parameters(ssl) == sum(9 * h for h in hidden)
    assert get_flops(ref, (1, 28, 28))['flops'] - get_flops(ssl, (1, 28, 28))['flops'] == sum(
        11 * h * p for h, p in zip(hidden, out_pixels))


def test_quantising_a_trained_network_keeps_its_outputs():
    torch.manual_seed(0)
    model = _classifier('SparseShiftMobileNetV2')
    with pytest.raises(RuntimeError, match="in state 'untrained'"):
        model.backbone.quantize_shifts()
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    from tessera_core.structures import ClsDataSample
    x = torch.randn(8, 1, 28, 28)
    samples = [ClsDataSample().set_gt_label(i % 10) for i in range(8)]
    start = torch.cat([m.displacement.detach().clone() for m in model.modules() if isinstance(m, SparseShift2d)])
    for _ in range(2):
        opt.zero_grad()
        sum(model(x, samples, mode='loss').values()).backward()
        opt.step()
    moved = torch.cat([m.displacement.detach() for m in model.modules() if isinstance(m, SparseShift2d)]) - start
    assert moved.abs().max() > 0  # the displacements are learnt
    model.eval()
    with torch.no_grad():
        before = model(x, mode='tensor')
    _, stats = model.backbone.quantize_shifts()
    with torch.no_grad():
        after = model(x, mode='tensor')
    assert torch.allclose(before, after, atol=1e-4)
    assert stats['layers'] == 17 and stats['channels'] == sum(
        m.channels for m in model.modules() if isinstance(m, SparseShift2d))
    assert 0 <= stats['zero_shift_ratio'] <= 1


def test_configs_build_with_the_stated_sizes():
    for name, params in (('mobilenetv2-0.35x_fashion-mnist-12k.py', 408_650),
                         ('ssl-mobilenetv2-0.35x_fashion-mnist-12k.py', 385_178)):
        cfg = Config.fromfile(osp.join(CONFIGS, name))
        assert cfg.train_dataloader.dataset.indices == 12000 and cfg.train_cfg.max_epochs == 2
        model = MODELS.build(cfg.model)
        assert count_parameters(model) == params
    cfg = Config.fromfile(osp.join(CONFIGS, 'ssl-mobilenetv2-0.35x_fashion-mnist-12k.py'))
    assert cfg.model.backbone.type == 'SparseShiftMobileNetV2'
    assert cfg.model.backbone.shift_cfg == dict(penalty_weight=1e-2, train_mode='quant_aware')


def test_conv_cfg_is_refused():
    with pytest.raises(ValueError, match='conv_cfg'):
        SparseShiftMobileNetV2(conv_cfg=dict(type='DCD'))
