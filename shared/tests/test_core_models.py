import pytest
import torch
import torchvision

from tessera_core.analysis import count_parameters, get_flops
from tessera_core.models import ImageClassifier, LabelSmoothLoss, ResNet
from tessera_core.structures import ClsDataSample



def _imagenet_resnet18():
    return ImageClassifier(
        backbone=dict(type='ResNet', depth=18),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=512),
        data_preprocessor=dict(type='ClsDataPreprocessor', mean=[0, 0, 0], std=[1, 1, 1]))


@pytest.mark.parametrize('depth,builder', [(18, torchvision.models.resnet18), (50, torchvision.models.resnet50)])
def test_resnet_matches_torchvision_parameter_count(depth, builder):
    ours = ImageClassifier(
        backbone=dict(type='ResNet', depth=depth), neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=1000, in_channels=512 * (1 if depth < 50 else 4)))
    assert count_parameters(ours) == count_parameters(builder())  # 11,689,512 / 25,557,032


def test_resnet18_macs_at_224():
    # 1.814 GMACs as torchvision reports for resnet18 (fused multiply-adds, convs + fc).
    flops = get_flops(_imagenet_resnet18(), (3, 224, 224))['flops']
    assert abs(flops / 1e9 - 1.814) < 0.01


def test_out_indices_frozen_stages_norm_eval():
    net = ResNet(depth=18, out_indices=(0, 1, 2, 3), frozen_stages=1, norm_eval=True)
    outs = net(torch.zeros(2, 3, 64, 64))
    assert [tuple(o.shape) for o in outs] == [(2, 64, 16, 16), (2, 128, 8, 8), (2, 256, 4, 4), (2, 512, 2, 2)]
    assert net.out_channels == (64, 128, 256, 512)
    net.train()
    assert not any(p.requires_grad for p in net.stem.parameters())
    assert not any(p.requires_grad for p in net.layer1.parameters())
    assert all(p.requires_grad for p in net.layer2.parameters())
    assert all(not m.training for m in net.modules() if isinstance(m, torch.nn.BatchNorm2d))


def test_bad_arguments_list_choices():
    with pytest.raises(KeyError, match='18, 34, 50, 101'):
        ResNet(depth=19)
    with pytest.raises(ValueError, match='imagenet'):
        ResNet(stem='tiny')
    with pytest.raises(ValueError, match='1 or 2'):
        ResNet(stem='small', stem_stride=4)
    with pytest.raises(ValueError, match='fixed stride 4'):
        ResNet(stem='imagenet', stem_stride=2)


@pytest.mark.parametrize('stem_stride,sizes', [(1, (28, 14, 7, 4)), (2, (14, 7, 4, 2))])
def test_small_stem_stride_sets_total_stride(stem_stride, sizes):
    net = ResNet(depth=18, in_channels=1, stem='small', stem_stride=stem_stride, base_channels=8,
                 out_indices=(0, 1, 2, 3))
    outs = net(torch.zeros(2, 1, 28, 28))
    assert tuple(o.shape[-1] for o in outs) == sizes
    assert net.stem[0].stride == (stem_stride, stem_stride)


def test_out_channels_follow_out_indices():
    net = ResNet(depth=50, out_indices=(1, 3))
    assert net.stage_channels == (256, 512, 1024, 2048) and net.out_channels == (512, 2048)
    assert [o.shape[1] for o in net(torch.zeros(1, 3, 64, 64))] == [512, 2048]


def test_label_smoothing_closed_form():
    logits = torch.tensor([[2.0, 0.0, -1.0]])
    target = torch.tensor([0])
    eps = 0.3
    logp = torch.log_softmax(logits, 1)[0]
    expected = (1 - eps) * -logp[0] + eps * -logp.mean()
    assert torch.allclose(LabelSmoothLoss(eps)(logits, target), expected)


def test_classifier_modes_and_grey_to_rgb():
    model = ImageClassifier(
        backbone=dict(type='ResNet', depth=18, stem='small', base_channels=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(type='LinearClsHead', num_classes=10, in_channels=64, topk=(1, 5)),
        data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=3))
    data = dict(inputs=[torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8) for _ in range(4)],
                data_samples=[ClsDataSample().set_gt_label(i) for i in range(4)])
    batch = model.data_preprocessor(data, training=True)
    assert batch['inputs'].shape == (4, 3, 28, 28)
    losses = model(**batch, mode='loss')
    assert set(losses) == {'loss', 'accuracy_top-1', 'accuracy_top-5'}
    losses['loss'].backward()
    preds = model(**model.data_preprocessor(data), mode='predict')
    assert preds[0].pred_score.shape == (10,) and torch.allclose(preds[0].pred_score.sum(), torch.tensor(1.0))
    with pytest.raises(ValueError, match='loss'):
        model(batch['inputs'], mode='train')
