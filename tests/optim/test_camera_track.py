"""Camera model (project/unproject, gravity parametrisation), translation solve, cleaning, landmarks."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from humokit.motion.skeleton import default_skeleton
from humokit.optim.camera_model import (camera_rotation, intrinsics_matrix, make_camera, pitch_roll_from_up,
                                        project_torch, solve_translation)
from humokit.optim.landmarks import MARKERS, joints_from_landmarks
from humokit.optim.track import fill_gaps, one_euro
from humokit.render.camera import project, unproject


@pytest.mark.parametrize("pitch,roll", [(0.0, 0.0), (0.3, -0.1), (-0.2, 0.25)])
def test_camera_projects_and_unprojects_consistently(pitch, roll):
    K = intrinsics_matrix(640, 480, 700.0)
    cam = make_camera(K, pitch, roll, np.array([0.3, 1.5, -0.2]), 640, 480)
    rng = np.random.default_rng(0)
    X = cam.center + (rng.uniform(-1, 1, (50, 3)) + [0, 0, 4]) @ cam.R  # points in front of the camera
    uv, z = project(cam, X)
    assert (z > 0).all()
    assert np.allclose(unproject(cam, uv, z), X, atol=1e-9)
    # the differentiable projection used by the fitter agrees with render.camera.project
    uv_t = project_torch(torch.as_tensor(X), torch.as_tensor(cam.R), torch.as_tensor(cam.center), torch.as_tensor(K))
    assert np.allclose(uv_t.numpy(), uv, atol=1e-6)
    # gravity parametrisation round-trips: world up seen in the camera -> pitch, roll
    up_cam = cam.R @ np.array([0.0, 1.0, 0.0])
    p2, r2 = pitch_roll_from_up(up_cam)
    assert p2 == pytest.approx(pitch, abs=1e-9) and r2 == pytest.approx(roll, abs=1e-9)
    # positive pitch looks down: a point on the optical axis ahead is below the camera
    fwd = cam.R[2]
    assert np.sign(-fwd[1]) == np.sign(pitch) or pitch == 0.0
    R = camera_rotation(torch.tensor(pitch, dtype=torch.float64), torch.tensor(roll, dtype=torch.float64)).numpy()
    assert np.allclose(R @ R.T, np.eye(3)) and np.linalg.det(R) == pytest.approx(1.0)


def test_solve_translation_recovers_depth():
    K = intrinsics_matrix(640, 480)
    rng = np.random.default_rng(1)
    P = rng.normal(scale=0.3, size=(3, 20, 3))
    tau = np.array([[0.2, -0.1, 4.0], [0.0, 0.3, 6.0], [-0.5, 0.0, 3.0]])
    Xc = P + tau[:, None]
    uv = (Xc @ K.T)[..., :2] / Xc[..., 2:3]
    est = solve_translation(P, uv, np.ones((3, 20)), K)
    assert np.allclose(est, tau, atol=1e-6)


def test_one_euro_removes_jitter_but_keeps_fast_motion():
    fps = 30.0
    t = np.arange(90) / fps
    rng = np.random.default_rng(0)
    slow = np.zeros_like(t)
    fast = np.where(t > 1.5, 1.0, 0.0)  # a 1-unit step (fast motion) between frames
    x = np.stack([slow, fast], axis=1)[..., None] + rng.normal(scale=0.01, size=(90, 2, 1))
    y = one_euro(x, np.ones((90, 2)), fps, min_cutoff=1.5, beta=0.7)
    assert np.abs(np.diff(y[:, 0, 0])).mean() < 0.5 * np.abs(np.diff(x[:, 0, 0])).mean()  # jitter reduced
    i = int(1.5 * fps)
    assert y[i + 3, 1, 0] > 0.8 and y[i - 3, 1, 0] < 0.2  # the step stays sharp (within 3 frames)
    # low-confidence outliers barely move the estimate
    w = np.ones((90, 2))
    x2 = x.copy()
    x2[40, 0, 0] = 5.0
    w[40, 0] = 0.0
    y2 = one_euro(x2, w, fps)
    assert abs(y2[40, 0, 0]) < 0.1


def test_fill_gaps_interpolates_and_lowers_weight():
    v = np.arange(10, dtype=float)[:, None, None].repeat(2, axis=1)
    w = np.ones((10, 2))
    v[3:6, 0] = np.nan
    w[3:6, 0] = 0.0
    out, w2 = fill_gaps(v, w)
    assert np.allclose(out[:, 0, 0], np.arange(10))
    assert (w2[3:6, 0] < 0.2).all() and (w2[:, 1] == 1).all()


def test_joints_from_landmarks_matches_rest_skeleton():
    skel = default_skeleton()
    rest = skel.rest_positions()
    names = [n for n in MARKERS]
    idx = {n: i for i, n in enumerate(skel.names)}
    P = np.array([[rest[idx[MARKERS[n][0]]] + MARKERS[n][1] for n in names]])
    J = joints_from_landmarks(P, names, skel)
    err = np.linalg.norm(J[0] - rest, axis=-1)
    assert err.max() < 0.06  # interpolated spine/neck/head/feet land near the real joints
    assert err[[1, 2, 4, 5, 7, 8, 16, 17, 18, 19, 20, 21]].max() < 1e-9  # measured joints are exact
