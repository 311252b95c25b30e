"""GWD and KLD against closed forms and a brute-force matrix square root; boundary and square-box cases."""
import math

import numpy as np
import pytest
import torch

from tessera_detection.models.losses import GWDLoss, KLDLoss, gwd_distance, kld_distance, rbox2gaussian
from tessera_detection.models.losses.gaussian_dist_loss import transform_distance
from tessera_detection.models.task_modules import DeltaXYWHTRBBoxCoder


def boxes(*rows):
    return torch.tensor(rows, dtype=torch.float64)


def _sqrtm_spd(m):
    vals, vecs = np.linalg.eigh(m)
    return vecs @ np.diag(np.sqrt(np.clip(vals, 0, None))) @ vecs.T


def _gaussian_np(b):
    cx, cy, w, h, a = b
    r = np.array([[math.cos(a), -math.sin(a)], [math.sin(a), math.cos(a)]])
    return np.array([cx, cy]), r @ np.diag([w * w / 4, h * h / 4]) @ r.T


def _w2_brute(p, t):
    """Squared 2-Wasserstein distance of two Gaussians with numerical matrix square roots."""
    mp, sp = _gaussian_np(p)
    mt, st = _gaussian_np(t)
    rp = _sqrtm_spd(sp)
    return float(np.sum((mp - mt) ** 2) + np.trace(sp + st - 2 * _sqrtm_spd(rp @ st @ rp)))


def _kl_brute(p, t):
    """KL(N_p || N_t) with numpy's inverse and log-determinants."""
    mp, sp = _gaussian_np(p)
    mt, st = _gaussian_np(t)
    ti = np.linalg.inv(st)
    d = mp - mt
    return float(0.5 * (d @ ti @ d + np.trace(ti @ sp) + np.log(np.linalg.det(st) / np.linalg.det(sp)) - 2))


def test_gaussian_of_a_box():
    mu, sigma = rbox2gaussian(boxes([3.0, 4.0, 6.0, 2.0, 0.0], [0.0, 0.0, 6.0, 2.0, math.pi / 2]))
    assert torch.allclose(mu[0], boxes([3.0, 4.0])[0])
    assert torch.allclose(sigma[0], torch.diag(boxes([9.0, 1.0])[0]))  # diag(w^2/4, h^2/4)
    assert torch.allclose(sigma[1], torch.diag(boxes([1.0, 9.0])[0]), atol=1e-12)  # long side along y
    b = boxes([1.0, 2.0, 10.0, 4.0, 0.7])
    _, s = rbox2gaussian(b)
    assert np.allclose(s[0].numpy(), _gaussian_np(b[0].tolist())[1])
    # eigenvalues w^2/4, h^2/4 whatever the angle
    assert np.allclose(sorted(np.linalg.eigvalsh(s[0].numpy())), [4.0, 25.0])


def test_equivalent_representations_give_the_same_gaussian():
    b = boxes([5.0, 6.0, 12.0, 4.0, 0.4])
    same = boxes([5.0, 6.0, 12.0, 4.0, 0.4 - math.pi], [5.0, 6.0, 4.0, 12.0, 0.4 + math.pi / 2],
                 [5.0, 6.0, 4.0, 12.0, 0.4 - math.pi / 2])
    s0 = rbox2gaussian(b)[1]
    assert torch.allclose(rbox2gaussian(same)[1], s0.expand(3, 2, 2), atol=1e-12)


def test_identical_boxes_give_zero():
    b = boxes([5.0, 6.0, 12.0, 4.0, 0.4], [50.0, 60.0, 30.0, 29.0, -1.2])
    assert torch.allclose(gwd_distance(b, b), torch.zeros(2, dtype=b.dtype), atol=1e-9)
    assert torch.allclose(gwd_distance(b, b, normalize=True), torch.zeros(2, dtype=b.dtype), atol=1e-4)
    assert torch.allclose(kld_distance(b, b), torch.zeros(2, dtype=b.dtype), atol=1e-12)
    for loss in (GWDLoss(), KLDLoss(), GWDLoss(fun='sqrt', tau=2.0, normalize=False)):
        expect = 1 - 1 / loss.tau if loss.tau >= 1 else 0.0  # f(0) = 0
        assert float(loss(b.float(), b.float())) == pytest.approx(expect, abs=1e-3)


def test_translation_only_closed_forms():
    # same shape, centre moved by (dx, dy): W^2 = dx^2 + dy^2, KL = 2 dx'^2 / w^2 + 2 dy'^2 / h^2 in the box frame
    a = 0.3
    p = boxes([10.0 + 3.0, 20.0 - 4.0, 16.0, 4.0, a])
    t = boxes([10.0, 20.0, 16.0, 4.0, a])
    assert float(gwd_distance(p, t)) == pytest.approx(25.0)
    du = 3.0 * math.cos(a) - 4.0 * math.sin(a)   # offset along the box's w axis
    dv = -3.0 * math.sin(a) - 4.0 * math.cos(a)  # and along its h axis
    assert float(kld_distance(p, t)) == pytest.approx(2 * du ** 2 / 16.0 ** 2 + 2 * dv ** 2 / 4.0 ** 2)
    # KLD weights the offset by the target's shape: the same offset costs 16x more across a 4-px side
    along = kld_distance(boxes([12.0, 0.0, 16.0, 4.0, 0.0]), boxes([0.0, 0.0, 16.0, 4.0, 0.0]))
    across = kld_distance(boxes([0.0, 12.0, 16.0, 4.0, 0.0]), boxes([0.0, 0.0, 16.0, 4.0, 0.0]))
    assert float(across / along) == pytest.approx(16.0)


