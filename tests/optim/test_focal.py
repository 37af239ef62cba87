"""Focal length from a person walking on flat ground (synthetic tracks with a known camera)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from humokit.motion.builtin import builtin_motion
from humokit.optim.focal import calibrate_walk, estimate_focal, walk_points
from humokit.render.camera import look_at

from ._synth import synthetic_track

W, H = 640, 480


def _camera(focal: float, eye: tuple[float, float, float], target: tuple[float, float, float]):
    fov = 2 * math.degrees(math.atan(0.5 * H / focal))
    return look_at(np.array(eye), np.array(target), fov_y=fov, width=W, height=H)


def _walk_track(focal: float, eye=(1.5, 3.2, 9.0), seed: int = 0):
    """The built-in walk (4.5 m along +Z towards the camera) seen from ``eye``, framed for ``focal``."""
    m = builtin_motion("walk", seconds=4, fps=20)
    cam = _camera(focal, eye, (0.0, 0.9, 2.3))
    return synthetic_track(m, cam, px_noise=1.0, seed=seed), cam


@pytest.mark.parametrize("factor", [0.7, 1.5])
def test_focal_of_a_walk_in_depth_is_recovered(factor):
    f_true = factor * max(W, H)
    track, cam = _walk_track(f_true)
    assert np.isfinite(track.uv[:, 0]).all() and (track.uv[..., 0] > 0).all() and (track.uv[..., 0] < W).all()
    est = estimate_focal(track)
    assert est.source == "walk"
    assert est.walk is not None and est.walk.focal == pytest.approx(f_true, rel=0.10)
    # with the field-of-view prior (which pulls towards max(w, h)), still far closer than the default
    assert est.focal == pytest.approx(f_true, rel=0.12)
    assert abs(math.log(est.focal / f_true)) < 0.4 * abs(math.log(max(W, H) / f_true))
    pitch_true = math.asin(-float(cam.R[2, 1]))
    assert est.walk.pitch == pytest.approx(pitch_true, abs=math.radians(3.0))


def test_focal_given_or_unconstrained_keeps_the_default():
    track, _ = _walk_track(640.0)
    assert estimate_focal(track, focal=900.0).focal == 900.0 and estimate_focal(track, focal=900.0).source == "given"
    # the same walk seen from the side: the person stays at one distance, nothing to measure
    side, _ = _walk_track(640.0, eye=(7.0, 1.6, 2.3))
    est = estimate_focal(side)
    assert est.source == "prior" and est.focal == pytest.approx(640.0)


def test_calibrate_walk_needs_a_walk_in_depth():
    foot = np.tile([[320.0, 400.0]], (30, 1))
    top = np.tile([[320.0, 250.0]], (30, 1))
    assert calibrate_walk(foot, top, np.ones(30), W, H) is None  # same image size throughout
    assert calibrate_walk(foot[:5], top[:5], np.ones(5), W, H) is None  # too few frames
    track, _ = _walk_track(640.0)
    F, P, w = walk_points(track)
    assert F.shape == (track.num_frames, 2) and (w >= 0).all() and (w <= 1).all()
