"""FBX through headless Blender, and Blender re-importing our GLB and BVH (skipped without ``bpy``)."""

from __future__ import annotations

import numpy as np
import pytest

from humokit.export import expected_joints, export_motion, has_blender

pytestmark = [
    pytest.mark.anny,
    pytest.mark.skipif(not has_blender(), reason="Blender's 'bpy' module missing: pip install 'humokit[blender]' (bpy==4.2.*, Python 3.11)"),
]


def _blender_joints(report, names):
    idx = [report["pose_names"].index(n) for n in names]
    return np.asarray(report["positions"])[:, idx]


@pytest.fixture(scope="module")
def fbx_report(motion, anny_body, tmp_path_factory):
    from humokit.export.blender import inspect_in_blender

    path = export_motion(motion, tmp_path_factory.mktemp("fbx") / "m.fbx", body=anny_body, rig="mixamo")
    return inspect_in_blender(path)


def test_fbx_reimports_with_bones_frames_and_fps(fbx_report, motion):
    r = fbx_report
    assert len(r["names"]) == 22
    assert r["frame_end"] - r["frame_start"] + 1 == motion.num_frames
    assert r["fps"] == pytest.approx(motion.fps, rel=1e-6)
    assert r["num_meshes"] == 1 and r["num_vertices"] == 13718


def test_fbx_joint_positions_every_frame(fbx_report, motion):
    names, want = expected_joints(motion, format="fbx", rig="mixamo")
    got = _blender_joints(fbx_report, names)
    assert got.shape == want.shape
    assert np.abs(got - want).max() < 1e-3


@pytest.mark.parametrize("fmt", ["glb", "bvh"])
def test_blender_reads_our_files(motion, tmp_path, fmt):
    from humokit.export.blender import inspect_in_blender

    path = export_motion(motion, tmp_path / f"m.{fmt}", rig="anny")
    r = inspect_in_blender(path, fps=motion.fps if fmt == "glb" else None)
    names, want = expected_joints(motion, format=fmt, rig="anny")
    assert r["frame_end"] - r["frame_start"] + 1 == motion.num_frames
    assert r["fps"] == pytest.approx(motion.fps, rel=1e-5)
    assert np.abs(_blender_joints(r, names) - want).max() < 1e-3
