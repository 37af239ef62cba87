"""Atomic writing (a failed export leaves nothing behind) and the ``humokit export`` CLI."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.cli import cli
from humokit.errors import InputError
from humokit.export import export_motion


def _failing_writer(*args, **kwargs):
    """Write some bytes to whatever file/handle we were given, then fail."""
    target = args[0]
    if hasattr(target, "write"):
        target.write(b"partial" if "b" in getattr(target, "mode", "b") else "partial")
    else:
        with open(target, "wb") as fh:
            fh.write(b"partial")
    raise RuntimeError("injected failure")


@pytest.mark.parametrize("fmt", ["bvh", "npz", "glb", "fbx"])
def test_failed_export_leaves_nothing(motion, tmp_path, monkeypatch, fmt):
    import pygltflib

    import humokit.export.blender as blender

    if fmt == "bvh":
        monkeypatch.setattr(np, "savetxt", _failing_writer)
    elif fmt == "npz":
        monkeypatch.setattr(np, "savez", _failing_writer)
    elif fmt == "glb":
        monkeypatch.setattr(pygltflib.GLTF2, "save_binary", lambda self, p: _failing_writer(p))
    else:
        monkeypatch.setattr(blender, "has_blender", lambda: True)
        monkeypatch.setattr(blender, "convert_to_fbx", lambda src, dst, fps: _failing_writer(dst))
    out = tmp_path / "sub" / f"m.{fmt}"
    with pytest.raises(RuntimeError, match="injected"):
        export_motion(motion[:2], out)
    assert not out.exists()
    assert list(out.parent.iterdir()) == []


def test_failed_export_keeps_existing_file(motion, tmp_path, monkeypatch):
    out = tmp_path / "m.bvh"
    out.write_text("old")
    monkeypatch.setattr(np, "savetxt", _failing_writer)
    with pytest.raises(RuntimeError):
        export_motion(motion[:2], out)
    assert out.read_text() == "old" and len(list(tmp_path.iterdir())) == 1


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"format": "obj"}, "unknown export format"),
        ({"rig": "daz"}, "unknown rig"),
        ({"body": "mannequin"}, "unknown body"),
        ({"format": "glb"}, "must end in .glb"),
    ],
)
def test_export_motion_bad_arguments(motion, tmp_path, kwargs, match):
    with pytest.raises(InputError, match=match):
        export_motion(motion, tmp_path / "m.bvh", **kwargs)
    assert list(tmp_path.iterdir()) == []


@pytest.fixture(scope="module")
def motion_file(motion, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "walk.npz"
    motion.save(str(path))
    return path


@pytest.mark.parametrize(
    "args,needle",
    [
        (["missing.npz", "-o", "x.bvh"], "no such file"),
        (["{m}", "-f", "blend", "-o", "x.blend"], "unknown export format 'blend'"),
        (["{m}", "-o", "x.bvh", "--rig", "daz"], "unknown rig 'daz'"),
        (["{m}", "-o", "x.bvh", "--body", "robot"], "unknown body 'robot'"),
        (["{m}", "-o", "x.obj"], "cannot tell the format"),
        (["{m}", "-o", "x.npz", "--rig", "mixamo"], "does not apply to AMASS"),
    ],
)
def test_cli_bad_input_one_line_errors(motion_file, tmp_path, monkeypatch, args, needle):
    monkeypatch.chdir(tmp_path)
    res = CliRunner().invoke(cli, ["export", *[a.format(m=motion_file) for a in args]])
    assert res.exit_code == 2
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("error:") and needle in lines[0], res.output
    assert not any(p.name.startswith("x") for p in tmp_path.iterdir())


def test_cli_writes_mixamo_bvh(motion_file, motion, tmp_path):
    from humokit.motion.bvh import load_bvh

    out = tmp_path / "out.bvh"
    res = CliRunner().invoke(cli, ["export", str(motion_file), "-f", "bvh", "--rig", "mixamo", "-o", str(out)])
    assert res.exit_code == 0, res.output
    clip = load_bvh(out)  # metres by default
    assert clip.names[0] == "mixamorig:Hips" and clip.num_frames == motion.num_frames
    assert np.abs(clip.world_positions()[:, 0] - motion.root_position).max() < 1e-3