def test_scale_only_closed_forms():
    # same centre and angle: W^2 = ((wp - wt)^2 + (hp - ht)^2) / 4;
    # KL = (wp^2/wt^2 + hp^2/ht^2)/2 + ln(wt ht / wp hp) - 1
    for a in (0.0, 0.9, -1.4):
        p = boxes([0.0, 0.0, 20.0, 6.0, a])
        t = boxes([0.0, 0.0, 12.0, 8.0, a])
        assert float(gwd_distance(p, t)) == pytest.approx((8.0 ** 2 + 2.0 ** 2) / 4)
        kl = 0.5 * (20.0 ** 2 / 12.0 ** 2 + 6.0 ** 2 / 8.0 ** 2) + math.log(12.0 * 8.0 / (20.0 * 6.0)) - 1
        assert float(kld_distance(p, t)) == pytest.approx(kl)
        # normalised GWD (mmrotate GDLoss): W / (wp hp wt ht)^(1/4)
        norm = math.sqrt((8.0 ** 2 + 2.0 ** 2) / 4) / (20.0 * 6.0 * 12.0 * 8.0) ** 0.25
        assert float(gwd_distance(p, t, normalize=True)) == pytest.approx(norm)


@pytest.mark.parametrize('seed', [0, 1, 2])
def test_general_case_matches_brute_force(seed):
    g = np.random.default_rng(seed)
    for _ in range(20):
        p = [*g.uniform(0, 50, 2), *g.uniform(2, 40, 2), g.uniform(-math.pi, math.pi)]
        t = [*g.uniform(0, 50, 2), *g.uniform(2, 40, 2), g.uniform(-math.pi, math.pi)]
        assert float(gwd_distance(boxes(p), boxes(t))) == pytest.approx(_w2_brute(p, t), rel=1e-7, abs=1e-7)
        assert float(kld_distance(boxes(p), boxes(t))) == pytest.approx(_kl_brute(p, t), rel=1e-7, abs=1e-9)


def test_gwd_symmetric_kld_asymmetric():
    p = boxes([3.0, 1.0, 30.0, 6.0, 0.2])
    t = boxes([0.0, 0.0, 12.0, 10.0, -0.5])
    assert float(gwd_distance(p, t)) == pytest.approx(float(gwd_distance(t, p)), rel=1e-12)
    assert float(gwd_distance(p, t, normalize=True)) == pytest.approx(float(gwd_distance(t, p, normalize=True)))
    kpt, ktp = float(kld_distance(p, t)), float(kld_distance(t, p))
    assert abs(kpt - ktp) > 0.1 * max(kpt, ktp)
    assert kpt == pytest.approx(_kl_brute(p[0].tolist(), t[0].tolist()))


def test_kld_scale_invariant_gwd_not():
    p = boxes([3.0, 1.0, 30.0, 6.0, 0.2])
    t = boxes([0.0, 0.0, 12.0, 10.0, -0.5])
    k = 3.5
    scale = boxes([k, k, k, k, 1.0])
    assert float(kld_distance(p * scale, t * scale)) == pytest.approx(float(kld_distance(p, t)), rel=1e-10)
    assert float(gwd_distance(p * scale, t * scale)) == pytest.approx(k * k * float(gwd_distance(p, t)))
    assert float(gwd_distance(p * scale, t * scale, normalize=True)) == \
        pytest.approx(float(gwd_distance(p, t, normalize=True)))


def test_transforms():
    d = torch.tensor([0.0, 0.5, 3.0])
    assert torch.allclose(transform_distance(d, 'log1p', 1.0), 1 - 1 / (1 + torch.log1p(d)))
    assert torch.allclose(transform_distance(d, 'sqrt', 2.0), 1 - 1 / (2 + d.clamp(min=1e-7).sqrt()))
    assert torch.allclose(transform_distance(d, 'log1p', 0.0), torch.log1p(d))
    assert torch.allclose(transform_distance(d, 'none', 0.0), d)
    with pytest.raises(ValueError, match="unknown fun 'exp'"):
        transform_distance(d, 'exp')
    with pytest.raises(ValueError, match="unknown fun 'exp'"):
        GWDLoss(fun='exp')
    with pytest.raises(ValueError, match="unknown reduction 'avg'"):
        KLDLoss(reduction='avg')


