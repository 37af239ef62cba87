"""A walking body is turned to face its direction of travel; other motions are left alone."""

from __future__ import annotations

import math

import numpy as np
import pytest

from humokit.motion.builtin import builtin_motion
from humokit.optim.heading import facing, heading_correction, turn_root


def _walk():
    return builtin_motion("walk", seconds=4, fps=20)


def test_a_body_turned_off_its_path_is_turned_back():
    m = _walk()
    base = heading_correction(m.joints(), m.fps)
    assert np.abs(base).max() < math.radians(4.0)  # the clean walk already faces its path
    off = math.radians(9.0)
    turned = turn_root(m, np.full(m.num_frames, off))
    J = turned.joints()
    assert np.allclose(J[:, 0], m.joints()[:, 0], atol=1e-5)  # turned about the pelvis
    fix = heading_correction(J, m.fps)
    mid = slice(20, 60)
    assert np.median(fix[mid] - base[mid]) == pytest.approx(-off, abs=math.radians(1.0))
    back = turn_root(turned, fix)
    d = np.angle(np.exp(1j * (facing(back.joints()) - facing(m.joints()))))
    assert np.abs(np.median(d[mid])) < math.radians(1.5) + np.abs(np.median(base[mid]))


def test_standing_side_steps_and_backward_walks_are_not_turned():
    m = _walk()
    still = m.replace(root_position=np.repeat(m.root_position[:1], m.num_frames, 0))
    assert np.all(heading_correction(still.joints(), m.fps) == 0)
    for angle in (90.0, 180.0):  # facing across or against the travel: not a forward walk
        side = turn_root(m, np.full(m.num_frames, math.radians(angle)))
        assert np.abs(heading_correction(side.joints(), m.fps)).max() < 1e-9


def test_face_travel_turns_the_fit_back_onto_the_image():
    from humokit.optim.fit import FitResult, frame_quality
    from humokit.optim.recover import face_travel
    from humokit.render.camera import look_at

    from ._synth import synthetic_track

    m = _walk()
    cam = look_at(np.array([3.0, 1.8, 8.0]), np.array([0.0, 0.9, 2.3]), fov_y=45.0, width=640, height=480)
    track = synthetic_track(m, cam, px_noise=0.0, world_noise=0.0)
    off = turn_root(m, np.full(m.num_frames, math.radians(10.0)))  # a fit that faces 10 deg off its path
    err, conf = frame_quality(off, cam, track)
    fit = FitResult(off, cam, conf, err, 1.0)
    out = face_travel(fit, track, physics="none")
    assert out.motion is not off
    mid = slice(20, 60)
    assert np.nanmean(out.reprojection_error[mid]) < 0.6 * np.nanmean(err[mid])  # back onto the person
    assert np.allclose(out.motion.root_position, m.root_position)
    # a clip with no forward walk is returned as it is
    still = m.replace(root_position=np.repeat(m.root_position[:1], m.num_frames, 0))
    e2, c2 = frame_quality(still, cam, track)
    fit2 = FitResult(still, cam, c2, e2, 1.0)
    assert face_travel(fit2, track, physics="none") is fit2


def test_swing_loss_sees_the_pelvis_swing_not_its_heading():
    import torch

    from humokit.optim.heading import swing_loss

    m = _walk()
    T = m.num_frames

    def loss(motion):
        return float(swing_loss(torch.as_tensor(motion.joints(), dtype=torch.float64), m.fps))

    base = loss(m)
    assert base < math.radians(6.0) ** 2  # the walk's own pelvis swing, a few degrees
    assert loss(turn_root(m, np.full(T, math.radians(30.0)))) == pytest.approx(base, rel=1e-4)  # a turn is free
    slow = turn_root(m, np.linspace(0.0, math.radians(90.0), T))  # a walk turning 90 deg over 4 s
    assert loss(slow) < base + math.radians(1.0) ** 2
    amp = math.radians(12.0)
    swung = turn_root(m, amp * np.sin(2 * math.pi * np.arange(T) / 22))  # +-12 deg more at the gait's period
    assert loss(swung) > base + 0.3 * amp**2
