"""Recognizer3D + I3DHead + ActionDataPreprocessor: the (N, num_clips, C, T, H, W) layout and multi-view averaging."""
import pytest
import torch
import torch.nn.functional as F

import tessera_video.models  # noqa: F401
from tessera_core.structures import ClsDataSample
from tessera_video.models import ActionDataPreprocessor, I3DHead
from tessera_video.registry import MODELS


def build(average_clips='prob'):
    model = MODELS.build(dict(
        type='Recognizer3D',
        backbone=dict(type='ResNet3d', depth=18, variant='c3d', in_channels=1, base_channels=8, stem='small',
                      zero_init_residual=False),
        cls_head=dict(type='I3DHead', num_classes=5, in_channels=64, dropout=0.0, init_std=0.5,
                      average_clips=average_clips)))
    return model.eval()


def test_multi_view_test_averages_the_clips_of_each_video():
    torch.manual_seed(0)
    x = torch.randn(3, 2, 1, 4, 16, 16)  # 3 videos, 2 views each
    for mode in ('prob', 'score'):
        model = build(mode)
        with torch.no_grad():
            logits = model(x)  # (N, num_clips, K) per-clip logits
            assert logits.shape == (3, 2, 5)
            per_view = torch.stack([model(x[:, v:v + 1])[:, 0] for v in range(2)], 1)
            assert torch.allclose(logits, per_view, atol=1e-5)  # clips are encoded independently
            preds = model(x, [ClsDataSample().set_gt_label(i) for i in range(3)], mode='predict')
        score = torch.stack([p.pred_score for p in preds])
        expected = F.softmax(logits, -1).mean(1) if mode == 'prob' else F.softmax(logits.mean(1), -1)
        assert torch.allclose(score, expected, atol=1e-6)
        assert [p.pred_label.item() for p in preds] == expected.argmax(1).tolist()
    assert not torch.allclose(F.softmax(logits, -1).mean(1), F.softmax(logits.mean(1), -1), atol=1e-4)


def test_training_treats_each_clip_as_a_sample_of_its_video_label():
    torch.manual_seed(0)
    model = build().train()
    x = torch.randn(2, 3, 1, 4, 16, 16)
    samples = [ClsDataSample().set_gt_label(1), ClsDataSample().set_gt_label(4)]
    losses = model(x, samples, mode='loss')
    model.eval()
    with torch.no_grad():
        ref = F.cross_entropy(model(x).reshape(6, 5), torch.tensor([1, 1, 1, 4, 4, 4]))
        assert torch.allclose(model(x, samples, mode='loss')['loss'], ref, atol=1e-5)
    losses['loss'].backward()
    assert all(p.grad is not None for p in model.parameters())
    assert set(losses) == {'loss', 'accuracy_top-1'}


def test_head_pools_and_refuses_bad_inputs():
    head = I3DHead(num_classes=3, in_channels=4, dropout=0.0)
    feat = torch.randn(2, 4, 2, 3, 3)
    expected = head.fc_cls(feat.mean(dim=(2, 3, 4)))
    assert torch.allclose(head((feat,)), expected, atol=1e-6)
    assert head.fc_cls.weight.std().item() == pytest.approx(0.01, rel=0.5)
    with pytest.raises(ValueError, match=r"valid: \('score', 'prob'\)"):
        I3DHead(3, 4, average_clips='max')
    with pytest.raises(ValueError, match='cannot be split evenly over 2 videos'):
        head.predict((torch.randn(3, 4),), [ClsDataSample(), ClsDataSample()])
    with pytest.raises(ValueError, match=r'\(N, num_clips, C, T, H, W\)'):
        build()(torch.randn(1, 1, 1, 1, 4, 8, 8))


def test_action_data_preprocessor():
    pre = ActionDataPreprocessor(mean=[100.0], std=[50.0], num_channels=3)
    clips = [torch.full((2, 1, 4, 2, 2), 200, dtype=torch.uint8), torch.zeros((2, 1, 4, 2, 2), dtype=torch.uint8)]
    out = pre(dict(inputs=clips, data_samples=None))['inputs']
    assert out.shape == (2, 2, 3, 4, 2, 2) and out.dtype == torch.float32
    assert torch.all(out[0] == 2.0) and torch.all(out[1] == -2.0)
    with pytest.raises(ValueError, match='share their'):
        pre(dict(inputs=[clips[0], torch.zeros((1, 1, 4, 2, 2), dtype=torch.uint8)]))
    with pytest.raises(ValueError, match="valid: \\('NCTHW',\\)"):
        ActionDataPreprocessor(format_shape='NCHW_Flow')
