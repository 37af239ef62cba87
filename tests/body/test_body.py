import numpy as np
import pytest
import torch

from humokit.errors import InputError
from humokit.motion import Motion
from humokit.motion.builtin import builtin_motion
from humokit.motion.rotations import axis_angle
from humokit.motion.skeleton import JOINT_NAMES

LS, LE, LW = (JOINT_NAMES.index(n) for n in ("left_shoulder", "left_elbow", "left_wrist"))


def _angle_deg(a, b):
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    return np.degrees(np.arccos(np.clip(a @ b, -1, 1)))


def _hand_centroid(body, verts, side="left"):
    """Centroid of the vertices the wrist dominates (the hand) — measured on the mesh, not the skeleton."""
    labels = body.rest().part_labels()
    return verts[labels == JOINT_NAMES.index(f"{side}_wrist")].mean(0)


@pytest.mark.parametrize("axis, angle", [("z", -90), ("y", 90), ("y", -90), ("x", 90)])
def test_anny_shoulder_rotation_moves_hand_like_skeleton(anny_body, axis, angle):
    """A 90 deg shoulder rotation puts Anny's hand where the canonical skeleton puts the wrist (< 10 deg)."""
    m = Motion.rest(1)
    R = m.rotations.copy()
    R[0, LS] = axis_angle(axis, angle)
    m = m.replace(rotations=R)
    out = anny_body.forward(m)
    verts = out.vertices[0].numpy()
    J_canon = m.joints()[0]
    want = J_canon[LW] - J_canon[LS]
    shoulder = out.joints[0, LS].numpy()
    got = _hand_centroid(anny_body, verts) - shoulder
    assert _angle_deg(got, want) < 10.0
    # the right hand did not move
    rest_out = anny_body.forward(Motion.rest(1))
    r0 = _hand_centroid(anny_body, rest_out.vertices[0].numpy(), "right")
    r1 = _hand_centroid(anny_body, verts, "right")
    assert np.linalg.norm(r0 - r1) < 1e-4


def test_anny_rest_is_tpose_facing_z_on_ground(anny_body):
    out = anny_body.forward(Motion.rest(1))
    v = out.vertices[0].numpy()
    assert abs(v[:, 1].min()) < 0.03  # feet on the ground
    assert 1.45 < v[:, 1].max() < 1.95
    hand_l = _hand_centroid(anny_body, v, "left")
    assert hand_l[0] > 0.6 and abs(hand_l[1] - out.joints[0, LS, 1].item()) < 0.1  # arm out along +X
    # toes point +Z: the toe joints are in front of the ankles
    assert (out.joints[0, 10, 2] - out.joints[0, 7, 2]).item() > 0.05


def test_anny_walk_feet_stay_near_ground_and_shape_changes(anny_body):
    m = builtin_motion("walk", seconds=1.0, fps=20)
    out = anny_body.forward(m)
    low = out.vertices[..., 1].min(dim=1).values
    assert low.abs().max() < 0.06
    tall = anny_body.forward(m[:1], shape={"height": 1.0}).vertices[0, :, 1].max()
    short = anny_body.forward(m[:1], shape={"height": 0.0}).vertices[0, :, 1].max()
    assert tall - short > 0.2
    with pytest.raises(InputError, match="phenotype"):
        anny_body.forward(m[:1], shape={"heigth": 0.5})


def test_anny_forward_is_differentiable(anny_body):
    from humokit.body import pose_rest_body

    rest = anny_body.rest()
    R = torch.eye(3).repeat(2, 22, 1, 1).requires_grad_(True)
    root = torch.zeros(2, 3, requires_grad=True)
    out = pose_rest_body(rest, R, root)
    out.vertices[..., 1].mean().backward()
    assert torch.allclose(root.grad[:, 1], torch.full((2,), 0.5))
    assert torch.isfinite(R.grad).all() and R.grad.abs().sum() > 0


def test_smpl_format_file_loads_through_smplx(fake_smpl_dir):
    from humokit.body import create_body

    body = create_body("smpl", model_path=str(fake_smpl_dir))
    m = builtin_motion("walk", seconds=0.5, fps=20)
    out = body.forward(m)
    assert out.vertices.shape == (10, 6890, 3)
    assert out.faces.shape == (13776, 3)
    # the pelvis lands on the motion's root (root_scale from bone lengths)
    scale = body.root_scale_for(body.rest(), m)
    np.testing.assert_allclose(out.joints[:, 0].detach().numpy(), m.root_position * scale, atol=1e-4)
    # SMPL's regressed joints follow the canonical FK for the same rotations
    skel = body.rest().skeleton
    from humokit.motion.skeleton import forward_kinematics

    J, _ = forward_kinematics(torch.from_numpy(m.rotations), torch.from_numpy(m.root_position) * scale,
                              torch.from_numpy(skel.offsets).float())
    np.testing.assert_allclose(out.joints.detach().numpy(), J.numpy(), atol=1e-3)


def test_smpl_missing_files_error(tmp_path):
    from humokit.body import create_body

    with pytest.raises(InputError, match="no model file"):
        create_body("smpl", model_path=str(tmp_path))
