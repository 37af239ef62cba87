"""Camera pitch from foot contacts along a walking line; rotation-invariant 3D term helper."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from humokit.motion.skeleton import FOOT_JOINTS
from humokit.optim.camera_model import camera_rotation
from humokit.optim.contacts import FOOT_REST_HEIGHTS
from humokit.optim.fit import _aligning_rotation, refine_ground


def _R(pitch: float, roll: float) -> np.ndarray:
    return camera_rotation(torch.tensor(pitch, dtype=torch.float64), torch.tensor(roll, dtype=torch.float64)).numpy()


def _walk_seen_from(true_cam, guess_cam, heading_deg: float, T: int = 60):
    """Foot joints of a walk on the ground of ``true_cam``'s world, expressed in ``guess_cam``'s world."""
    h = math.radians(heading_deg)
    d = np.array([math.sin(h), 0.0, math.cos(h)])
    J = np.zeros((T, 22, 3))
    s = np.linspace(-2.0, 2.0, T)
    for k, j in enumerate(FOOT_JOINTS):
        side = 0.1 if k < 2 else -0.1  # left feet, right feet
        J[:, j] = np.array([0.0, 0.0, 6.0]) + s[:, None] * d + side * np.array([d[2], 0.0, -d[0]])
        J[:, j, 1] = FOOT_REST_HEIGHTS[k]
    Rt, Ct = _R(true_cam[0], true_cam[1]), np.array([0.0, true_cam[2], 0.0])
    Rg, Cg = _R(guess_cam[0], guess_cam[1]), np.array([0.0, guess_cam[2], 0.0])
    Xc = (J - Ct) @ Rt.T  # camera axes
    contacts = np.zeros((T, 4), dtype=bool)
    contacts[::2, :2] = True  # alternating stance
    contacts[1::2, 2:] = True
    return Xc @ Rg + Cg, contacts


@pytest.mark.parametrize("heading", [180.0, 150.0, 20.0])
def test_refine_ground_recovers_pitch_from_a_walk_in_depth(heading):
    true = (math.radians(22.0), math.radians(2.0), 3.2)
    guess = (math.radians(8.0), math.radians(2.0), 1.8)  # pitch biased low, as the detector's 3D gives
    J, contacts = _walk_seen_from(true, guess, heading)
    p, r, hgt = refine_ground(J, contacts, guess, 1.0)
    assert math.degrees(p) == pytest.approx(22.0, abs=1.0)
    assert math.degrees(r) == pytest.approx(2.0, abs=0.1)  # the roll (seen in the image) is kept
    assert hgt == pytest.approx(3.2, abs=0.1)
    # the old behaviour (smallest change of up) spends part of the correction on the roll when the walk is diagonal
    p_old, r_old, _ = refine_ground(J, contacts, guess, 1.0, keep_roll=False)
    assert abs(math.degrees(p_old) - 22.0) >= abs(math.degrees(p) - 22.0) - 1e-6


def test_refine_ground_keeps_pitch_for_a_walk_across_the_view():
    true = (math.radians(22.0), 0.0, 3.2)
    guess = (math.radians(8.0), 0.0, 1.8)
    J, contacts = _walk_seen_from(true, guess, 90.0)  # no depth change: the line says nothing about pitch
    p, r, _ = refine_ground(J, contacts, guess, 1.0)
    assert math.degrees(p) == pytest.approx(8.0, abs=0.5) and math.degrees(r) == pytest.approx(0.0, abs=0.5)


def test_aligning_rotation_recovers_a_tilt():
    rng = np.random.default_rng(1)
    src = torch.as_tensor(rng.normal(size=(5, 12, 3)), dtype=torch.float32)
    R = torch.as_tensor(_R(0.3, -0.2) @ _R(0.0, 0.0).T, dtype=torch.float32)
    w = torch.rand(5, 12)
    R_est = _aligning_rotation(src, src @ R.T, w)
    assert torch.allclose(R_est, R, atol=1e-4)


def test_image_still_feet_finds_the_planted_foot():
    from humokit.optim.contacts import image_still_feet

    names = ("nose", "left_ankle", "left_heel", "left_foot_index", "right_ankle", "right_heel", "right_foot_index")
    T, fps = 40, 30.0
    uv = np.zeros((T, len(names), 2))
    uv[:, 0] = [320.0, 100.0]  # head: the person is 300 px tall
    t = np.arange(T) / fps
    planted_left = (np.arange(T) // 10) % 2 == 0  # left foot planted on frames 0-9, 20-29; the right foot then swings
    x_left = np.cumsum(np.where(planted_left, 0.0, 12.0))  # a swinging foot moves 12 px/frame = 1.2 heights/s
    x_right = np.cumsum(np.where(planted_left, 12.0, 0.0))
    for k, dx in ((1, 0), (2, -5), (3, 15)):
        uv[:, k] = np.stack([300 + x_left + dx, 400 + 0 * t], 1)
    for k, dx in ((4, 0), (5, -5), (6, 15)):
        uv[:, k] = np.stack([340 + x_right + dx, 400 + 0 * t], 1)
    conf = np.ones((T, len(names)))
    still = image_still_feet(uv, conf, names, fps)
    inner = np.r_[2:8, 12:18, 22:28, 32:38]  # away from the switches (central differences straddle them)
    assert still.shape == (T, 4)
    assert (still[inner, 0] == planted_left[inner]).all() and (still[inner, 1] == planted_left[inner]).all()
    assert (still[inner, 2] == ~planted_left[inner]).all() and (still[inner, 3] == ~planted_left[inner]).all()
    # unseen feet are never taken as still
    conf[:, 4:] = 0.1
    assert not image_still_feet(uv, conf, names, fps)[:, 2:].any()
