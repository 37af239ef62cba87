"""FBX import through Blender: humokit -> FBX -> ``humokit import`` gives the same joints."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.motion.fbx import has_bpy
from rig_corpus import build_rig, reference_joints, rich_motion  # tests/motion is on sys.path

pytestmark = pytest.mark.skipif(not has_bpy(), reason="needs bpy (humokit[blender])")


def test_fbx_round_trip_same_joints(tmp_path):
    """``humokit export`` writes FBX (Anny body, Mixamo rig); ``humokit import`` reads the body's joints back."""
    from humokit.cli import cli
    from humokit.export import expected_joints, export_motion
    from humokit.motion.importer import load_motion
    from humokit.motion.retarget import place_on_ground, performer_skeleton

    m = rich_motion(seconds=1.0)
    fbx = export_motion(m, tmp_path / "walk.fbx", rig="mixamo")
    out = CliRunner().invoke(cli, ["import", str(fbx), "-o", str(tmp_path / "back.npz")])
    assert out.exit_code == 0, out.output
    back = load_motion(tmp_path / "back.npz")
    _, J = expected_joints(m, format="fbx", rig="mixamo")
    ref, _ = place_on_ground(J, m.fps, performer_skeleton(J))
    assert back.fps == m.fps and back.num_frames == m.num_frames
    assert float(np.linalg.norm(back.joints() - ref, axis=-1).mean()) < 0.01


def test_fbx_of_an_unregistered_a_pose_rig(tmp_path):
    """A Rigify-named rig with twist segments, fingers and an A-pose rest, converted to FBX by Blender."""
    from humokit.export.blender import convert_to_fbx
    from humokit.motion.importer import import_motion

    m = rich_motion(seconds=1.0)
    glb = build_rig(m, "rigify", extras=True, apose=True).write(tmp_path / "rig.glb", skinned=True)
    convert_to_fbx(glb, tmp_path / "rig.fbx", fps=m.fps)
    res = import_motion(tmp_path / "rig.fbx")
    assert res.mapping.retarget_map.name == "auto" and res.mapping.rest == "A-pose"
    assert float(np.linalg.norm(res.motion.joints() - reference_joints(m), axis=-1).mean()) < 0.01
