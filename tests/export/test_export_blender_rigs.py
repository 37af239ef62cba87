"""Every export rig imported into Blender with the importers' default settings: bone count, frame range, scale.

A BVH or GLB written with ``humokit export``'s defaults must land in
Blender at the right size (metres, Blender's unit) without touching the
importer's scale, for each rig (canonical, anny, mixamo, rigify, ue5).
"""

from __future__ import annotations

import struct

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.cli import cli
from humokit.export import expected_joints, has_blender, rig_joint_names

pytestmark = [
    pytest.mark.anny,
    pytest.mark.skipif(not has_blender(), reason="Blender's 'bpy' module missing: pip install 'humokit[blender]'"),
]


def _export(tmp_path, motion, name, *args):
    src = tmp_path / "m.npz"
    if not src.exists():
        motion.save(str(src))
    out = tmp_path / name
    res = CliRunner().invoke(cli, ["export", str(src), "-o", str(out), *args])
    assert res.exit_code == 0, res.output
    return out


def _positions(report, names):
    idx = [report["pose_names"].index(n) for n in names]
    return np.asarray(report["positions"])[:, idx]


@pytest.mark.parametrize("rig", ["canonical", "anny", "mixamo", "rigify", "ue5"])
def test_bvh_default_unit_imports_at_true_size(motion, tmp_path, rig):
    from humokit.export.blender import inspect_in_blender

    path = _export(tmp_path, motion, f"{rig}.bvh", "--rig", rig)
    r = inspect_in_blender(path)  # Blender's default BVH import: global_scale 1.0
    names, want = expected_joints(motion, format="bvh", rig=rig)
    assert sorted(r["names"]) == sorted(rig_joint_names(rig)) and len(r["names"]) == 22
    assert r["frame_end"] - r["frame_start"] + 1 == motion.num_frames
    got = _positions(r, names)
    pelvis_height = got[0, 0, 1]
    assert 0.5 < pelvis_height < 1.3  # metres: a person, not a 100x giant
    assert np.abs(got - want).max() < 1e-3


@pytest.mark.parametrize("rig", ["mixamo", "rigify", "ue5"])
def test_glb_rig_imports_with_uvs_and_material(motion, tmp_path, rig):
    from humokit.export.blender import inspect_in_blender

    path = _export(tmp_path, motion, f"{rig}.glb", "--rig", rig)
    r = inspect_in_blender(path, fps=motion.fps)
    names, want = expected_joints(motion, format="glb", rig=rig)
    assert len(r["names"]) == 22
    assert r["frame_end"] - r["frame_start"] + 1 == motion.num_frames
    assert np.abs(_positions(r, names) - want).max() < 1e-3
    assert r["num_meshes"] == 1 and r["num_vertices"] == 13718  # uv seams merged back by Blender
    assert r["uv_layers"] == [1] and r["materials"] == [["skin"]]


def _png(path, w=4, h=4):
    import zlib

    raw = b"".join(b"\0" + bytes([200, 120, 90] * w) for _ in range(h))
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    ihdr = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
    return path


def test_glb_texture_fps_and_scale(motion, tmp_path):
    from humokit.export.blender import inspect_in_blender

    tex = _png(tmp_path / "skin.png")
    path = _export(tmp_path, motion, "t.glb", "--texture", str(tex), "--fps", "12", "--scale", "0.5")
    r = inspect_in_blender(path, fps=12)
    half = motion.resample(12)
    names, want = expected_joints(half, format="glb")
    assert r["frame_end"] - r["frame_start"] + 1 == half.num_frames
    assert r["fps"] == pytest.approx(12)
    assert np.abs(_positions(r, names) - 0.5 * want).max() < 1e-3
    assert len(r["images"]) == 1
