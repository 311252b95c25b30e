"""CLIP: InfoNCE closed form, symmetry, temperature clamp, causal mask, shapes, metric."""
import math

import pytest
import torch
import torch.nn.functional as F

from tessera_core.structures import ClsDataSample
from tessera_multimodal.evaluation import ZeroShotRetrievalMetric, retrieval_recall_at_1
from tessera_multimodal.models import CLIPModel, CLIPTextTransformer, WordTokenizer, symmetric_info_nce
from tessera_multimodal.models.text_encoders import build_causal_mask
from tessera_multimodal.registry import MODELS


def _tiny_clip(**kwargs):
    cfg = dict(type='CLIPModel',
               image_backbone=dict(type='ResNet', depth=18, in_channels=1, stem='small', base_channels=8),
               text_encoder=dict(type='CLIPTextTransformer', width=32, layers=2, heads=4),
               tokenizer=dict(type='WordTokenizer', context_length=16), embed_dim=16)
    cfg.update(kwargs)
    return MODELS.build(cfg)


def _samples(captions, labels=None):
    out = []
    for i, c in enumerate(captions):
        s = ClsDataSample().set_gt_label(labels[i] if labels else 0)
        s.set_metainfo(dict(caption=c))
        out.append(s)
    return out


# ---------------------------------------------------------------- InfoNCE
def test_info_nce_equals_hand_computed_value():
    img = torch.tensor([[1.0, 0.0], [0.0, 1.0]])
    txt = torch.tensor([[1.0, 0.0], [0.6, 0.8]])
    scale = 2.0
    # logits = 2 * [[1, 0.6], [0, 0.8]]
    row0 = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(1.2)))
    row1 = -math.log(math.exp(1.6) / (math.exp(0.0) + math.exp(1.6)))
    col0 = -math.log(math.exp(2.0) / (math.exp(2.0) + math.exp(0.0)))
    col1 = -math.log(math.exp(1.6) / (math.exp(1.2) + math.exp(1.6)))
    expected = 0.5 * ((row0 + row1) / 2 + (col0 + col1) / 2)
    assert symmetric_info_nce(img, txt, torch.tensor(scale)).item() == pytest.approx(expected, rel=1e-6)


def test_info_nce_is_symmetric_and_permutation_invariant():
    g = torch.Generator().manual_seed(0)
    img = F.normalize(torch.randn(6, 5, generator=g), dim=1)
    txt = F.normalize(torch.randn(6, 5, generator=g), dim=1)
    scale = torch.tensor(7.0)
    a = symmetric_info_nce(img, txt, scale)
    torch.testing.assert_close(a, symmetric_info_nce(txt, img, scale))
    perm = torch.randperm(6, generator=g)
    torch.testing.assert_close(a, symmetric_info_nce(img[perm], txt[perm], scale))
    # matches the two cross entropies of CLIP's Figure 3 computed separately
    logits = scale * img @ txt.t()
    labels = torch.arange(6)
    torch.testing.assert_close(a, (F.cross_entropy(logits, labels) + F.cross_entropy(logits.t(), labels)) / 2)
    # perfectly aligned orthonormal pairs with a large scale: loss -> 0
    eye = torch.eye(4)
    assert symmetric_info_nce(eye, eye, torch.tensor(100.0)).item() < 1e-6
    with pytest.raises(ValueError, match=r'\(N, E\)'):
        symmetric_info_nce(img, txt[:3], scale)


def test_logit_scale_init_and_clamp():
    model = _tiny_clip()
    assert model.logit_scale.item() == pytest.approx(math.log(1 / 0.07))
    assert model.logit_scale_value.item() == pytest.approx(1 / 0.07, rel=1e-5)
    with torch.no_grad():
        model.logit_scale.fill_(math.log(1000.0))
    value = model.logit_scale_value
    assert value.item() == pytest.approx(100.0)
    value.backward()
    assert model.logit_scale.grad.item() == 0.0          # clamped: no push beyond 100
    model.logit_scale.grad = None
    with torch.no_grad():
        model.logit_scale.fill_(math.log(50.0))
    model.logit_scale_value.backward()
    assert model.logit_scale.grad.item() == pytest.approx(50.0, rel=1e-5)   # d exp(t)/dt = exp(t)
    assert _tiny_clip(max_logit_scale=10.0).logit_scale_value.item() == pytest.approx(10.0)


