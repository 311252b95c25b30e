"""FID, Inception Score and improved precision/recall: formulas against closed forms and hand-built sets,
and the mmengine metrics with a user-supplied feature extractor."""
import numpy as np
import pytest
import torch
from mmengine.structures import BaseDataElement

from tessera_generative.evaluation import (FrechetInceptionDistance, InceptionScore, PrecisionAndRecall,
                                           frechet_distance, gaussian_stats, inception_score, precision_recall)
from tessera_generative.evaluation.functional import knn_radii, manifold_coverage
from tessera_generative.registry import METRICS


def _random_spd(d, rng):
    a = rng.normal(size=(d, d))
    return a @ a.T + 0.1 * np.eye(d)


def test_fid_of_a_set_against_itself_is_zero():
    feats = np.random.RandomState(0).normal(size=(500, 16)) @ np.random.RandomState(1).normal(size=(16, 16))
    mu, s = gaussian_stats(feats)
    assert abs(frechet_distance(mu, s, mu, s)) < 1e-8


def test_frechet_distance_closed_forms():
    rng = np.random.RandomState(0)
    d = 6
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1 = _random_spd(d, rng)
    # diagonal covariances: sum of per-dimension (sqrt(a) - sqrt(b))^2
    a, b = rng.uniform(0.5, 3, size=d), rng.uniform(0.5, 3, size=d)
    expected = ((mu1 - mu2) ** 2).sum() + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum()
    assert frechet_distance(mu1, np.diag(a), mu2, np.diag(b)) == pytest.approx(expected, rel=1e-10)
    # a full covariance against a scaled copy c^2 S: ||dmu||^2 + (1 - c)^2 Tr(S)
    c = 1.7
    expected = ((mu1 - mu2) ** 2).sum() + (1 - c) ** 2 * np.trace(s1)
    assert frechet_distance(mu1, s1, mu2, c ** 2 * s1) == pytest.approx(expected, rel=1e-9)
    # non-commuting covariances: against scipy's matrix square root of S1 S2
    sqrtm = pytest.importorskip('scipy.linalg').sqrtm
    s2 = _random_spd(d, rng)
    expected = ((mu1 - mu2) ** 2).sum() + np.trace(s1 + s2 - 2 * sqrtm(s1 @ s2).real)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    # symmetric
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(frechet_distance(mu2, s2, mu1, s1), rel=1e-10)


def test_fid_of_samples_of_two_shifted_gaussians_approaches_the_closed_form():
    rng = np.random.RandomState(0)
    d, n = 4, 200_000
    s = _random_spd(d, rng) / 4
    shift = np.array([1.0, -0.5, 0.25, 0.0])
    chol = np.linalg.cholesky(s)
    x = rng.normal(size=(n, d)) @ chol.T
    y = rng.normal(size=(n, d)) @ chol.T + shift
    fid = frechet_distance(*gaussian_stats(x), *gaussian_stats(y))
    assert fid == pytest.approx((shift ** 2).sum(), abs=0.01)


def test_inception_score_limits():
    k = 7
    assert inception_score(np.full((70, k), 1.0 / k), splits=1)[0] == pytest.approx(1.0)
    confident = np.eye(k)[np.arange(70) % k]            # every class equally often, one-hot predictions
    mean, std = inception_score(confident, splits=10)   # each split of 7 holds every class once
    assert mean == pytest.approx(k, rel=1e-9) and std == pytest.approx(0, abs=1e-9)
    # confident but all the same class: no diversity -> 1
    assert inception_score(np.eye(k)[np.zeros(50, int)], splits=1)[0] == pytest.approx(1.0)


def test_knn_radii_and_precision_recall_on_hand_built_sets():
    line = np.arange(6, dtype=float)[:, None]           # 0, 1, ..., 5 on a line
    np.testing.assert_allclose(knn_radii(line, 1), [1, 1, 1, 1, 1, 1])
    np.testing.assert_allclose(knn_radii(line, 3), [3, 2, 2, 2, 2, 3])
    real = line
    fake = np.array([[0.5], [2.9], [10.0], [-3.0]])     # inside, inside, outside, outside with k=1
    p, _ = precision_recall(real, fake, k=1)
    assert p == pytest.approx(0.5)
    # recall: fakes 0.5 and 2.9 (k=1 radii 2.4 each, 10 and -3 are far apart) cover reals 0..5 within 2.4
    fake2 = np.array([[0.5], [2.9], [20.0], [30.0]])
    # fake radii (k=1): 0.5 -> 2.4, 2.9 -> 2.4, 20 -> 10, 30 -> 10; reals within: 0,1,2 (of 0.5), 1..5 (of 2.9)
    assert precision_recall(real, fake2, k=1) == pytest.approx((0.5, 1.0))
    fake3 = np.array([[0.5], [0.6], [0.7]])             # radii 0.1 / 0.1 / 0.1 -> covers no real point
    assert precision_recall(real, fake3, k=1) == pytest.approx((1.0, 0.0))
    # identical sets: full precision and recall
    assert precision_recall(real, real.copy(), k=3) == pytest.approx((1.0, 1.0))
    # chunked rows give the same radii and coverage as one block
    pts = np.random.RandomState(0).normal(size=(50, 3))
    np.testing.assert_allclose(knn_radii(pts, 3, chunk=7), knn_radii(pts, 3, chunk=1000))
    q = np.random.RandomState(1).normal(size=(40, 3))
    assert manifold_coverage(pts, q, 3, chunk=6) == manifold_coverage(pts, q, 3, chunk=1000)


