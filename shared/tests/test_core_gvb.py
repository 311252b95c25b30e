"""GVB (Gradually Vanishing Bridge): the gradient reversal layer's sign and scale on a hand-built
two-layer case, the DANN ramp of its coefficient, the generator bridge (logits = fc - bridge, penalty
= mean |bridge|, whose gradient shrinks the bridge), the discriminator bridge (P(source) =
sigmoid(a - b_d)), the entropy weights of the official loss, the classifier's gradients (features
reversed and scaled, discriminator not), bad input, and the digits config through mim."""
import math
import re

import pytest
import torch
import torch.nn.functional as F

from tessera_core.models.classifiers import GVBClassifier
from tessera_core.models.layers import DomainDiscriminator, GradientReversalLayer, dann_coeff, grad_reverse
from tessera_core.models.losses import (domain_accuracy, domain_adversarial_loss, entropy_domain_weights,
                                        prediction_entropy)
from tessera_core.registry import MODELS
from tessera_core.structures import ClsDataSample
from tessera_core.testing import run_mim

BACKBONE = dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8)
NECK = dict(type='GlobalAveragePooling')
HEAD = dict(type='GVBClsHead', num_classes=10, in_channels=64)


def _samples(labels):
    return [ClsDataSample().set_gt_label(torch.tensor([int(y)])) for y in labels]


def _model(**kwargs):
    torch.manual_seed(0)
    kwargs.setdefault('discriminator', dict(type='DomainDiscriminator', hidden_dims=(16, 16), dropout=0.0,
                                            grl=dict(coeff=0.5)))
    kwargs.setdefault('head', HEAD)
    model = MODELS.build(dict(type='GVBClassifier', backbone=BACKBONE, neck=NECK, **kwargs))
    model.init_weights()
    return model.train()


def test_grl_is_identity_forward_and_minus_coeff_backward():
    x = torch.randn(3, 4, requires_grad=True)
    y = grad_reverse(x, 0.3)
    assert torch.equal(y, x)
    upstream = torch.randn(3, 4)
    y.backward(upstream)
    assert torch.allclose(x.grad, -0.3 * upstream)


def test_dann_ramp_and_the_layer_counts_training_forwards_only():
    assert dann_coeff(0) == 0.0
    assert dann_coeff(10000) == pytest.approx(2 / (1 + math.exp(-10)) - 1)  # 0.99991
    assert dann_coeff(5000) == pytest.approx(2 / (1 + math.exp(-5)) - 1)
    assert dann_coeff(100, max_iters=100, low=0.2, high=0.6) == pytest.approx(0.4 * (2 / (1 + math.exp(-10)) - 1) + 0.2)
    layer = GradientReversalLayer(max_iters=10)
    x = torch.ones(2, requires_grad=True)
    for _ in range(3):
        layer(x)
    assert int(layer.iteration) == 3 and layer.coeff == pytest.approx(dann_coeff(3, 10))
    layer.eval()
    layer(x)
    assert int(layer.iteration) == 3  # evaluation does not advance the ramp
    layer.train()
    layer(x).sum().backward()  # the 4th forward: the backward uses coeff(4)
    assert torch.allclose(x.grad, torch.full((2,), -dann_coeff(4, 10)))
    assert GradientReversalLayer(coeff=0.7).coeff == 0.7


def test_hand_built_two_layer_case_reverses_and_scales_only_the_generator_gradient():
    """Generator g = W1 x, discriminator d = w2 . GRL(g) + c (one layer). With L = mean_S BCE(d, 1) +
    mean_T BCE(d, 0): dL/dd_i = (sigmoid(d_i) - y_i) / n_dom(i), the discriminator gets
    dL/dw2 = sum_i dL/dd_i g_i (unchanged) and the generator -coeff * sum_i dL/dd_i w2 x_i^T."""
    torch.manual_seed(0)
    x = torch.randn(6, 3, dtype=torch.float64)
    w1 = torch.randn(4, 3, dtype=torch.float64, requires_grad=True)
    disc = DomainDiscriminator(4, hidden_dims=(), grl=dict(coeff=0.25)).double()
    g = x @ w1.T
    d = disc(g)
    loss = domain_adversarial_loss(d, num_source=2)
    loss.backward()
    y = torch.tensor([1.0, 1, 0, 0, 0, 0], dtype=torch.float64)
    n_dom = torch.tensor([2.0, 2, 4, 4, 4, 4], dtype=torch.float64)
    dl_dd = ((torch.sigmoid(d) - y) / n_dom).detach()
    w2 = disc.domain.weight.detach()[0]
    assert torch.allclose(disc.domain.weight.grad[0], (dl_dd[:, None] * g.detach()).sum(0))
    assert torch.allclose(disc.domain.bias.grad[0], dl_dd.sum())
    assert torch.allclose(w1.grad, -0.25 * (dl_dd[:, None, None] * w2[None, :, None] * x[:, None, :]).sum(0))
    # the same loss value as the plain BCE of each domain
    ref = F.binary_cross_entropy_with_logits(d[:2], y[:2]) + F.binary_cross_entropy_with_logits(d[2:], y[2:])
    assert torch.allclose(loss, ref)


