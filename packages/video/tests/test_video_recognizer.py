"""Recognizer2D, TSNHead and VideoDataPreprocessor: shapes, consensus, and frame-order (in)variance."""
import pytest
import torch

import tessera_video.models  # noqa: F401
from tessera_core.structures import ClsDataSample
from tessera_video.models import TSNHead, VideoDataPreprocessor
from tessera_video.registry import MODELS

T = 4


def build(shift: bool, **head):
    backbone = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8)
    if shift:
        backbone.update(type='ResNetTSM', num_segments=T)
    model = MODELS.build(dict(type='Recognizer2D', backbone=backbone,
                              cls_head=dict(type='TSNHead', num_classes=4, in_channels=64, dropout=0.0, **head)))
    model.init_weights()
    return model


def test_shapes_and_modes():
    torch.manual_seed(0)
    model = build(shift=True)
    x = torch.randn(3, T, 1, 16, 16)
    assert model(x).shape == (3, 4)
    feats = model.extract_feat(x)
    assert feats[-1].shape == (3, T, 64)
    samples = [ClsDataSample().set_gt_label(i) for i in (0, 1, 3)]
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss', 'accuracy_top-1'}
    losses['loss'].backward()
    assert all(p.grad is not None for p in model.parameters() if p.requires_grad)
    preds = model.eval()(x, samples, mode='predict')
    assert preds[0].pred_score.shape == (4,) and abs(preds[0].pred_score.sum().item() - 1) < 1e-5


def test_no_shift_model_is_blind_to_frame_order_and_tsm_is_not():
    torch.manual_seed(0)
    x = torch.randn(2, T, 1, 16, 16)
    reversed_x = x.flip(1)
    for shift in (False, True):
        model = build(shift=shift, init_std=0.5).eval()
        with torch.no_grad():
            same = torch.allclose(model(x), model(reversed_x), atol=1e-5)
        assert same is (not shift)


def test_head_average_consensus():
    torch.manual_seed(0)
    head = TSNHead(num_classes=3, in_channels=5, dropout=0.0)
    torch.nn.init.normal_(head.fc.weight)
    feats = torch.randn(2, T, 5)
    per_frame = feats @ head.fc.weight.t() + head.fc.bias
    assert torch.allclose(head((feats,)), per_frame.mean(dim=1), atol=1e-6)
    assert torch.allclose(head((feats[:, 0],)), per_frame[:, 0], atol=1e-6)  # (N, C): one segment
    assert head.fc.weight.std().item() == pytest.approx(1.0, rel=0.5)
    assert TSNHead(num_classes=3, in_channels=512).fc.weight.std().item() == pytest.approx(0.001, rel=0.2)
    with pytest.raises(ValueError, match="valid: \\('avg',\\)"):
        TSNHead(num_classes=3, in_channels=5, consensus='max')
    with pytest.raises(ValueError, match=r'\(N, T, 5\)'):
        head((torch.randn(2, T, 6),))


def test_data_preprocessor_stacks_and_normalises():
    pre = VideoDataPreprocessor(mean=[100.0], std=[50.0], num_channels=3)
    clips = [torch.full((T, 1, 2, 2), 200, dtype=torch.uint8), torch.zeros((T, 1, 2, 2), dtype=torch.uint8)]
    out = pre(dict(inputs=clips, data_samples=None))['inputs']
    assert out.shape == (2, T, 3, 2, 2) and out.dtype == torch.float32
    assert torch.all(out[0] == 2.0) and torch.all(out[1] == -2.0)
    with pytest.raises(ValueError, match='share their'):
        pre(dict(inputs=[clips[0], torch.zeros((T + 1, 1, 2, 2), dtype=torch.uint8)]))
    with pytest.raises(ValueError, match='channels'):
        VideoDataPreprocessor(mean=[0, 0, 0], std=[1, 1, 1])(dict(inputs=clips))


def test_bad_inputs_raise():
    model = build(shift=True)
    with pytest.raises(ValueError, match=r'T=3 frames but the backbone shifts over num_segments=4'):
        model(torch.randn(4, 3, 1, 16, 16))
    with pytest.raises(ValueError, match=r'\(N, T, C, H, W\)'):
        model(torch.randn(4, 1, 16, 16))
    with pytest.raises(ValueError, match='invalid mode'):
        model(torch.randn(1, T, 1, 16, 16), mode='features')
