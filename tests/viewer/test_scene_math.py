"""Pure viewer maths: bones reproduce humokit's LBS, contacts, cameras, timeline."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from humokit.body.skinning import linear_blend_skinning, skinning_transforms
from humokit.errors import InputError
from humokit.motion.rotations import axis_angle
from humokit.viewer._scene_math import (
    bone_segments,
    camera_preset,
    rotmat_to_wxyz,
    skinning_bones,
    timeline_frame,
    top4_weights,
)


def _quat_to_rotmat(q):
    w, x, y, z = q[..., 0], q[..., 1], q[..., 2], q[..., 3]
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)  # fmt: skip


def test_wxyz_roundtrip_and_order():
    R = axis_angle("z", 90.0)
    q = rotmat_to_wxyz(R)
    np.testing.assert_allclose(q, [np.sqrt(0.5), 0, 0, np.sqrt(0.5)], atol=1e-6)  # w first
    Rs = np.stack([axis_angle("x", a) @ axis_angle("y", 2 * a) for a in (10, 100, 170, -60)])
    np.testing.assert_allclose(_quat_to_rotmat(rotmat_to_wxyz(Rs)), Rs, atol=1e-6)


def test_client_skinning_bones_match_lbs():
    """three.js flat-bone skinning with our bind pose equals humokit's LBS."""
    rng = np.random.default_rng(0)
    J, V = 5, 40
    r = rng.normal(size=(J, 3))
    C = np.stack([axis_angle(rng.normal(size=3), rng.uniform(0, 90)) for _ in range(J)])
    Rw = np.stack([axis_angle(rng.normal(size=3), rng.uniform(0, 180)) for _ in range(2 * J)]).reshape(2, J, 3, 3)
    p = rng.normal(size=(2, J, 3))
    w = rng.uniform(size=(V, J))
    w /= w.sum(1, keepdims=True)
    v = rng.normal(size=(V, 3))
    A, b = skinning_transforms(torch.tensor(Rw), torch.tensor(p), torch.tensor(r), torch.tensor(C))
    ref = linear_blend_skinning(torch.tensor(v), torch.tensor(w), A, b).numpy()
    wxyz, pos = skinning_bones(Rw, p, C)
    Rb = _quat_to_rotmat(wxyz.astype(np.float64))
    # bind bones (I, r_j): T_t inv(T_bind) v = R_t (v - r_j) + p_t
    per_bone = np.einsum("tjab,vjb->tvja", Rb, v[:, None, :] - r[None]) + pos[:, None].astype(np.float64)
    got = np.einsum("vj,tvja->tva", w, per_bone)
    np.testing.assert_allclose(got, ref, atol=1e-5)


def test_top4_weights():
    w = np.array([[0.1, 0.2, 0.3, 0.15, 0.25, 0.0], [1, 0, 0, 0, 0, 0]], dtype=np.float64)
    t = top4_weights(w)
    assert (t[0] > 0).sum() == 4 and t[0, 0] == 0 and t[0, 5] == 0
    np.testing.assert_allclose(t.sum(1), 1.0, atol=1e-6)
    np.testing.assert_allclose(t[1], w[1])


def test_bone_segments_shape_and_values():
    j = np.arange(22 * 3, dtype=np.float32).reshape(22, 3)
    s = bone_segments(j)
    assert s.shape == (21, 2, 3)
    np.testing.assert_array_equal(s[0, 0], j[0])  # left_hip's parent is the pelvis
    np.testing.assert_array_equal(s[0, 1], j[1])
    assert bone_segments(np.zeros((7, 22, 3))).shape == (7, 21, 2, 3)


def test_camera_presets_look_at_points():
    pts = np.array([[-0.3, 0.0, -0.2], [0.3, 1.7, 0.2]])
    front = camera_preset("front", pts)
    np.testing.assert_allclose(front.look_at, [0, 0.85, 0])
    assert front.position[2] > 2.0 and abs(front.position[0]) < 1e-9  # in front: +Z
    assert camera_preset("side", pts).position[0] > 2.0
    assert camera_preset("top", pts).position[1] > 1.7 + 0.5  # above the points, all of them in view


@pytest.mark.parametrize("preset", ["front", "side", "top", "three_quarter"])
def test_presets_keep_every_point_in_view(preset):
    """Exact fit: a row of bodies seen end-on (side) keeps the nearest body's head in view."""
    rng = np.random.default_rng(0)
    body = rng.uniform([-0.3, 0.0, -0.15], [0.3, 1.8, 0.15], size=(300, 3))
    pts = np.concatenate([body + [x, 0.0, 0.0] for x in (0.0, 1.2, 2.4)])
    pose = camera_preset(preset, pts, fov_deg=50.0, margin=1.05)
    f = pose.look_at - pose.position
    f /= np.linalg.norm(f)
    helper = [0.0, 1.0, 0.0] if abs(f[1]) < 0.99 else [0.0, 0.0, -1.0]
    r = np.cross(f, helper)
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    d = pts - pose.position
    t = np.tan(np.deg2rad(25.0))
    assert (d @ f > 0).all()
    assert (np.abs(d @ u) / (d @ f) <= t + 1e-9).all() and (np.abs(d @ r) / (d @ f) <= t + 1e-9).all()
    with pytest.raises(InputError):
        camera_preset("back", pts)  # type: ignore[arg-type]


def test_timeline_frame_loop_and_clamp():
    assert timeline_frame(0.0, 30, 10, loop=True) == 0
    assert timeline_frame(0.5, 30, 10, loop=True) == 5
    assert timeline_frame(0.5, 30, 10, loop=False) == 9
    assert timeline_frame(1 / 30, 30, 10, loop=False) == 1
