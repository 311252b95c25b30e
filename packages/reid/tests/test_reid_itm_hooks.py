"""ITM's hooks: the incremental margin changes exactly at the stage boundaries (and only there); the hard
identity search averages the model's features per identity."""
import logging
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from mmengine.logging import MessageHub

from tessera_core.structures import ClsDataSample
from tessera_reid.engine import IncrementalTripletMarginHook, identity_centroids, margin_at_epoch
from tessera_reid.models import TripletLoss
from tessera_reid.registry import MODELS


def fake_runner(model):
    return SimpleNamespace(model=model, epoch=0, logger=logging.getLogger('itm-test'),
                           message_hub=MessageHub.get_instance('itm-test'))


def test_margin_schedule_exact_at_stage_boundaries():
    stages, margins = (0, 3, 7), (0.3, 0.5, 0.9)
    expected = [0.3] * 3 + [0.5] * 4 + [0.9] * 5
    assert [margin_at_epoch(e, stages, margins) for e in range(12)] == expected
    model = torch.nn.Module()
    model.head = torch.nn.Module()
    model.head.loss_triplet = TripletLoss(margin=0.1)
    hook = IncrementalTripletMarginHook(stage_epochs=stages, margins=margins)
    runner = fake_runner(model)
    hook.before_train(runner)
    seen = []
    for epoch in range(12):
        runner.epoch = epoch
        hook.before_train_epoch(runner)
        seen.append(model.head.loss_triplet.margin)
        assert runner.message_hub.get_scalar('train/triplet_margin').current() == expected[epoch]
    assert seen == expected
    # resuming in the middle of stage 2 gives stage 2's margin at once
    runner.epoch = 5
    model.head.loss_triplet.margin = 0.3
    hook.before_train_epoch(runner)
    assert model.head.loss_triplet.margin == 0.5


def test_the_margin_reaches_the_loss_value():
    feats = torch.tensor([[0.0, 0.0], [0.1, 0.0], [1.0, 0.0], [1.1, 0.0]])
    labels = torch.tensor([0, 0, 1, 1])
    loss = TripletLoss(margin=0.3)
    low = loss(feats, labels).item()
    loss.margin = 1.2   # as the hook sets it: hinge relu(0.1 - d_an + 1.2), d_an 1.0, 0.9, 0.9, 1.0
    assert low == pytest.approx(0.0) and loss(feats, labels).item() == pytest.approx(0.35, abs=1e-6)


def test_margin_hook_rejects_bad_schedules():
    with pytest.raises(ValueError, match='must start at 0'):
        IncrementalTripletMarginHook(stage_epochs=(1, 3), margins=(0.3, 0.5))
    with pytest.raises(ValueError, match='non-decreasing'):
        IncrementalTripletMarginHook(stage_epochs=(0, 3), margins=(0.5, 0.3))
    with pytest.raises(ValueError, match='2 margins for 3 stages'):
        IncrementalTripletMarginHook(stage_epochs=(0, 3, 5), margins=(0.3, 0.5))
    model = torch.nn.Module()
    model.head = torch.nn.Module()
    model.head.loss_triplet = TripletLoss(margin=None)
    with pytest.raises(ValueError, match='no numeric margin'):
        IncrementalTripletMarginHook(stage_epochs=(0,), margins=(0.3,)).before_train(fake_runner(model))


def test_identity_centroids_are_per_identity_mean_pre_bn_features():
    torch.manual_seed(0)
    model = MODELS.build(dict(type='ReIDModel',
                              backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
                              head=dict(type='BNNeckHead', num_classes=3, in_channels=64)))
    model.init_weights()
    model.train()
    imgs = torch.randint(0, 255, (10, 1, 16, 16)).float()
    labels = np.array([2, 0, 0, 1, 2, 2, 1, 0, 1, 1])
    loader = [dict(inputs=list(imgs[i:i + 4]), data_samples=[ClsDataSample() for _ in imgs[i:i + 4]])
              for i in range(0, 10, 4)]
    cent = identity_centroids(model, loader, pids=[0, 1, 2], labels=labels, feature='triplet')
    assert model.training    # restored
    model.eval()
    with torch.no_grad():
        feats = model.head.pre_logits(model.extract_feat(model.data_preprocessor(
            dict(inputs=list(imgs), data_samples=None), False)['inputs'])).double().numpy()
    for j in range(3):
        assert np.allclose(cent[j], feats[labels == j].mean(0), atol=1e-6)
