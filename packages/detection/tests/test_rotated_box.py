"""Polygon <-> (cx, cy, w, h, angle) in the le90 convention: hand-computed cases, both round trips, the boundary."""
import math

import cv2
import numpy as np
import pytest
import torch

from tessera_detection.structures import check_rboxes, poly2rbox, rbox2poly, regularize_rboxes

S3 = math.sqrt(3)


def _same_corners(p, q, tol=1e-9):
    """Two polygons have the same four corners, in the same cyclic order or its reverse."""
    p, q = np.asarray(p).reshape(4, 2), np.asarray(q).reshape(4, 2)
    for seq in (q, q[::-1]):
        for k in range(4):
            if np.allclose(p, np.roll(seq, k, axis=0), atol=tol):
                return True
    return False


@pytest.mark.parametrize('poly, rbox', [
    # upright 4 x 2 rectangle
    ([0, 0, 4, 0, 4, 2, 0, 2], [2, 1, 4, 2, 0]),
    # the same box standing (2 wide, 4 high): long edge vertical -> angle -pi/2, never +pi/2
    ([0, 0, 2, 0, 2, 4, 0, 4], [1, 2, 4, 2, -math.pi / 2]),
    # 4 x 2 turned by +30 degrees (clockwise on the screen) about (10, 10):
    # u = (cos30, sin30), long-side half vector a = 2u = (sqrt3, 1), b = 1 * (-sin30, cos30) = (-1/2, sqrt3/2)
    ([10 - S3 + .5, 10 - 1 - S3 / 2, 10 + S3 + .5, 10 + 1 - S3 / 2,
      10 + S3 - .5, 10 + 1 + S3 / 2, 10 - S3 - .5, 10 - 1 + S3 / 2], [10, 10, 4, 2, math.pi / 6]),
    # turned by -30 degrees (counter-clockwise): angle -pi/6
    ([10 - S3 - .5, 10 + 1 - S3 / 2, 10 + S3 - .5, 10 - 1 - S3 / 2,
      10 + S3 + .5, 10 - 1 + S3 / 2, 10 - S3 + .5, 10 + 1 + S3 / 2], [10, 10, 4, 2, -math.pi / 6]),
    # a 6 x 2 box at 120 degrees is the same box as at -60 degrees: angle -pi/3
    (None, [5, 7, 6, 2, -math.pi / 3]),
])
def test_hand_computed_cases(poly, rbox):
    if poly is None:  # build it from the 120 degree description, which le90 must fold back
        t = 2 * math.pi / 3
        a, b = 3 * np.array([math.cos(t), math.sin(t)]), np.array([-math.sin(t), math.cos(t)])
        c = np.array([5., 7.])
        poly = np.concatenate([c - a - b, c + a - b, c + a + b, c - a + b])
    np.testing.assert_allclose(poly2rbox(np.array(poly, float)), rbox, atol=1e-12)
    assert _same_corners(rbox2poly(np.array(rbox, float)), poly)


def test_corner_order_is_clockwise_on_the_screen_from_top_left():
    poly = rbox2poly(np.array([2., 1., 4., 2., 0.]))
    np.testing.assert_allclose(poly, [0, 0, 4, 0, 4, 2, 0, 2])
    x, y = poly[0::2], poly[1::2]
    # shoelace with y down: positive = clockwise on the screen
    assert 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y) == pytest.approx(8.0)


def test_round_trip_rbox_poly_rbox_on_random_boxes():
    rng = np.random.RandomState(0)
    n = 2000
    w = rng.uniform(1, 300, n)
    h = w * rng.uniform(0.05, 0.999, n)  # w > h strictly: no square ambiguity
    boxes = np.stack([rng.uniform(0, 1000, n), rng.uniform(0, 1000, n), w, h,
                      rng.uniform(-math.pi / 2, math.pi / 2, n)], axis=1)
    check_rboxes(boxes)
    np.testing.assert_allclose(poly2rbox(rbox2poly(boxes)), boxes, atol=1e-8, rtol=0)


def test_round_trip_poly_rbox_poly_whatever_the_corner_order():
    rng = np.random.RandomState(1)
    boxes = np.stack([rng.uniform(0, 500, 200), rng.uniform(0, 500, 200), rng.uniform(20, 60, 200),
                      rng.uniform(1, 19, 200), rng.uniform(-4, 4, 200)], axis=1)  # any angle, any side order
    polys = rbox2poly(boxes).reshape(-1, 4, 2)
    for k, p in enumerate(polys):
        start, reverse = k % 4, k % 3 == 0  # DOTA files start anywhere and may run either way
        q = np.roll(p[::-1] if reverse else p, start, axis=0).ravel()
        back = rbox2poly(poly2rbox(q))
        assert _same_corners(back, q, tol=1e-8), k


def test_squares_keep_a_valid_angle_and_their_corners():
    for t in np.linspace(-3, 3, 13):
        r = regularize_rboxes(np.array([0., 0., 5., 5., t]))
        check_rboxes(r[None])
        assert _same_corners(rbox2poly(r), rbox2poly(np.array([0., 0., 5., 5., t])), tol=1e-9)
        np.testing.assert_allclose(regularize_rboxes(r), r)  # idempotent, unlike mmrotate's square swap


