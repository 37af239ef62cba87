"""HumanML3D 263-d features: round trips, mirroring, mean/std."""

from __future__ import annotations

import numpy as np

from humokit.motion.features import (
    FEATURE_DIM,
    canonicalize,
    features_to_joints,
    joints_to_features,
    load_mean_std,
    mean_std,
    mirror_features,
    save_mean_std,
)
from humokit.motion.motion import Motion
from humokit.motion.rotations import axis_angle, rotvec_to_rotmat


def _walking_motion(T=60, seed=0) -> Motion:
    """A synthetic walk: swinging legs/arms, forward root motion along a curve."""
    rng = np.random.default_rng(seed)
    t = np.arange(T) / 20.0
    rv = np.zeros((T, 22, 3))
    rv[:, 1, 0] = 0.5 * np.sin(2 * np.pi * t)
    rv[:, 2, 0] = -0.5 * np.sin(2 * np.pi * t)
    rv[:, 4, 0] = 0.4 * (1 + np.sin(2 * np.pi * t))
    rv[:, 16, 2] = -1.2
    rv[:, 17, 2] = 1.2
    rv[:, 0, 1] = 0.3 * t + 0.7  # slow turn
    rv += rng.normal(scale=0.05, size=rv.shape)
    R = rotvec_to_rotmat(rv)
    root = np.stack([0.2 * t, 0.9 + 0.02 * np.sin(4 * np.pi * t), 1.2 * t], -1)
    return Motion(R, root, 20.0)


def test_shape_and_round_trip():
    J = _walking_motion().joints()
    F = joints_to_features(J)
    assert F.shape == (59, FEATURE_DIM) and F.dtype == np.float32
    P = features_to_joints(F)
    assert P.shape == (59, 22, 3)
    np.testing.assert_allclose(P, canonicalize(J)[:-1], atol=1e-4)
    full = features_to_joints(F, full=True)
    assert full.shape == (60, 22, 3)
    F2 = joints_to_features(full)
    assert np.abs(F2 - F).max() < 1e-4


def test_canonical_frame_faces_z_with_left_on_plus_x():
    C = canonicalize(_walking_motion().joints())
    assert abs(C[0, 0, 0]) < 1e-9 and abs(C[0, 0, 2]) < 1e-9
    assert abs(C[..., 1].min()) < 1e-9
    assert C[0, 1, 0] > C[0, 2, 0]  # left hip on +X
    across = C[0, 1] - C[0, 2]
    assert abs(across[2]) < 0.2 * abs(across[0])


def test_mirror_features_match_features_of_mirrored_motion():
    m = _walking_motion()
    F = joints_to_features(m.joints())
    Fm = joints_to_features(m.mirror().joints())
    assert np.abs(Fm - mirror_features(F)).max() < 1e-4
    assert np.abs(mirror_features(mirror_features(F)) - F).max() == 0
    assert np.abs(Fm - F).max() > 0.1  # the motion is not symmetric


def test_yaw_invariance():
    m = _walking_motion()
    Ry = axis_angle("y", 70).astype(np.float32)
    rotated = m.replace(
        rotations=np.concatenate([Ry @ m.rotations[:, :1], m.rotations[:, 1:]], axis=1),
        root_position=m.root_position @ Ry.T,
    )
    assert np.abs(joints_to_features(rotated.joints()) - joints_to_features(m.joints())).max() < 1e-4


def test_mean_std_groups(tmp_path):
    rng = np.random.default_rng(0)
    data = [rng.normal(size=(30, FEATURE_DIM)).astype(np.float32) * np.arange(1, FEATURE_DIM + 1) for _ in range(3)]
    mean, std = mean_std(data)
    assert mean.shape == std.shape == (FEATURE_DIM,)
    assert np.all(std[4:67] == std[4])  # one std per group
    assert std[4] != std[67]
    save_mean_std(tmp_path, mean, std)
    m2, s2 = load_mean_std(tmp_path)
    np.testing.assert_array_equal(m2, mean)
    np.testing.assert_array_equal(s2, std)
