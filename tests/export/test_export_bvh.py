"""BVH export of the canonical, Anny and Mixamo rigs: read back and compare joints frame by frame."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.body.anny import ANNY_JOINT_MAP
from humokit.export import MIXAMO_JOINT_MAP, expected_joints, export_motion
from humokit.motion.bvh import load_bvh
from humokit.motion.skeleton import JOINT_NAMES


def _read(path, names, unit_scale):
    clip = load_bvh(path, scale=unit_scale)
    idx = [clip.index(n) for n in names]
    return clip, clip.world_positions()[:, idx]


@pytest.mark.parametrize("unit,scale", [("cm", 0.01), ("m", 1.0)])
def test_canonical_bvh_round_trip(motion, tmp_path, unit, scale):
    path = export_motion(motion, tmp_path / "c.bvh", bvh_unit=unit)
    clip, got = _read(path, JOINT_NAMES, scale)
    assert clip.num_frames == motion.num_frames
    assert clip.fps == pytest.approx(motion.fps, rel=1e-6)
    assert all(clip.euler_order(clip.index(n)) == "ZXY" for n in JOINT_NAMES)
    np.testing.assert_allclose(clip.offsets[[clip.index(n) for n in JOINT_NAMES]][1:],
                               motion.skeleton.offsets[1:], atol=1e-6)  # fmt: skip
    assert np.abs(got - motion.joints()).max() < 1e-3


def test_canonical_bvh_with_independent_reader(motion, tmp_path):
    """bvhio (a third-party parser) sees the same joint positions."""
    bvhio = pytest.importorskip("bvhio")
    path = export_motion(motion, tmp_path / "c.bvh")
    root = bvhio.readAsHierarchy(str(path))
    layout = {j.Name: j for j, _, _ in root.layout()}
    want = motion.joints()
    for f in (0, motion.num_frames // 2, motion.num_frames - 1):
        root.loadPose(f)
        got = np.array([tuple(layout[n].PositionWorld) for n in JOINT_NAMES]) * 1.0  # metres by default
        assert np.abs(got - want[f]).max() < 1e-3


@pytest.mark.anny
def test_anny_rig_bvh_uses_anny_skeleton_and_names(motion, anny_body, tmp_path):
    path = export_motion(motion, tmp_path / "a.bvh", rig="anny")
    names = tuple(ANNY_JOINT_MAP[j] for j in JOINT_NAMES)
    clip, got = _read(path, names, 1.0)
    rest = anny_body.rest()
    idx = [clip.index(n) for n in names]
    np.testing.assert_allclose(clip.offsets[idx][1:], rest.skeleton.offsets[1:], atol=1e-6)
    _, want = expected_joints(motion, format="bvh", rig="anny")
    np.testing.assert_allclose(want, anny_body.forward(motion).joints.numpy(), atol=1e-5)
    assert np.abs(got - want).max() < 1e-3


@pytest.mark.parametrize("prefix", [True, False])
def test_mixamo_bvh_names(motion, tmp_path, prefix):
    path = export_motion(motion, tmp_path / "m.bvh", rig="mixamo", mixamo_prefix=prefix)
    pre = "mixamorig:" if prefix else ""
    names = [pre + MIXAMO_JOINT_MAP[j] for j in JOINT_NAMES]
    clip, got = _read(path, names, 1.0)
    assert clip.names[0] == pre + "Hips"
    assert np.abs(got - motion.joints()).max() < 1e-3


def test_mixamo_rest_is_y_up_tpose_facing_z(motion):
    """Mixamo humanoids rest in a Y-up T-pose facing +Z with the left arm on +X, like humokit."""
    names, _ = expected_joints(motion, format="bvh", rig="mixamo")
    from humokit.export import prepare_export

    anim, _ = prepare_export(motion, rig="mixamo")
    rest = anim.rig.rest_positions()
    i = {n.removeprefix("mixamorig:"): k for k, n in enumerate(names)}
    assert rest[i["Head"], 1] > rest[i["Hips"], 1] > rest[i["LeftFoot"], 1]
    assert rest[i["LeftHand"], 0] > 0.5 and rest[i["RightHand"], 0] < -0.5
    assert rest[i["LeftToeBase"], 2] > rest[i["LeftFoot"], 2]