def test_regularize_at_the_boundary():
    half = math.pi / 2
    # +pi/2 is the same box as -pi/2 and the convention keeps the left end of [-pi/2, pi/2)
    np.testing.assert_allclose(regularize_rboxes(np.array([0, 0, 4, 2, half])), [0, 0, 4, 2, -half])
    np.testing.assert_allclose(regularize_rboxes(np.array([0, 0, 4, 2, -half])), [0, 0, 4, 2, -half])
    # just inside both ends stays; just past the right end wraps to just past the left end
    np.testing.assert_allclose(regularize_rboxes(np.array([0, 0, 4, 2, half - 1e-6])), [0, 0, 4, 2, half - 1e-6])
    np.testing.assert_allclose(regularize_rboxes(np.array([0, 0, 4, 2, half + 1e-6])),
                               [0, 0, 4, 2, -half + 1e-6], atol=1e-12)
    # w < h: sides swap and the angle turns by 90 degrees
    np.testing.assert_allclose(regularize_rboxes(np.array([0, 0, 2, 4, 0.3])), [0, 0, 4, 2, 0.3 - half])
    # angle and angle + pi, and any number of turns, give the same box
    for k in (-3, -1, 1, 2, 5):
        np.testing.assert_allclose(regularize_rboxes(np.array([1, 2, 4, 2, 0.4 + k * math.pi])),
                                   [1, 2, 4, 2, 0.4], atol=1e-12)
    # two nearly identical boxes on either side of the boundary: far apart as angles, the same corners
    a, b = np.array([0, 0, 4, 2, half - 1e-7]), np.array([0, 0, 4, 2, -half + 1e-7])
    assert abs(a[4] - b[4]) > 3.14
    np.testing.assert_allclose(np.sort(rbox2poly(a).reshape(4, 2), 0), np.sort(rbox2poly(b).reshape(4, 2), 0),
                               atol=1e-6)


def test_poly2rbox_is_the_minimum_area_rectangle_of_cv2():
    rng = np.random.RandomState(2)
    base = np.stack([rng.uniform(50, 450, 300), rng.uniform(50, 450, 300), rng.uniform(20, 80, 300),
                     rng.uniform(5, 19, 300), rng.uniform(-1.5, 1.5, 300)], axis=1)
    quads = rbox2poly(base) + rng.uniform(-1.5, 1.5, (300, 8))  # hand-drawn, not quite rectangles
    ours = poly2rbox(quads)
    same = 0
    for q, r in zip(quads, ours):
        (cx, cy), (w, h), a = cv2.minAreaRect(q.reshape(4, 2).astype(np.float32))
        # the same area (the rectangle itself can differ where two hull edges give nearly equal areas)
        assert r[2] * r[3] == pytest.approx(w * h, rel=1e-5)
        ref = regularize_rboxes(np.array([cx, cy, w, h, math.radians(a)]))
        if abs(math.remainder(r[4] - ref[4], math.pi)) < 1e-3:  # on the same hull edge: the same rectangle
            np.testing.assert_allclose(r[:4], ref[:4], atol=2e-3)
            same += 1
        # and it encloses all four points
        u = np.array([math.cos(r[4]), math.sin(r[4])])
        v = np.array([-u[1], u[0]])
        d = q.reshape(4, 2) - r[:2]
        assert (np.abs(d @ u) <= r[2] / 2 + 1e-9).all() and (np.abs(d @ v) <= r[3] / 2 + 1e-9).all()
    assert same > 250


def test_torch_in_torch_out():
    boxes = torch.tensor([[2., 1., 4., 2., 0.], [1., 2., 4., 2., -math.pi / 2]], dtype=torch.float64)
    polys = rbox2poly(boxes)
    assert isinstance(polys, torch.Tensor) and polys.dtype == torch.float64 and polys.shape == (2, 8)
    back = poly2rbox(polys)
    assert isinstance(back, torch.Tensor)
    torch.testing.assert_close(back, boxes)


@pytest.mark.parametrize('poly, match', [
    ([0, 0, 4, 0, 4, 2], r'shape \(\.\.\., 8\)'),  # three points
    ([0, 0, 1, 1, 2, 2, 3, 3], 'zero-area'),  # collinear
    ([5, 5, 5, 5, 5, 5, 5, 5], 'zero-area'),  # one point
    ([0, 0, 4, 0, float('nan'), 2, 0, 2], 'not finite'),
])
def test_bad_polygons(poly, match):
    with pytest.raises(ValueError, match=match):
        poly2rbox(np.array(poly, float))


@pytest.mark.parametrize('box, match', [
    ([0, 0, 4, 2, math.pi / 2], r'outside \[-pi/2, pi/2\)'),
    ([0, 0, 4, 2, -2.0], r'outside \[-pi/2, pi/2\)'),
    ([0, 0, 2, 4, 0.0], 'w < h'),
    ([0, 0, 4, 0, 0.0], 'zero area'),
    ([0, 0, float('inf'), 2, 0.0], 'not finite'),
])
def test_check_rboxes_names_the_box_and_the_rule(box, match):
    with pytest.raises(ValueError, match=match):
        check_rboxes(np.array([[1, 1, 4, 2, 0.], box]))
    with pytest.raises(ValueError, match='box 1'):
        check_rboxes(np.array([[1, 1, 4, 2, 0.], box]))


def test_unknown_convention_lists_the_valid_ones():
    with pytest.raises(ValueError, match="unknown angle convention 'oc'.*le90"):
        poly2rbox(np.zeros(8), convention='oc')


def test_check_rboxes_bounds_follow_the_dtype():
    standing = regularize_rboxes(np.array([[0., 0., 4., 2., math.pi / 2]]))  # -> -pi/2
    check_rboxes(standing.astype(np.float32))  # float32(-pi/2) < -pi/2 in float64, still the left end
    check_rboxes(torch.tensor(standing, dtype=torch.float32))
    with pytest.raises(ValueError, match='outside'):
        check_rboxes(np.array([[0., 0., 4., 2., math.pi / 2]], np.float32))
    with pytest.raises(ValueError, match='outside'):
        check_rboxes(np.array([[0., 0., 4., 2., float(np.float32(-math.pi / 2))]]))  # float64: below -pi/2