def test_loss_weights_avg_factor_and_negatives():
    p = torch.tensor([[10.0, 10.0, 20.0, 8.0, 0.1], [0.0, 0.0, 0.0, 0.0, 0.0], [30.0, 5.0, 9.0, 9.0, 1.0]])
    t = torch.tensor([[11.0, 9.0, 22.0, 7.0, 0.2], [0.0, 0.0, 0.0, 0.0, 0.0], [31.0, 5.0, 10.0, 8.0, 0.9]])
    w = torch.tensor([[1.0] * 5, [0.0] * 5, [1.0] * 5])  # mmdet's bbox_weights: the all-zero negative is skipped
    for loss in (GWDLoss(loss_weight=5.0), KLDLoss()):
        per = loss(p, t, w, reduction_override='none')
        assert per.shape == (3,) and per[1] == 0 and torch.isfinite(per).all()
        expect = transform_distance(loss.distance(p[[0, 2]], t[[0, 2]]), loss.fun, loss.tau) * loss.loss_weight
        assert torch.allclose(per[[0, 2]], expect)
        assert torch.allclose(loss(p, t, w, avg_factor=2.0), expect.sum() / 2, atol=1e-6)
        pr = p.clone().requires_grad_(True)
        loss(pr, t, w, avg_factor=2.0).backward()
        assert torch.isfinite(pr.grad).all() and pr.grad[1].abs().sum() == 0 and pr.grad[0].abs().sum() > 0
    with pytest.raises(ValueError, match='reg_decoded_bbox=True'):
        KLDLoss()(torch.zeros(3, 4), torch.zeros(3, 4))


def test_square_boxes_angle_free_but_delta_target_not():
    # A square's Gaussian does not depend on its angle: GWD / KLD see no difference between a square at 0 and
    # at 0.6 rad; the smooth-L1 target of the delta coder asks for an angle change of 0.6 rad.
    a = boxes([20.0, 20.0, 16.0, 16.0, 0.0])
    b = boxes([20.0, 20.0, 16.0, 16.0, 0.6])
    assert float(gwd_distance(a, b)) == pytest.approx(0.0, abs=1e-9)
    assert float(kld_distance(a, b)) == pytest.approx(0.0, abs=1e-12)
    coder = DeltaXYWHTRBBoxCoder(edge_swap=True, proj_xy=True)
    assert float(coder.encode(a.float(), b.float())[0, 4]) == pytest.approx(0.6, abs=1e-6)


@pytest.mark.parametrize('edge_swap', [False, True])
def test_gaussian_losses_continuous_where_the_delta_target_jumps(edge_swap):
    """A target turned through the representation boundary of the delta coder, against a fixed prediction.

    Without edge_swap the le90 target jumps at angle -> pi/2 (it becomes -pi/2); with edge_swap at +-pi/4 from
    the anchor (da jumps by pi/2 and dw, dh exchange). The boxes on both sides differ by 2 eps rad, and the
    GWD / KLD of a prediction against them differ by O(eps)."""
    eps = 1e-3
    boundary = math.pi / 2 if not edge_swap else math.pi / 4
    anchor = torch.tensor([[50.0, 50.0, 40.0, 20.0, 0.0]])
    below = torch.tensor([[50.0, 50.0, 36.0, 18.0, boundary - eps]])
    above_angle = boundary + eps
    above = torch.tensor([[50.0, 50.0, 36.0, 18.0, above_angle if above_angle < math.pi / 2
                           else above_angle - math.pi]])  # the le90 representation of the box past the boundary
    coder = DeltaXYWHTRBBoxCoder(edge_swap=edge_swap, proj_xy=True)
    jump = (coder.encode(anchor, above) - coder.encode(anchor, below)).abs()
    smooth_l1 = torch.nn.functional.smooth_l1_loss
    pred = torch.tensor([[51.0, 49.0, 38.0, 17.0, boundary]])
    if not edge_swap:
        assert float(jump[0, 4]) == pytest.approx(math.pi, abs=1e-2)  # da: +pi/2 -> -pi/2
    else:
        assert float(jump[0, 4]) == pytest.approx(math.pi / 2, abs=1e-2)  # da: +pi/4 -> -pi/4 ...
        assert float(jump[0, 2]) == pytest.approx(math.log(2.0), abs=1e-4)  # ... and w, h exchange
    # the smooth-L1 loss of the prediction's deltas jumps with the target
    d_pred = coder.encode(anchor, pred)
    l_below = smooth_l1(d_pred, coder.encode(anchor, below), beta=1 / 9, reduction='sum')
    l_above = smooth_l1(d_pred, coder.encode(anchor, above), beta=1 / 9, reduction='sum')
    assert abs(float(l_above - l_below)) > 0.5
    for loss in (GWDLoss(), KLDLoss(), GWDLoss(fun='sqrt', tau=2.0, normalize=False)):
        lb, la = float(loss(pred, below)), float(loss(pred, above))
        assert abs(la - lb) < 1e-2 * max(lb, 1e-3) + 1e-5, (type(loss).__name__, lb, la)
        assert lb > 1e-4  # not a trivially zero loss