# ---------------------------------------------------------------- text encoder
def test_causal_mask_values():
    m = build_causal_mask(4)
    assert (m.tril() == 0).all() and torch.isinf(m.triu(1)[m.triu(1) != 0]).all()
    assert torch.isneginf(m[0, 1]) and m[1, 0] == 0


def test_outputs_at_t_do_not_depend_on_later_tokens():
    torch.manual_seed(0)
    enc = CLIPTextTransformer(vocab_size=20, context_length=10, eot_token_id=2, width=32, layers=3, heads=4).eval()
    tokens = torch.randint(3, 20, (2, 10))
    t = 4
    changed = tokens.clone()
    changed[:, t + 1:] = torch.randint(3, 20, (2, 10 - t - 1))
    assert not torch.equal(changed, tokens)
    with torch.no_grad():
        a, b = enc.forward_features(tokens), enc.forward_features(changed)
    torch.testing.assert_close(a[:, :t + 1], b[:, :t + 1])
    assert (a[:, t + 1:] - b[:, t + 1:]).abs().max() > 1e-3      # later positions do see them
    # and a change at position t changes position t
    changed2 = tokens.clone()
    changed2[:, t] = (tokens[:, t] - 3 + 1) % 17 + 3
    with torch.no_grad():
        c = enc.forward_features(changed2)
    torch.testing.assert_close(a[:, :t], c[:, :t])
    assert (a[:, t] - c[:, t]).abs().max() > 1e-3


def test_text_feature_is_the_eot_activation_projected():
    torch.manual_seed(0)
    tok = WordTokenizer(context_length=16)
    enc = CLIPTextTransformer(vocab_size=tok.vocab_size, context_length=16, eot_token_id=tok.eot_id,
                              embed_dim=8, width=32, layers=2, heads=4).eval()
    tokens = tok(['a handwritten 7', 'a photo of the digit seven'])
    with torch.no_grad():
        feats = enc(tokens)
        per_pos = enc.forward_features(tokens)
    assert feats.shape == (2, 8)
    torch.testing.assert_close(feats[0], per_pos[0, 4] @ enc.text_projection)   # <sot> a handwritten 7 <eot>
    torch.testing.assert_close(feats[1], per_pos[1, 7] @ enc.text_projection)
    # padding after <eot> is irrelevant (causal mask)
    shorter = tokens[:, :8]
    with torch.no_grad():
        torch.testing.assert_close(enc(shorter), feats)
    with pytest.raises(ValueError, match='exactly one <eot>'):
        enc(torch.tensor([[1, 5, 6, 0]]))
    with pytest.raises(ValueError, match='context_length=16'):
        enc(torch.ones(1, 17, dtype=torch.long))
    with pytest.raises(ValueError, match='divisible'):
        CLIPTextTransformer(vocab_size=10, context_length=8, eot_token_id=2, width=30, heads=4)


