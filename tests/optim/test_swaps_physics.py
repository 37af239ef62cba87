"""Left/right swap repair of keypoint tracks, visibility weights, and the physics step of recovery."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
import roma
import torch

from humokit.errors import InputError
from humokit.motion.rotations import axis_angle
from humokit.motion.builtin import builtin_motion
from humokit.optim.fit import FitConfig, fit_track, visibility_weight
from humokit.optim.metrics import foot_skate
from humokit.optim.priors import GaussianPosePrior, unseen_pose_loss
from humokit.optim.recover import apply_physics
from humokit.optim.track import SWAP_GROUPS, fix_swaps, swap_states
from humokit.render.camera import look_at

from ._synth import synthetic_track


def _camera(motion, eye_offset=(3.0, 0.8, 4.5), width=640, height=480):
    target = motion.joints()[:, 0].mean(0)
    fov = 2 * np.degrees(np.arctan(0.5 * height / max(width, height)))
    return look_at(target + np.array(eye_offset), target, fov_y=fov, width=width, height=height)


def _swap(track, frames, parts):
    uv, conf, world = track.uv.copy(), track.confidence.copy(), track.world.copy()
    for p in parts:
        a, b = track.index(f"left_{p}"), track.index(f"right_{p}")
        for arr in (uv, conf, world):
            arr[frames, a], arr[frames, b] = arr[frames, b].copy(), arr[frames, a].copy()
    return replace(track, uv=uv, confidence=conf, world=world)


def test_swap_states_finds_isolated_swaps():
    T = 30
    x = np.zeros((T, 2, 1))
    x[:, 0, 0] = 1.0 + 0.01 * np.arange(T)  # left limb drifts slowly
    x[:, 1, 0] = -1.0
    x[[5, 17, 18], 0], x[[5, 17, 18], 1] = x[[5, 17, 18], 1].copy(), x[[5, 17, 18], 0].copy()
    states = swap_states(x, np.ones((T, 2)), [(0, 1)], tolerance=0.1)
    assert np.flatnonzero(states).tolist() == [5, 17, 18]
    # no evidence (the two limbs coincide): keep the labels
    same = np.zeros((T, 2, 1))
    assert not swap_states(same, np.ones((T, 2)), [(0, 1)], tolerance=0.1).any()


@pytest.mark.parametrize("eye", [(3.0, 0.8, 4.5), (0.0, 1.0, -5.0)])  # front-side and from behind
def test_fix_swaps_undoes_per_frame_limb_swaps(eye):
    gt = builtin_motion("walk", seconds=2.0, fps=30)
    track = synthetic_track(gt, _camera(gt, eye), px_noise=1.0, world_noise=0.02)
    bad = _swap(_swap(track, [10, 11, 12, 40], SWAP_GROUPS["legs"]), [20, 33], SWAP_GROUPS["arms"])
    assert not np.allclose(np.nan_to_num(bad.uv), np.nan_to_num(track.uv))
    fixed = fix_swaps(bad)
    np.testing.assert_array_equal(np.nan_to_num(fixed.uv), np.nan_to_num(track.uv))
    np.testing.assert_array_equal(np.nan_to_num(fixed.world), np.nan_to_num(track.world))
    np.testing.assert_array_equal(fixed.confidence, track.confidence)


def test_fix_swaps_keeps_a_clean_track():
    gt = builtin_motion("walk", seconds=2.0, fps=30)
    for eye in ((4.5, 0.5, 0.0), (3.0, 0.8, 4.5)):  # side view: the legs cross in 2D every step
        track = synthetic_track(gt, _camera(gt, eye), px_noise=1.5, world_noise=0.03, seed=3)
        fixed = fix_swaps(track)
        np.testing.assert_array_equal(np.nan_to_num(fixed.uv), np.nan_to_num(track.uv))


def test_visibility_weight_band():
    c = np.array([0.0, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0])
    w = visibility_weight(c, (0.3, 0.7))
    assert w[0] == w[1] == w[2] == 0.0 and w[4] == w[5] == w[6] == 1.0
    assert 0.4 < w[3] < 0.6 and np.all(np.diff(w) >= 0)


def test_apply_physics_locks_feet_and_keeps_contacts():
    gt = builtin_motion("walk", seconds=2.0, fps=30)
    track = synthetic_track(gt, _camera(gt), px_noise=2.0, world_noise=0.03)
    fit = fit_track(track, skeleton=gt.skeleton, config=FitConfig(iters_pose=40, iters_contact=40), progress=False)
    m = fit.motion
    out = apply_physics(m, "kinematic")
    assert out.num_frames == m.num_frames
    np.testing.assert_array_equal(out.contacts, m.contacts)  # the fit's contacts are kept
    sole = m.skeleton.sole_heights()
    before, after = foot_skate(m.joints(), sole), foot_skate(out.joints(), sole)
    assert before > 2.0 and after < 0.5 * before and after < 3.0
    # nothing under the ground, and the pose barely changes
    assert out.joints()[:, [7, 8, 10, 11], 1].min() - sole.min() > -0.01
    assert np.linalg.norm(out.joints() - m.joints(), axis=-1).mean() < 0.03
    assert apply_physics(m, "none") is m
    with pytest.raises(InputError):
        apply_physics(m, "simulate")  # type: ignore[arg-type]


def test_unseen_pose_loss_weights_by_occlusion():
    g = GaussianPosePrior()
    T = 4
    R = torch.as_tensor(np.broadcast_to(np.eye(3), (T, 22, 3, 3)).copy(), dtype=torch.float32)
    joints = [16, 18]
    R[:, joints] = roma.rotvec_to_rotmat(g.mean[joints])  # at the prior's mean: no loss whatever the occlusion
    assert float(unseen_pose_loss(R, torch.ones(T, 2), joints, g.mean, g.std)) < 1e-8
    R[:, 16] = torch.as_tensor(axis_angle("z", 90.0), dtype=torch.float32)  # arm raised
    seen = float(unseen_pose_loss(R, torch.zeros(T, 2), joints, g.mean, g.std))
    half = float(unseen_pose_loss(R, torch.full((T, 2), 0.5), joints, g.mean, g.std))
    full = float(unseen_pose_loss(R, torch.ones(T, 2), joints, g.mean, g.std))
    assert seen == 0.0 and full > 1.0 and abs(half - 0.5 * full) < 1e-5 * full


def test_joint_limit_loss_penalises_only_impossible_bends():
    from humokit.motion.skeleton import JOINT_NAMES
    from humokit.optim.priors import joint_limit_loss

    j = {n: i for i, n in enumerate(JOINT_NAMES)}

    def loss(**rotvecs):
        rv = torch.zeros(3, 22, 3)
        for name, v in rotvecs.items():
            rv[:, j[name]] = torch.tensor(v)
        R = roma.rotvec_to_rotmat(rv)
        out = float(joint_limit_loss(R))
        torch.testing.assert_close(torch.tensor(out), joint_limit_loss(R, rotvec=rv))  # given axis-angle: same value
        return out

    assert loss() == 0.0
    assert loss(left_knee=[1.5, 0.0, 0.0], right_knee=[0.5, 0.1, -0.1]) == 0.0  # knees bend back, a little twist
    assert loss(left_elbow=[0.0, -1.5, 0.0], right_elbow=[0.0, 1.5, 0.2]) == 0.0  # elbows bend forward
    assert loss(left_knee=[-0.55, 0.0, 0.0]) == pytest.approx(0.25, rel=1e-4)  # hyperextended by 0.5 rad
    assert loss(right_knee=[0.0, 0.7, 0.0]) == pytest.approx(0.5 * 0.25, rel=1e-4)  # sideways: half weight
    assert loss(left_elbow=[0.0, 0.55, 0.0]) == pytest.approx(0.25, rel=1e-4)  # left elbow bent backwards
    assert loss(right_elbow=[0.0, 0.55, 0.0]) == 0.0  # the same turn is a right elbow's flexion
    assert loss(spine2=[0.0, 0.0, 0.7]) == pytest.approx(0.04, rel=1e-3)  # twisted 0.2 rad past 0.5
