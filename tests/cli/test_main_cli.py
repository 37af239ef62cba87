import subprocess
import sys

import numpy as np
import pytest
import trimesh
from click.testing import CliRunner

from humokit.cli import cli


@pytest.fixture()
def runner():
    return CliRunner()


def test_help_everywhere(runner):
    res = runner.invoke(cli, ["--help"])
    assert res.exit_code == 0 and "demo" in res.output and "body" in res.output
    for cmd in ("demo", "info", "body", "generate", "train", "data", "export", "render", "view", "recover",
                "metrics", "fix", "avatar"):
        r = runner.invoke(cli, [cmd, "--help"])
        assert r.exit_code == 0, r.output
        assert "Usage" in r.output


def test_info_lists_bodies(runner):
    res = runner.invoke(cli, ["info"])
    assert res.exit_code == 0, res.output
    assert "anny" in res.output and "smpl" in res.output and "torch" in res.output


def test_body_writes_glb_and_ply(runner, tmp_path, anny_body):
    for name in ("x.glb", "x.ply", "x.obj"):
        out = tmp_path / name
        res = runner.invoke(cli, ["body", "-o", str(out), "--pose", "apose", "--phenotype", "height=0.7"])
        assert res.exit_code == 0, res.output
        mesh = trimesh.load(out, force="mesh")
        assert len(mesh.vertices) >= 13000 and len(mesh.faces) > 20000


def test_body_from_motion_frame(runner, tmp_path, anny_body):
    from humokit.motion.builtin import builtin_motion

    builtin_motion("walk", seconds=1.0).save(str(tmp_path / "m.npz"))
    res = runner.invoke(cli, ["body", "-o", str(tmp_path / "f.ply"), "--motion", str(tmp_path / "m.npz"), "--frame", "5"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["body", "-o", str(tmp_path / "g.ply"), "--motion", str(tmp_path / "m.npz"), "--frame", "500"])
    assert res.exit_code == 2 and "out of range" in res.output


@pytest.mark.parametrize(
    "args, message",
    [
        (["body", "-o", "x.stl"], "unsupported mesh format"),
        (["body", "-o", "x.ply", "--phenotype", "height"], "KEY=VALUE"),
        (["body", "-o", "x.ply", "--phenotype", "height=2"], "outside [0, 1]"),
        (["body", "-o", "x.ply", "--motion", "nope.npz"], "no such file"),
    ],
)
def test_bad_input_one_line_error(runner, tmp_path, monkeypatch, anny_body, args, message):
    monkeypatch.chdir(tmp_path)
    res = runner.invoke(cli, args)
    assert res.exit_code == 2, res.output
    lines = [ln for ln in res.output.strip().splitlines() if ln.startswith("error:")]
    assert len(lines) == 1 and message in lines[0], res.output
    assert "Traceback" not in res.output
    assert list(tmp_path.iterdir()) == []  # no half-written output


def test_console_script_exit_codes(tmp_path):
    """The installed entry point: --help exits 0, bad input exits 2 with one line on stderr."""
    ok = subprocess.run([sys.executable, "-m", "humokit.cli", "--help"], capture_output=True, text=True)
    assert ok.returncode == 0
    bad = subprocess.run([sys.executable, "-m", "humokit.cli", "body", "-o", str(tmp_path / "a.xyz")],
                         capture_output=True, text=True)
    assert bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1].startswith("error:")
    assert not list(tmp_path.iterdir())


@pytest.mark.slow
def test_demo_writes_motion_meshes_video(runner, tmp_path, anny_body):
    import imageio.v3 as iio

    from humokit.motion import Motion

    res = runner.invoke(cli, ["demo", "-o", str(tmp_path / "d"), "--seconds", "1", "--size", "128"])
    assert res.exit_code == 0, res.output
    m = Motion.load(str(tmp_path / "d" / "motion.npz"))
    assert m.num_frames == 20 and m.fps == 20  # generated from text by the shipped masked model
    assert len(list((tmp_path / "d" / "meshes").glob("*.ply"))) == 10
    frames = iio.imread(tmp_path / "d" / "preview.mp4", plugin="pyav")
    assert frames.shape[0] == 20 and frames.shape[1:3] == (128, 128)
    # the body is drawn: the frame is not just background
    assert (np.abs(frames[0].astype(int) - frames[0, 0, 0].astype(int)).sum(-1) > 60).mean() > 0.02