# ---------------------------------------------------------------- model
def test_model_shapes_and_modes():
    torch.manual_seed(0)
    model = _tiny_clip()
    captions = ['a handwritten 7', 'the number two', 'a scan of the digit 0']
    x = torch.randn(3, 1, 28, 28)
    samples = _samples(captions, [7, 2, 0])
    img = model.encode_image(x)
    assert img.shape == (3, 16)
    torch.testing.assert_close(img.norm(dim=1), torch.ones(3))
    assert model.encode_text(captions).shape == (3, 16)
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_contrastive', 'logit_scale'}
    losses['loss_contrastive'].backward()
    for name in ('logit_scale', 'image_projection.weight', 'text_encoder.text_projection',
                 'text_encoder.token_embedding.weight', 'image_backbone.stem.0.weight'):
        assert dict(model.named_parameters())[name].grad is not None, name
    assert model(x, mode='tensor').shape == (3, 16)
    assert model(x, samples, mode='tensor').shape == (3, 3)
    model.eval()
    with torch.no_grad():
        out = model(x, _samples(captions, [7, 2, 0]), mode='predict')
        classifier = model.zero_shot_classifier()
    assert classifier.shape == (10, 16)
    torch.testing.assert_close(classifier.norm(dim=1), torch.ones(10))
    assert out[0].pred_score.shape == (10,) and out[0].pred_score.sum().item() == pytest.approx(1.0, abs=1e-5)
    assert out[0].img_embed.shape == out[0].text_embed.shape == (16,)
    assert int(out[1].pred_label) == int(out[1].pred_score.argmax())
    with pytest.raises(ValueError, match="'bogus'"):
        model(x, mode='bogus')


def test_zero_shot_classifier_is_the_prompt_ensemble():
    torch.manual_seed(0)
    templates = ['a sketch of a {numeral}', 'this is the digit {word}']
    model = _tiny_clip(zero_shot=dict(templates=templates)).eval()
    with torch.no_grad():
        classifier = model.zero_shot_classifier()
        seven = model.encode_text(['a sketch of a 7', 'this is the digit seven'])
    torch.testing.assert_close(classifier[7], F.normalize(seven.mean(0), dim=0))


def test_model_errors():
    model = _tiny_clip()
    with pytest.raises(KeyError, match='caption'):
        model(torch.randn(2, 1, 28, 28), [ClsDataSample(), ClsDataSample()], mode='loss')
    with pytest.raises(ValueError, match="unknown word.*'cat'"):
        _tiny_clip(zero_shot=dict(templates=['a cat like a {word}']))
    with pytest.raises(KeyError, match='prompts'):
        _tiny_clip(zero_shot=dict(prompts=['x']))


def test_parameter_count_of_text_encoder():
    tok = WordTokenizer(context_length=16)
    w, layers, e, v, L = 64, 2, 64, tok.vocab_size, 16
    enc = CLIPTextTransformer(vocab_size=v, context_length=L, eot_token_id=tok.eot_id, embed_dim=e, width=w,
                              layers=layers, heads=4)
    block = (2 * w) + (3 * w * w + 3 * w) + (w * w + w) + (2 * w) + (w * 4 * w + 4 * w) + (4 * w * w + w)
    expected = v * w + L * w + layers * block + 2 * w + w * e
    assert sum(p.numel() for p in enc.parameters()) == expected


# ---------------------------------------------------------------- metric
def test_retrieval_recall_and_metric():
    e = torch.eye(3)
    labels = torch.tensor([0, 1, 1])
    # queries: class 0 -> item 0 (hit), class 1 -> item 2 (hit, same label), class 1 -> item 0 (miss)
    query = torch.stack([e[0], e[2], e[0]])
    assert retrieval_recall_at_1(query, e, labels, labels) == pytest.approx(200 / 3)
    metric = ZeroShotRetrievalMetric()
    samples = []
    for i in range(3):
        samples.append(dict(pred_score=F.one_hot(torch.tensor([0, 1, 0][i]), 2).float(),
                            gt_label=labels[i:i + 1], img_embed=query[i], text_embed=e[i]))
    metric.process({}, samples)
    res = metric.compute_metrics(metric.results)
    assert res['zeroshot_top1'] == pytest.approx(200 / 3)
    assert res['i2t_recall@1'] == pytest.approx(200 / 3)
    # texts query images: text 0 -> image 0 (hit); text 1 -> all similarities 0, argmax image 0 (miss);
    # text 2 -> image 1 (label 1: hit)
    sims = e @ query.t()
    expected = (labels[sims.argmax(1)] == labels).float().mean().item() * 100
    assert res['t2i_recall@1'] == pytest.approx(expected)
    with pytest.raises(KeyError, match='text_embed'):
        metric.process({}, [dict(pred_score=torch.zeros(2), gt_label=labels[:1], img_embed=e[0])])
