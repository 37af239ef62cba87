import numpy as np
import pytest
import roma
import torch

from humokit.motion.rotations import axis_angle, rotmat_to_rot6d, rot6d_to_rotmat, euler_to_rotmat
from humokit.motion.skeleton import (
    JOINT_NAMES,
    PARENTS,
    Skeleton,
    default_skeleton,
    forward_kinematics,
    inverse_kinematics,
)


def test_rest_pose_geometry():
    sk = default_skeleton()
    pos = sk.rest_positions()
    # T-pose: left wrist on +X, right on -X, head above pelvis, feet below
    assert pos[JOINT_NAMES.index("left_wrist"), 0] > 0.5
    assert pos[JOINT_NAMES.index("right_wrist"), 0] < -0.5
    assert pos[JOINT_NAMES.index("head"), 1] > pos[0, 1] + 0.5
    height = pos[:, 1].max() - pos[:, 1].min()
    assert 1.4 < height < 1.7  # head joint to toes of a ~1.7 m adult


def test_fk_hand_computed_elbow_bend():
    """Rotating the left elbow by 90 deg about +Y swings the forearm from +X to -Z."""
    offsets = default_skeleton().offsets
    R = torch.eye(3).repeat(1, 22, 1, 1)
    R[0, JOINT_NAMES.index("left_elbow")] = torch.from_numpy(axis_angle("y", 90)).float()
    pos, Rw = forward_kinematics(R, torch.zeros(1, 3), torch.from_numpy(offsets).float())
    e, w = JOINT_NAMES.index("left_elbow"), JOINT_NAMES.index("left_wrist")
    fore = offsets[w]  # rest forearm vector (mostly +X)
    expected = np.array([fore[2], fore[1], -fore[0]])  # R_y(90) @ fore
    np.testing.assert_allclose(pos[0, w] - pos[0, e], expected, atol=1e-6)
    # joints before the elbow did not move
    rest = torch.from_numpy(default_skeleton().rest_positions() - default_skeleton().rest_positions()[0]).float()
    np.testing.assert_allclose(pos[0, e], rest[e], atol=1e-6)
    np.testing.assert_allclose(Rw[0, w], axis_angle("y", 90), atol=1e-6)


def test_fk_root_translation_and_orientation():
    offsets = torch.from_numpy(default_skeleton().offsets)
    R = torch.eye(3, dtype=torch.float64).repeat(1, 22, 1, 1)
    R[0, 0] = torch.from_numpy(axis_angle("y", 180))
    pos, _ = forward_kinematics(R, torch.tensor([[1.0, 2.0, 3.0]], dtype=torch.float64), offsets)
    lw = pos[0, JOINT_NAMES.index("left_wrist")]
    # turned to face -Z: the left wrist is now on -X of the pelvis
    assert lw[0] < 1.0 - 0.5
    np.testing.assert_allclose(pos[0, 0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("batch", [(), (7,), (3, 5)])
def test_ik_of_fk_recovers_positions(batch):
    torch.manual_seed(0)
    offsets = torch.from_numpy(default_skeleton().offsets)
    R = roma.random_rotmat(batch + (22,), dtype=torch.float64)
    root = torch.randn(batch + (3,), dtype=torch.float64)
    pos, _ = forward_kinematics(R, root, offsets)
    R_ik, root_ik = inverse_kinematics(pos, offsets)
    pos2, _ = forward_kinematics(R_ik, root_ik, offsets)
    assert (pos2 - pos).norm(dim=-1).max() < 1e-3


def test_ik_gradient_flows():
    offsets = torch.from_numpy(default_skeleton().offsets).float()
    pos = torch.from_numpy(default_skeleton().rest_positions()).float().requires_grad_(True)
    R, _ = inverse_kinematics(pos + 0.01 * torch.randn(22, 3), offsets)
    R.sum().backward()
    assert torch.isfinite(pos.grad).all()


def test_rot6d_roundtrip_and_euler_bvh_order():
    R = roma.random_rotmat(10).numpy()
    np.testing.assert_allclose(rot6d_to_rotmat(rotmat_to_rot6d(R)), R, atol=1e-5)
    # intrinsic ZXY equals Rz @ Rx @ Ry
    a = np.deg2rad([30.0, -20.0, 45.0])
    Rz, Rx, Ry = axis_angle("z", 30), axis_angle("x", -20), axis_angle("y", 45)
    np.testing.assert_allclose(euler_to_rotmat(a, "ZXY"), Rz @ Rx @ Ry, atol=1e-6)


def test_bad_skeleton_is_rejected():
    from humokit.errors import InputError

    with pytest.raises(InputError):
        Skeleton(offsets=np.zeros((5, 3)))
    bad = default_skeleton().offsets.copy()
    bad[3, 1] = np.nan
    with pytest.raises(InputError, match="NaN"):
        Skeleton(offsets=bad)


def _fk_reference(R, root, offsets, parents):
    """Joint-by-joint forward kinematics written out (the definition the batched version must match)."""
    Rw, pos = [], []
    for j, p in enumerate(parents):
        if p < 0:
            Rw.append(R[..., j, :, :])
            pos.append(root)
        else:
            Rw.append(Rw[p] @ R[..., j, :, :])
            pos.append(pos[p] + (Rw[p] @ offsets[..., j, :, None])[..., 0])
    return torch.stack(pos, -2), torch.stack(Rw, -3)


@pytest.mark.parametrize("parents", [PARENTS, (-1, 0, 1, 2, 1, 0, 5), (-1, 0, -1, 2)])  # SMPL, a tree, two roots
def test_fk_by_tree_level_matches_joint_by_joint(parents):
    import roma

    g = torch.Generator().manual_seed(0)
    J = len(parents)
    R = roma.random_rotmat((2, 5, J), generator=g).double()
    root = torch.randn(2, 5, 3, generator=g, dtype=torch.float64)
    for offsets in (torch.randn(J, 3, generator=g, dtype=torch.float64),
                    torch.randn(2, 5, J, 3, generator=g, dtype=torch.float64)):  # shared or per-frame bones
        pos, Rw = forward_kinematics(R, root, offsets, parents)
        ref_pos, ref_R = _fk_reference(R, root, offsets, parents)
        torch.testing.assert_close(pos, ref_pos)
        torch.testing.assert_close(Rw, ref_R)
    # gradients reach every joint's rotation
    Rg = R.clone().requires_grad_(True)
    forward_kinematics(Rg, root, offsets, parents)[0].sum().backward()
    has_child = [j for j in range(J) if j in parents]
    assert torch.isfinite(Rg.grad).all() and (Rg.grad[..., has_child, :, :].abs().sum((-1, -2)) > 0).all()
