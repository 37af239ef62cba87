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


def test_heading_loss_pulls_the_mean_facing_onto_the_path_and_keeps_the_swing():
    import torch

    from humokit.optim.heading import heading_loss, travel_direction, walking_weight

    m = _walk()
    J0 = m.joints()
    travel, walking = travel_direction(J0, m.fps)
    assert walking[10:-10].all()
    weight = walking_weight(walking, m.fps)
    args = [torch.as_tensor(x, dtype=torch.float64) for x in (travel, walking.astype(float), weight)]
    base = float(heading_loss(torch.as_tensor(J0, dtype=torch.float64), *args, m.fps))
    assert base < math.radians(2.0) ** 2  # the clean walk faces its path on average
    swing = 0.15 * np.sin(2 * math.pi * np.arange(m.num_frames) / 22)  # +-8.6 deg at the gait's period
    swung = float(heading_loss(torch.as_tensor(turn_root(m, swing).joints(), dtype=torch.float64), *args, m.fps))
    off = float(heading_loss(torch.as_tensor(turn_root(m, np.full(m.num_frames, math.radians(6.0))).joints(), dtype=torch.float64),
                             *args, m.fps))
    assert swung < 0.2 * off  # a swing about the path costs little, a turn off it the full square
    assert off == pytest.approx(math.radians(6.0) ** 2 * weight.mean(), rel=0.35)
    # gradient descent on a yaw offset turns the body back onto its path
    yaw = torch.tensor(math.radians(8.0), dtype=torch.float64, requires_grad=True)
    J = torch.as_tensor(J0, dtype=torch.float64)
    for _ in range(60):
        c, s = torch.cos(yaw), torch.sin(yaw)
        zero, one = torch.zeros((), dtype=torch.float64), torch.ones((), dtype=torch.float64)
        Ry = torch.stack([torch.stack([c, zero, s]), torch.stack([zero, one, zero]), torch.stack([-s, zero, c])])
        Jt = (J - J[:, :1]) @ Ry.T + J[:, :1]
        loss = heading_loss(Jt, *args, m.fps)
        (g,) = torch.autograd.grad(loss, yaw)
        yaw = (yaw - 0.5 * g / weight.mean()).detach().requires_grad_(True)
    assert abs(math.degrees(float(yaw))) < 2.0
    # a body standing still has no walking weight
    still = m.replace(root_position=np.repeat(m.root_position[:1], m.num_frames, 0))
    assert not walking_weight(travel_direction(still.joints(), m.fps)[1], m.fps).any()