def test_generator_bridge_output_penalty_and_its_gradient_shrink_the_bridge():
    model = _model()
    head = model.head
    with torch.no_grad():  # a hand-set bridge far from zero, so that one small step cannot overshoot
        head.bridge.weight.normal_(0, 1.0)
        head.bridge.bias.normal_(0, 1.0)
    feats = (torch.randn(5, 64),)
    logits, bridge = head.forward_with_bridge(feats)
    assert torch.allclose(bridge, head.bridge(feats[0]))
    assert torch.allclose(logits, head.fc(feats[0]) - head.bridge(feats[0]))  # y = fc - b_g
    assert torch.equal(head(feats), logits)  # prediction keeps the bridge subtracted (official)

    x, xt = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28)
    losses = model.loss(x, _samples([0, 1, 2, 3]), xt)
    model.zero_grad()
    losses['loss_bridge_g'].backward()
    # reference: recompute the features (same train-mode batch statistics) and the penalty by hand
    with torch.no_grad():
        fs, ft = model.extract_feat(x)[-1], model.extract_feat(xt)[-1]
        feat = torch.cat([fs, ft])
        b = head.bridge(feat)
    assert torch.allclose(losses['bridge_g'], b.abs().mean(), atol=1e-6)
    assert torch.allclose(losses['loss_bridge_g'], 1.0 * b.abs().mean(), atol=1e-6)
    grad_b = torch.sign(b) / b.numel()  # d mean|b| / d b
    assert torch.allclose(head.bridge.weight.grad, grad_b.T @ feat, atol=1e-6)
    assert torch.allclose(head.bridge.bias.grad, grad_b.sum(0), atol=1e-6)
    assert head.fc.weight.grad is None or head.fc.weight.grad.abs().max() == 0  # the penalty acts on the bridge only
    # a gradient step on the bridge shrinks it
    with torch.no_grad():
        head.bridge.weight -= 0.01 * head.bridge.weight.grad
        head.bridge.bias -= 0.01 * head.bridge.bias.grad
        assert head.bridge(feat).abs().mean() < b.abs().mean()


def test_bridge_weight_scales_the_penalty_and_zero_drops_it():
    x, xt, s = torch.randn(3, 1, 28, 28), torch.randn(3, 1, 28, 28), _samples([1, 2, 3])
    one = _model().loss(x, s, xt)
    three = _model(bridge_g_weight=3.0, bridge_d_weight=2.0).loss(x, s, xt)
    assert torch.allclose(three['loss_bridge_g'], 3 * one['loss_bridge_g'], rtol=1e-5)
    assert torch.allclose(three['loss_bridge_d'], 2 * one['loss_bridge_d'], rtol=1e-5)
    none = _model(bridge_g_weight=0.0, bridge_d_weight=0.0).loss(x, s, xt)
    assert 'loss_bridge_g' not in none and 'loss_bridge_d' not in none


def test_discriminator_bridge_gives_sigmoid_of_domain_minus_bridge():
    model = _model()
    disc = model.discriminator
    probs = F.softmax(torch.randn(6, 10), dim=1)
    logit, bridge = model.domain_logits(probs)
    h = disc.hidden(probs)
    assert torch.allclose(bridge, disc.bridge(h).squeeze(1))
    assert torch.allclose(logit, disc.domain(h).squeeze(1) - disc.bridge(h).squeeze(1))  # a - b_d
    plain = _model(bridge_d_weight=0.0)
    assert not plain.discriminator.with_bridge
    logit, bridge = plain.domain_logits(probs)
    assert bridge is None and torch.allclose(logit, plain.discriminator.domain(plain.discriminator.hidden(probs))[:, 0])


