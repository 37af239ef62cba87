"""``humokit drive`` with a tiny WanAnimatePipeline saved like a real model folder (CPU, no network)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from humokit.cli import cli  # noqa: E402
from drive_helpers import pngs as _pngs  # noqa: E402
from humokit.video.drive import read_mp4  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory, wan_ctrl, animate_dir):
    from diffusers import WanAnimatePipeline

    from humokit.video.base import DriveSettings
    from humokit.video.drive import drive

    out = tmp_path_factory.mktemp("animate_runs")
    r = CliRunner().invoke(cli, ["drive", str(wan_ctrl), "--model", str(animate_dir), "--prompt", "a dancer",
                                 "--steps", "2", "--seed", "3", "-o", str(out / "a")])
    assert r.exit_code == 0, r.output
    seen = {}
    orig = WanAnimatePipeline.__call__

    def spy(self, *a, **kw):
        seen.update(kw)
        return orig(self, *a, **kw)

    WanAnimatePipeline.__call__ = spy
    try:
        b = drive(wan_ctrl, animate_dir, out / "b", settings=DriveSettings(prompt="a dancer", steps=2, seed=3))
    finally:
        WanAnimatePipeline.__call__ = orig
    shifted = out / "shifted"
    shutil.copytree(wan_ctrl, shifted)
    import imageio.v2 as imageio

    for f in sorted((shifted / "view_00" / "pose").glob("*.png")):
        imageio.imwrite(f, np.roll(imageio.imread(f), 10, axis=1))
    c = drive(shifted, animate_dir, out / "c", settings=DriveSettings(prompt="a dancer", steps=2, seed=3))
    return out, b, c, seen


def test_outputs_and_record(runs):
    out = runs[0] / "a"
    assert sorted(p.name for p in out.iterdir()) == ["compare.mp4", "control_view_00.mp4", "drive.json",
                                                     "face_view_00.mp4", "reference_view_00.png", "view_00.mp4"]
    v = read_mp4(out / "view_00.mp4")
    assert v.shape == (17, 32, 32, 3) and v.std() > 0
    assert read_mp4(out / "face_view_00.mp4").shape == (17, 512, 512, 3)
    rec = json.loads((out / "drive.json").read_text())
    assert rec["backend"] == "animate" and rec["mode"] == "animate" and rec["seed"] == 3
    assert rec["control_conventions"]["pose_style"] == "wan_animate"
    assert rec["pipeline_settings"]["segment_frame_length"] == 17


def test_same_seed_same_video_different_control_different_video(runs):
    out, b, c, _ = runs
    np.testing.assert_array_equal(read_mp4(out / "a" / "view_00.mp4"), read_mp4(b.out_dir / "view_00.mp4"))
    f = b.views["view_00"].frames
    assert f.shape == (17, 32, 32, 3) and f.dtype == np.uint8
    assert np.abs(f.astype(int) - c.views["view_00"].frames.astype(int)).mean() > 0.05


def test_inputs_handed_over(runs, wan_ctrl):
    out, b, _, seen = runs
    files = _pngs(wan_ctrl / "view_00" / "pose")
    np.testing.assert_array_equal(np.stack([np.asarray(f) for f in seen["pose_video"]]), files)
    np.testing.assert_array_equal(read_mp4(out / "a" / "control_view_00.mp4"), files)
    faces = np.stack([np.asarray(f) for f in seen["face_video"]])
    assert faces.shape == (17, 512, 512, 3)
    np.testing.assert_array_equal(faces, b.views["view_00"].inputs["face"])
    np.testing.assert_array_equal(read_mp4(out / "a" / "face_view_00.mp4"), faces)
    assert seen["mode"] == "animate" and seen["image"].size == (32, 32)


def test_replace_needs_background_and_runs(wan_ctrl, ctrl_dir, animate_dir, tmp_path):
    r = CliRunner().invoke(cli, ["drive", str(wan_ctrl), "--model", str(animate_dir), "--mode", "replace",
                                 "-o", str(tmp_path / "x")])
    assert r.exit_code == 2 and "needs --background" in r.output and not (tmp_path / "x").exists()
    r = CliRunner().invoke(cli, ["drive", str(wan_ctrl), "--model", str(animate_dir), "--mode", "replace",
                                 "--background", str(ctrl_dir / "view_00" / "rgb"), "--steps", "1",
                                 "-o", str(tmp_path / "r")])
    assert r.exit_code == 0, r.output
    assert read_mp4(tmp_path / "r" / "mask_view_00.mp4").shape == (17, 32, 32, 3)
    assert json.loads((tmp_path / "r" / "drive.json").read_text())["mode"] == "replace"


def test_missing_component(wan_ctrl, animate_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(animate_dir, broken, ignore=shutil.ignore_patterns("image_encoder"))
    r = CliRunner().invoke(cli, ["drive", str(wan_ctrl), "--model", str(broken), "-o", str(tmp_path / "x")])
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "missing image_encoder" in r.output
