"""Attribute Mix (arXiv:2004.02684): mined regions sit at the activation peaks, the mix pastes exactly the
partner's attribute region, the labels are weighted by the pasted attribute's area and class."""
import pytest
import torch
from torch import nn

from tessera_core.models import AttributeMixClassifier, ImageClassifier
from tessera_core.models.attribute_mix import (AttributeMiner, attribute_mix, class_activation_maps, fill_boxes,
                                               peak_region_boxes)
from tessera_core.structures import ClsDataSample


class _IdentityBackbone(nn.Module):
    """Feature map = the image itself (1 channel), so a CAM with weight 1 is the image."""

    def forward(self, x):
        return (x,)


def _identity_classifier(num_classes=2, weight=1.0):
    clf = ImageClassifier(backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=4),
                          neck=dict(type='GlobalAveragePooling'),
                          head=dict(type='LinearClsHead', num_classes=num_classes, in_channels=1),
                          data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[0], std=[1]))
    clf.backbone = _IdentityBackbone()
    with torch.no_grad():
        clf.head.fc.weight.fill_(weight)
        clf.head.fc.weight[1] = -weight   # class 1 looks at the negative of the image
    return clf


def test_cam_is_the_class_weighted_sum_of_feature_maps():
    torch.manual_seed(0)
    feats, weight = torch.randn(3, 5, 4, 4), torch.randn(7, 5)
    labels = torch.tensor([0, 6, 2])
    cam = class_activation_maps(feats, weight, labels)
    for n in range(3):
        expected = sum(weight[labels[n], c] * feats[n, c] for c in range(5))
        torch.testing.assert_close(cam[n], expected)


def test_region_is_the_thresholded_component_around_the_peak():
    cam = torch.zeros(1, 10, 12)
    cam[0, 2:5, 3:7] = 0.8          # the peak's plateau ...
    cam[0, 3, 4] = 1.0              # ... with the maximum inside
    cam[0, 4, 7:9] = 0.6            # 4-connected to it: part of the region
    cam[0, 8:10, 0:2] = 0.9         # above threshold but not connected: not part of it
    box = peak_region_boxes(cam, threshold=0.5)
    assert box.tolist() == [[2, 5, 3, 9]]
    # a higher threshold keeps only the plateau
    assert peak_region_boxes(cam, threshold=0.7).tolist() == [[2, 5, 3, 7]]
    assert peak_region_boxes(cam, threshold=1.0).tolist() == [[3, 4, 4, 5]]
    # nothing left to mine (a constant map): the first pixel, never an empty box
    assert peak_region_boxes(torch.ones(1, 4, 4)).tolist() == [[0, 1, 0, 1]]


def test_miner_finds_the_peaks_in_order_and_erases_them():
    """Hand-built activations: two blobs; attribute 0 is the stronger one, attribute 1 the other after
    erasing; a class whose weight is negative finds the darkest spot instead."""
    img = torch.zeros(2, 1, 16, 16)
    img[:, 0, 2:5, 10:14] = 2.0     # strong blob
    img[:, 0, 9:13, 1:4] = 1.0      # weaker blob
    img[1, 0, 14, 14] = -3.0        # darkest pixel, the peak for class 1
    miner = AttributeMiner(_identity_classifier(), num_attributes=2, threshold=0.5)
    boxes, cams = miner(img, torch.tensor([0, 1]), return_cams=True)
    assert boxes.shape == (2, 2, 4) and cams.shape == (2, 2, 16, 16)
    assert boxes[0, 0].tolist() == [2, 5, 10, 14]
    assert boxes[0, 1].tolist() == [9, 13, 1, 4]
    # the mined regions hold the maximum of the activation map they were mined on
    for j in range(2):
        y1, y2, x1, x2 = boxes[0, j].tolist()
        assert cams[0, j, y1:y2, x1:x2].max() == cams[0, j].max()
    assert boxes[1, 0].tolist() == [14, 15, 14, 15]


def test_mix_equals_source_outside_and_partner_inside_the_region():
    torch.manual_seed(0)
    x = torch.randn(3, 2, 8, 10)
    boxes = torch.tensor([[[0, 2, 0, 2], [1, 3, 1, 4]],
                          [[2, 6, 3, 8], [0, 8, 0, 10]],
                          [[4, 5, 4, 5], [5, 8, 0, 10]]])
    index, attribute = torch.tensor([1, 2, 0]), torch.tensor([0, 1, 1])
    scores = torch.eye(4)[torch.tensor([0, 3, 1])]
    mixed, mixed_scores, lam = attribute_mix(x, scores, boxes, index, attribute)
    for i in range(3):
        j, a = index[i].item(), attribute[i].item()
        y1, y2, x1, x2 = boxes[j, a].tolist()
        inside = torch.zeros(8, 10, dtype=torch.bool)
        inside[y1:y2, x1:x2] = True
        assert torch.equal(mixed[i][:, inside], x[j][:, inside])
        assert torch.equal(mixed[i][:, ~inside], x[i][:, ~inside])
        area = (y2 - y1) * (x2 - x1) / 80
        assert lam[i].item() == pytest.approx(area)
        expected = torch.zeros(4)
        expected[scores[i].argmax()] += 1 - area
        expected[scores[j].argmax()] += area
        torch.testing.assert_close(mixed_scores[i], expected)
    torch.testing.assert_close(mixed_scores.sum(1), torch.ones(3))
    assert lam.tolist() == pytest.approx([20 / 80, 30 / 80, 6 / 80])