def test_entropy_weights_normalise_per_domain_and_reverse_the_entropy_gradient():
    probs = F.softmax(torch.randn(5, 4, dtype=torch.float64), dim=1).requires_grad_()
    w = entropy_domain_weights(probs, num_source=2, coeff=0.4)
    e = torch.exp(-prediction_entropy(probs.detach()))
    assert torch.allclose(w.detach(), torch.cat([e[:2] / e[:2].sum(), e[2:] / e[2:].sum()]))
    assert torch.allclose(w[:2].sum(), torch.tensor(1.0, dtype=torch.float64))
    upstream = torch.randn(5, dtype=torch.float64)
    (w * upstream).sum().backward()
    ref_probs = probs.detach().clone().requires_grad_()
    ent = prediction_entropy(ref_probs)
    ew = torch.exp(-ent)
    ref = torch.cat([ew[:2] / ew[:2].sum().detach(), ew[2:] / ew[2:].sum().detach()])
    (ref * upstream).sum().backward()
    assert torch.allclose(probs.grad, -0.4 * ref_probs.grad)
    assert torch.allclose(prediction_entropy(torch.full((1, 4), 0.25)), torch.tensor([math.log(4)]), atol=1e-4)


def test_classifier_loss_terms_and_reversed_feature_gradient():
    x, xt, s = torch.randn(4, 1, 28, 28), torch.randn(4, 1, 28, 28), _samples([0, 1, 2, 3])
    model = _model(entropy_weighting=False)
    losses = model.loss(x, s, xt)
    assert set(losses) == {'loss', 'accuracy_top-1', 'loss_transfer', 'loss_bridge_g', 'loss_bridge_d',
                           'disc_acc', 'bridge_g', 'bridge_d', 'grl_coeff'}
    with torch.no_grad():
        ys, yt = model.head(model.extract_feat(x)), model.head(model.extract_feat(xt))
        probs = F.softmax(torch.cat([ys, yt]), 1)
        logit, _ = model.domain_logits(probs)
    assert torch.allclose(losses['loss'], F.cross_entropy(ys, torch.tensor([0, 1, 2, 3])), atol=1e-5)
    assert torch.allclose(losses['loss_transfer'], 0.5 * domain_adversarial_loss(logit, 4), atol=1e-5)
    assert torch.allclose(losses['disc_acc'], domain_accuracy(logit, 4))
    # the transfer loss' gradient: reversed x 0.5 on the network, unchanged on the discriminator
    model.zero_grad()
    losses['loss_transfer'].backward()
    reference = _model(entropy_weighting=False, discriminator=dict(type='DomainDiscriminator', hidden_dims=(16, 16),
                                                                    dropout=0.0, grl=None))
    reference.load_state_dict(model.state_dict(), strict=False)
    reference.zero_grad()
    reference.loss(x, s, xt)['loss_transfer'].backward()
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        if p.grad is None:
            continue
        if name.startswith('discriminator.'):
            assert torch.allclose(p.grad, q.grad, atol=1e-6), name
        else:
            assert torch.allclose(p.grad, -0.5 * q.grad, atol=1e-6), name
    assert any(p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters()
               if n.startswith('backbone.'))


def test_bad_input():
    with pytest.raises(ValueError, match='GVBClsHead'):
        _model(head=dict(type='LinearClsHead', num_classes=10, in_channels=64))
    with pytest.raises(ValueError, match='with_bridge=True'):
        MODELS.build(dict(type='GVBClassifier', backbone=BACKBONE, neck=NECK, head=dict(HEAD, with_bridge=False)))
    with pytest.raises(ValueError, match='needs target_inputs'):
        _model().loss(torch.randn(2, 1, 28, 28), _samples([0, 1]))
    with pytest.raises(ValueError, match='num_source=0'):
        domain_adversarial_loss(torch.zeros(3), 0)
    with pytest.raises(ValueError, match='with_bridge needs at least one hidden layer'):
        DomainDiscriminator(4, hidden_dims=(), with_bridge=True)
    with pytest.raises(ValueError, match='max_iters must be positive'):
        GradientReversalLayer(max_iters=0)
    assert isinstance(_model(), GVBClassifier)


@pytest.mark.slow
def test_gvb_config_trains_through_mim(tmp_path):
    config = 'gvb/resnet18-w16_gvb_mnist-to-sklearn-digits.py'
    out = run_mim(['train', 'tessera-core', config, '--work-dir', str(tmp_path), '--cfg-options',
                   'train_cfg.max_epochs=1', 'train_dataloader.dataset.source.indices=256',
                   'val_dataloader.dataset.indices=200', 'default_hooks.logger.interval=1']).stdout
    for key in ('loss_transfer', 'loss_bridge_g', 'loss_bridge_d', 'disc_acc'):
        assert re.search(rf'{key}: [\d.]+', out), key
    assert 'Epoch(train) [1][4/4]' in out
    assert (tmp_path / 'epoch_1.pth').exists()