def _samples(fake, real, nested=None):
    out = []
    for i in range(len(fake)):
        s = BaseDataElement(fake_img=fake[i], gt_img=real[i])
        if nested is not None:
            s.ema = BaseDataElement(fake_img=nested[i])
            s.orig = BaseDataElement(fake_img=fake[i])
        out.append(s)
    return out


def flatten(images):
    return images.flatten(1)


def test_metrics_with_a_user_feature_extractor_match_the_formulas():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(40, 1, 4, 4, generator=g) * 255
    fake = torch.rand(40, 1, 4, 4, generator=g) * 200
    fid = METRICS.build(dict(type='FID', feature_extractor=flatten))
    pr = PrecisionAndRecall(k=3, feature_extractor=flatten)
    for m in (fid, pr):
        for start in (0, 16, 32):                       # three val batches
            m.process({}, _samples(fake[start:start + 16], real[start:start + 16]))
    got = fid.evaluate(40)
    expected = frechet_distance(*gaussian_stats(real.flatten(1).double().numpy()),
                                *gaussian_stats(fake.flatten(1).double().numpy()))
    assert got['FID/fid'] == pytest.approx(expected, rel=1e-9)
    assert got['FID/mean'] + got['FID/cov'] == pytest.approx(got['FID/fid'])
    p, r = precision_recall(real.flatten(1).double().numpy(), fake.flatten(1).double().numpy(), 3)
    assert pr.evaluate(40) == pytest.approx({'PR/precision': p, 'PR/recall': r})


def test_fid_metric_of_identical_sets_is_zero_and_reads_the_requested_generator():
    g = torch.Generator().manual_seed(1)
    real = torch.rand(30, 1, 3, 3, generator=g) * 255
    other = torch.rand(30, 1, 3, 3, generator=g) * 255
    ema = FrechetInceptionDistance(feature_extractor=flatten, sample_model='ema')
    orig = FrechetInceptionDistance(feature_extractor=flatten, sample_model='orig')
    samples = _samples(other, real, nested=real)        # ema.fake_img == real, orig.fake_img == other
    ema.process({}, samples)
    orig.process({}, samples)
    assert abs(ema.evaluate(30)['FID/fid']) < 1e-6
    assert orig.evaluate(30)['FID/fid'] > 1.0


def test_inception_score_metric_on_logits():
    k = 5
    logits = lambda imgs: 50.0 * torch.nn.functional.one_hot(imgs.flatten(1)[:, 0].long() % k, k).float()  # noqa
    metric = InceptionScore(splits=2, feature_extractor=logits)
    fake = torch.arange(20, dtype=torch.float32).view(20, 1, 1, 1).expand(20, 1, 2, 2)
    metric.process({}, [BaseDataElement(fake_img=f) for f in fake])  # no gt_img needed
    assert metric.evaluate(20)['IS/is'] == pytest.approx(k, rel=1e-6)


def test_metric_errors_name_what_is_missing():
    metric = FrechetInceptionDistance(feature_extractor=flatten)
    with pytest.raises(KeyError, match='gt_img'):
        metric.process({}, [BaseDataElement(fake_img=torch.zeros(1, 2, 2))])
    bad = FrechetInceptionDistance(feature_extractor=lambda x: x)  # returns 4-D "features"
    with pytest.raises(ValueError, match=r'\(2, D\)'):
        bad.process({}, _samples(torch.zeros(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)))
    with pytest.raises(TypeError, match='feature_extractor'):
        FrechetInceptionDistance(feature_extractor=3)
    with pytest.raises(ValueError, match="'ema' or 'orig'"):
        FrechetInceptionDistance(feature_extractor=flatten, sample_model='ema/orig')
