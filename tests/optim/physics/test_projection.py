import numpy as np
import pytest
import torch

from humokit.optim.physics import physics_metrics, project, project_joints, project_motion

from ._motions import sliding, standing


def test_sunk_body_lifted_exactly():
    m = standing(lift=-0.05)
    fixed = project_motion(m)
    r = physics_metrics(fixed)
    assert r.penetrate == 0.0 and r.float == 0.0
    assert np.abs(fixed.joints() - standing().joints()).max() < 1e-3
    assert fixed.contacts is not None and fixed.contacts.all()


def test_skate_removed_and_clean_frames_untouched():
    m = sliding(T=50, per_frame=0.01, start=25)
    assert physics_metrics(m).skate > 4.0
    fixed = project_motion(m)
    r = physics_metrics(fixed)
    assert r.skate < 0.5 and r.penetrate < 0.5 and r.float < 0.5
    moved = np.linalg.norm(fixed.joints() - m.joints(), axis=-1).max(axis=1)
    assert moved[:25].max() < 1e-3  # frames before the slide had no violation


def test_projected_motion_matches_projected_joints_and_keeps_bones():
    m = sliding(T=30, per_frame=0.01, start=10)
    Y = project_joints(m.joints(), m.fps)
    fixed = project_motion(m)
    assert np.abs(fixed.joints() - Y).max() < 2e-3
    L = np.linalg.norm(Y[:, 7] - Y[:, 4], axis=-1)  # left shin
    assert np.ptp(L) < 1e-4


def test_differentiable_and_batched():
    m = sliding(T=20, per_frame=0.01)
    J = torch.tensor(np.stack([m.joints(), standing(T=20).joints()]), dtype=torch.float64, requires_grad=True)
    Y = project_joints(J, m.fps)
    assert Y.shape == J.shape
    Y[..., 1].sum().backward()
    assert J.grad is not None and torch.isfinite(J.grad).all() and J.grad.abs().sum() > 0
    assert isinstance(project(m.joints(), fps=30.0), np.ndarray)


def test_no_contact_only_lifts_with_warning():
    J = standing(lift=1.0).joints().astype(np.float64)
    J[:, :, 1] -= 1.5  # whole body through the ground, feet never still on it
    J[:, :, 0] += np.arange(len(J))[:, None] * 0.1
    Y, info = project_joints(J, 30.0, return_info=True)
    assert info.warnings and (Y[..., 1] - J[..., 1]).min() > 0.4


def test_feet_standing_on_their_toes_joint_keep_their_pitch():
    # feet pitched toe-down by 15 deg, toes on the floor: the heels are 2-3 cm up (inside the contact
    # band), which is how the training data's flat feet stand on the canonical skeleton; nothing is wrong,
    # so nothing may move
    from humokit.motion.rotations import axis_angle
    from humokit.optim.physics import sole_heights

    m = standing(T=30)
    R = m.rotations.copy()
    R[:, 7] = axis_angle("x", 15)
    R[:, 8] = axis_angle("x", 15)
    J = m.replace(rotations=R).joints().astype(np.float64)
    s = sole_heights(m.skeleton)
    J[..., 1] -= (J[:, [7, 10, 8, 11], 1] - s).min()
    heel = J[:, [7, 8], 1] - s[[0, 2]]
    assert 0.015 < heel.min() < 0.05
    Y = project_joints(J, 30.0)
    assert np.abs(Y - J).max() < 1e-3
    # flattening each contacting joint onto its rest sole height would pull the heels down
    assert np.abs(project_joints(J, 30.0, keep_pitch=False) - J).max() > 0.01


def test_bad_projection_settings_are_one_line_errors():
    from humokit.errors import InputError

    J = standing(T=10).joints()
    for kw in ({"max_slide": 0.0}, {"root_smooth": -0.1}):
        with pytest.raises(InputError, match="max_slide must be > 0"):
            project_joints(J, 30.0, **kw)
