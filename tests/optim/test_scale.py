"""Body size from a clip (humokit.optim.scale): heights of short and tall bodies from synthetic tracks."""

from __future__ import annotations

import math

import numpy as np
import pytest

from humokit.motion.builtin import builtin_motion
from humokit.motion.skeleton import default_skeleton
from humokit.optim.fit import FitConfig, fit_track
from humokit.optim.scale import BodyFamily, SizeCue, combine_cues, estimate_body_size, metric_landmark_height, stature
from humokit.render.camera import look_at

from ._synth import synthetic_track

FAST = dict(iters_pose=60, iters_contact=40, iters_refine=20)


def _body(height: float, seconds: float = 1.0):
    """A walk on the canonical skeleton scaled to ``height`` metres (root path scaled alike)."""
    m = builtin_motion("walk", seconds=seconds, fps=30)
    k = height / stature(m.skeleton)
    return m.replace(skeleton=m.skeleton.scaled(k), root_position=m.root_position * k)


def _camera(motion, cam_height=1.4):
    root = motion.joints()[:, 0]
    target = root.mean(0)
    eye = np.array([target[0] + 2.5, cam_height, target[2] + 4.0])
    fov = 2 * math.degrees(math.atan(0.5 * 480 / 640))  # focal = max(w, h), the fit's default
    return look_at(eye, target, fov_y=fov, width=640, height=480)


def test_combine_cues_is_a_product_of_gaussians():
    h, s = combine_cues([SizeCue("a", 1.6, 0.1), SizeCue("b", 1.8, 0.1)])
    assert h == pytest.approx(math.sqrt(1.6 * 1.8)) and s == pytest.approx(0.1 / math.sqrt(2))
    h, _ = combine_cues([SizeCue("a", 1.6, 0.01), SizeCue("b", 1.8, 1.0)])
    assert abs(h - 1.6) < 0.001


def test_plain_family_gives_the_asked_height():
    fam = BodyFamily(default_skeleton())
    for h in (1.5, 1.9):
        sk, ph = fam.at(h)
        assert stature(sk) == pytest.approx(h, rel=1e-6) and ph is None


@pytest.mark.parametrize("height", [1.5, 1.9])
def test_metric_landmarks_give_the_height(height):
    gt = _body(height)
    track = synthetic_track(gt, _camera(gt), world_noise=0.02)
    fam = BodyFamily(default_skeleton())
    assert metric_landmark_height(track.world, track.confidence, track.names, fam) == pytest.approx(height, rel=0.02)
    # a trusted metric source outweighs the population prior; a loose one is pulled towards 1.70 m
    tight = estimate_body_size(track.world, track.confidence, track.names, fam, sigma_3d=0.01)
    assert tight.height == pytest.approx(height, rel=0.03)
    loose = estimate_body_size(track.world, track.confidence, track.names, fam, sigma_3d=0.5)
    assert abs(loose.height - 1.70) < abs(height - 1.70) * 0.2
    assert [c.name for c in tight.cues] == ["detector 3D", "height prior"]


@pytest.mark.parametrize("height", [1.5, 1.9])
def test_known_camera_height_fixes_the_scale(height):
    """Ground plane + camera height: the body's height and the world path come out within 3 %."""
    gt = _body(height, seconds=1.5)
    cam = _camera(gt, cam_height=1.4)
    track = synthetic_track(gt, cam, world_noise=0.02)
    # the detector's 3D says nothing about size here (a loose tolerance): the camera height does it all
    res = fit_track(track, skeleton=default_skeleton(),
                    config=FitConfig(camera_height=1.4, size_sigma_3d=1.0, **FAST), progress=False)
    assert stature(res.motion.skeleton) == pytest.approx(height, rel=0.03)
    assert res.size is not None and res.size.cues[-1].name == "camera height"
    P, G = res.motion.joints(), gt.joints()
    path = lambda J: np.linalg.norm(np.diff(J[::6, 0][:, [0, 2]], axis=0), axis=-1).sum()  # noqa: E731
    assert path(P) == pytest.approx(path(G), rel=0.05)
    assert float(res.camera.center[1]) == pytest.approx(1.4, abs=1e-6)


def test_size_estimate_sets_the_fitted_skeleton():
    gt = _body(1.9)
    track = synthetic_track(gt, _camera(gt), world_noise=0.01)
    res = fit_track(track, skeleton=default_skeleton(), config=FitConfig(size_sigma_3d=0.01, **FAST), progress=False)
    assert stature(res.motion.skeleton) == pytest.approx(1.9, rel=0.03)
    assert float(res.motion.meta["height_m"]) == pytest.approx(stature(res.motion.skeleton), abs=1e-3)
