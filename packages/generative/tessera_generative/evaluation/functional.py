"""The formulas of the generative metrics, on feature / probability arrays (float64 numpy).

* Frechet distance (FID: Heusel et al., GANs Trained by a Two Time-Scale Update Rule Converge to a
  Local Nash Equilibrium, NeurIPS 2017, arXiv:1706.08500; official code
  https://github.com/bioinf-jku/TTUR) between Gaussians fitted to two feature sets::

      d^2 = ||mu_1 - mu_2||^2 + Tr(S_1 + S_2 - 2 (S_1 S_2)^{1/2})

  ``Tr((S_1 S_2)^{1/2})`` is computed as ``sum sqrt(eig(S_1^{1/2} S_2 S_1^{1/2}))`` (a symmetric PSD
  matrix with the same eigenvalues as ``S_1 S_2``), which needs no complex ``sqrtm``.
* Inception Score (Salimans et al., Improved Techniques for Training GANs, NeurIPS 2016,
  arXiv:1606.03498; official code https://github.com/openai/improved-gan)::

      IS = exp(E_x KL(p(y|x) || p(y))),  p(y) = E_x p(y|x),

  averaged over ``splits`` disjoint chunks (10 in the paper), mean and standard deviation.
* Improved precision and recall (Kynkaanniemi et al., Improved Precision and Recall Metric for
  Assessing Generative Models, NeurIPS 2019, arXiv:1904.06991; official code
  https://github.com/kynkaat/improved-precision-and-recall-metric): the manifold of a set is the
  union of balls around its points with radius the distance to the k-th nearest other point of the
  set (k = 3); precision = share of generated points inside the real manifold, recall = share of
  real points inside the generated manifold.
"""
from typing import Tuple

import numpy as np


def gaussian_stats(features: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(N, D) -> mean (D,), unbiased covariance (D, D)."""
    f = np.asarray(features, dtype=np.float64)
    if f.ndim != 2 or f.shape[0] < 2:
        raise ValueError(f'need features (N >= 2, D), got shape {f.shape}')
    return f.mean(0), np.cov(f, rowvar=False).reshape(f.shape[1], f.shape[1])


def _psd_sqrt(s: np.ndarray) -> np.ndarray:
    w, v = np.linalg.eigh((s + s.T) / 2)
    return (v * np.sqrt(np.clip(w, 0, None))) @ v.T


def frechet_distance(mu1: np.ndarray, sigma1: np.ndarray, mu2: np.ndarray, sigma2: np.ndarray) -> float:
    """Squared Frechet distance between N(mu1, sigma1) and N(mu2, sigma2)."""
    mu1, mu2 = np.atleast_1d(np.asarray(mu1, np.float64)), np.atleast_1d(np.asarray(mu2, np.float64))
    s1, s2 = np.atleast_2d(np.asarray(sigma1, np.float64)), np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f'mismatched Gaussian statistics: means {mu1.shape} / {mu2.shape}, '
                         f'covariances {s1.shape} / {s2.shape}')
    r1 = _psd_sqrt(s1)
    inner = r1 @ s2 @ r1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((inner + inner.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_covmean)


def inception_score(probs: np.ndarray, splits: int = 10, eps: float = 1e-12) -> Tuple[float, float]:
    """(N, K) class probabilities -> (mean, std) of ``exp(E KL(p(y|x) || p(y)))`` over ``splits`` chunks."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or splits < 1 or p.shape[0] < splits:
        raise ValueError(f'need probabilities (N, K) with N >= splits >= 1; got shape {p.shape}, splits={splits}')
    scores = []
    for chunk in np.array_split(p, splits):
        marginal = chunk.mean(0, keepdims=True)
        kl = (chunk * (np.log(chunk + eps) - np.log(marginal + eps))).sum(1)
        scores.append(np.exp(kl.mean()))
    return float(np.mean(scores)), float(np.std(scores))


def pairwise_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Euclidean distances (Na, Nb)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    sq = (a * a).sum(1)[:, None] + (b * b).sum(1)[None, :] - 2.0 * a @ b.T
    return np.sqrt(np.clip(sq, 0, None))


def knn_radii(points: np.ndarray, k: int, chunk: int = 1024) -> np.ndarray:
    """Distance of every point to its k-th nearest *other* point of the set, (N,); rows in chunks."""
    n = len(points)
    if not 1 <= k < n:
        raise ValueError(f'k-NN radii need 1 <= k < number of points; got k={k}, {n} points')
    # column 0 of a sorted row is the point itself (distance 0)
    return np.concatenate([np.partition(pairwise_distances(points[i:i + chunk], points), k, axis=1)[:, k]
                           for i in range(0, n, chunk)])


def manifold_coverage(manifold: np.ndarray, queries: np.ndarray, k: int, chunk: int = 1024) -> float:
    """Share of ``queries`` inside the k-NN manifold of ``manifold`` (ball radii inclusive)."""
    radii = knn_radii(manifold, k, chunk)
    inside = np.concatenate([(pairwise_distances(queries[i:i + chunk], manifold) <= radii[None, :]).any(1)
                             for i in range(0, len(queries), chunk)])
    return float(inside.mean())


def precision_recall(real: np.ndarray, fake: np.ndarray, k: int = 3) -> Tuple[float, float]:
    """(precision, recall) of generated features ``fake`` against ``real`` (each (N, D))."""
    return manifold_coverage(real, fake, k), manifold_coverage(fake, real, k)