def test_bad_inputs_are_refused_with_the_reason():
    with pytest.raises(ValueError, match='threshold'):
        peak_region_boxes(torch.zeros(1, 3, 3), threshold=0)
    with pytest.raises(ValueError, match='num_attributes'):
        AttributeMiner(_identity_classifier(), num_attributes=0)
    with pytest.raises(ValueError, match='attribute index'):
        attribute_mix(torch.zeros(2, 1, 4, 4), torch.eye(2), torch.zeros(2, 1, 4, dtype=torch.long),
                      torch.tensor([1, 0]), torch.tensor([0, 1]))
    assert torch.equal(fill_boxes(torch.ones(1, 1, 3, 3), torch.tensor([[0, 1, 0, 3]]))[0, 0, 0], torch.zeros(3))


def _mix_classifier(tmp_path, prob=1.0, loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)):
    cfg = dict(backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=4, out_indices=(3,)),
               neck=dict(type='GlobalAveragePooling'),
               head=dict(type='LinearClsHead', num_classes=3, in_channels=32, loss=loss),
               data_preprocessor=dict(type='ClsDataPreprocessor', num_channels=1, mean=[0], std=[1]))
    miner = ImageClassifier(**{k: v for k, v in cfg.items()})
    ckpt = tmp_path / 'miner.pth'
    torch.save(dict(state_dict=miner.state_dict()), ckpt)
    return AttributeMixClassifier(miner=dict(type='ImageClassifier', **cfg), miner_checkpoint=str(ckpt),
                                  num_attributes=2, prob=prob, **cfg), miner


def test_classifier_trains_on_mixed_soft_labels_and_keeps_the_miner_frozen(tmp_path):
    torch.manual_seed(0)
    model, miner = _mix_classifier(tmp_path)
    assert not any(k.startswith('miner') for k in model.state_dict())   # the student's checkpoint only
    for a, b in zip(model.miner.classifier.parameters(), miner.parameters()):
        assert torch.equal(a, b) and not a.requires_grad
    x = torch.randn(4, 1, 12, 12)
    samples = [ClsDataSample().set_gt_label(i % 3) for i in range(4)]
    model.train()
    losses = model(x, samples, mode='loss')
    assert torch.isfinite(losses['loss'])
    assert model.last_lam is not None and ((model.last_lam > 0) & (model.last_lam <= 1)).all()
    scores = torch.stack([s.gt_score for s in samples])
    torch.testing.assert_close(scores.sum(1), torch.ones(4))
    losses['loss'].backward()
    assert model.backbone.stem[0].weight.grad.abs().sum() > 0
    assert all(p.grad is None for p in model.miner.parameters())
    assert not model.miner.classifier.training


def test_classifier_refuses_hard_label_loss_and_bad_prob(tmp_path):
    with pytest.raises(ValueError, match='soft-label'):
        _mix_classifier(tmp_path, loss=dict(type='BNMLoss'))
    with pytest.raises(ValueError, match='prob'):
        _mix_classifier(tmp_path, prob=1.5)
    with pytest.raises(FileNotFoundError, match='miner_checkpoint'):
        AttributeMixClassifier(backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=4),
                               neck=dict(type='GlobalAveragePooling'),
                               head=dict(type='LinearClsHead', num_classes=3, in_channels=32,
                                         loss=dict(type='LabelSmoothLoss', label_smooth_val=0.0)),
                               miner=dict(type='ImageClassifier', backbone=dict(type='ResNet', depth=18),
                                          neck=dict(type='GlobalAveragePooling'),
                                          head=dict(type='LinearClsHead', num_classes=3, in_channels=512)),
                               miner_checkpoint=str(tmp_path / 'missing.pth'))


def test_config_builds_with_a_trained_miner_and_takes_a_train_step(tmp_path):
    from pathlib import Path

    from mmengine.config import Config
    from mmengine.optim import OptimWrapper

    import tessera_core
    from tessera_core.registry import MODELS
    cfg = Config.fromfile(str(Path(tessera_core.__file__).parent /
                              'configs/attribute_mix/resnet18-w16_attribute-mix_fashion-mnist-4k.py'))
    assert cfg.model.type == 'AttributeMixClassifier' and cfg.model.num_attributes == 3
    torch.manual_seed(0)
    miner = MODELS.build(cfg.model.miner)
    ckpt = tmp_path / 'epoch_4.pth'
    torch.save(dict(state_dict=miner.state_dict()), ckpt)
    cfg.model.miner_checkpoint = str(ckpt)
    model = MODELS.build(cfg.model)
    for a, b in zip(model.miner.classifier.state_dict().values(), miner.state_dict().values()):
        assert torch.equal(a, b)
    data = dict(inputs=[torch.randint(0, 255, (1, 28, 28), dtype=torch.uint8) for _ in range(4)],
                data_samples=[ClsDataSample().set_gt_label(i) for i in range(4)])
    optim = OptimWrapper(torch.optim.SGD(model.parameters(), lr=0.1))
    log = model.train_step(data, optim)
    assert torch.isfinite(log['loss']) and model.last_lam is not None
    cfg.model.miner_checkpoint = str(tmp_path / 'nowhere.pth')
    with pytest.raises(FileNotFoundError, match='nowhere.pth'):
        MODELS.build(cfg.model)
