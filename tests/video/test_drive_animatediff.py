"""``humokit drive`` with tiny AnimateDiff + ControlNet folders (combined pipeline and SD1.5-base layouts)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from humokit.cli import cli  # noqa: E402
from drive_helpers import pngs as _pngs  # noqa: E402
from drive_helpers import run_drive as _run  # noqa: E402
from humokit.video.drive import read_mp4  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ctrl_dir, ctrl_flipped, animatediff_dir):
    from diffusers import AnimateDiffControlNetPipeline

    from humokit.video.base import DriveSettings
    from humokit.video.drive import drive

    out = tmp_path_factory.mktemp("ad_runs")
    r = _run(ctrl_dir, "--model", animatediff_dir, "--signal", "pose,depth", "--scale", "1.0,0.5", "--prompt",
             "a robot", "--steps", "2", "--seed", "1", "-o", out / "a")
    assert r.exit_code == 0, r.output
    seen = {}
    orig = AnimateDiffControlNetPipeline.__call__

    def spy(self, *a, **kw):
        seen.update(kw)
        return orig(self, *a, **kw)

    s = DriveSettings(prompt="a robot", steps=2, seed=1, scales=(1.0, 0.5))
    AnimateDiffControlNetPipeline.__call__ = spy
    try:
        b = drive(ctrl_dir, animatediff_dir, out / "b", signals=("pose", "depth"), settings=s)
    finally:
        AnimateDiffControlNetPipeline.__call__ = orig
    c = drive(ctrl_flipped, animatediff_dir, out / "c", signals=("pose", "depth"), settings=s)
    return out, b, c, seen


def test_outputs_and_record(runs):
    out = runs[0] / "a"
    assert sorted(p.name for p in out.iterdir()) == ["compare.mp4", "control_view_00.mp4",
                                                     "control_view_00_depth.mp4", "drive.json", "view_00.mp4"]
    v = read_mp4(out / "view_00.mp4")
    assert v.shape == (17, 32, 32, 3) and v.std() > 0
    assert read_mp4(out / "compare.mp4").shape == (17, 32, 96, 3)  # pose | depth | generated
    rec = json.loads((out / "drive.json").read_text())
    assert rec["backend"] == "animatediff" and rec["signals"] == ["pose", "depth"] and rec["scales"] == [1.0, 0.5]
    assert rec["pipeline_settings"]["controlnet_conditioning_scale"] == [1.0, 0.5]


def test_seed_and_control(runs):
    out, b, c, _ = runs
    np.testing.assert_array_equal(read_mp4(out / "a" / "view_00.mp4"), read_mp4(b.out_dir / "view_00.mp4"))
    f = b.views["view_00"].frames
    assert np.abs(f.astype(int) - c.views["view_00"].frames.astype(int)).mean() > 0.05


def test_conditioning_frames_equal_files(runs, ctrl_dir):
    out, _, _, seen = runs
    pose, depth = _pngs(ctrl_dir / "view_00" / "pose"), _pngs(ctrl_dir / "view_00" / "depth")
    got = [np.stack([np.asarray(f) for f in frames]) for frames in seen["conditioning_frames"]]
    np.testing.assert_array_equal(got[0], pose)
    np.testing.assert_array_equal(got[1], depth)
    np.testing.assert_array_equal(read_mp4(out / "a" / "control_view_00_depth.mp4"), depth)
    assert seen["num_frames"] == 17 and seen["controlnet_conditioning_scale"] == [1.0, 0.5]


def test_sd_base_with_adapter_and_controlnets(ctrl_dir, tmp_path):
    from humokit.video.tiny import build_tiny_animatediff

    root = build_tiny_animatediff(tmp_path / "parts", num_controlnets=1, separate=True)
    r = _run(ctrl_dir, "--model", root / "base", "--signal", "pose", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "--motion-adapter" in r.output and r.output.count("\n") == 1
    r = _run(ctrl_dir, "--model", root / "base", "--motion-adapter", root / "motion_adapter", "--controlnet",
             root / "controlnet_0", "--signal", "pose", "--steps", "1", "--frames", "8", "-o", tmp_path / "ok")
    assert r.exit_code == 0, r.output
    assert read_mp4(tmp_path / "ok" / "view_00.mp4").shape == (8, 32, 32, 3)  # any frame count


def test_signal_count_must_match_controlnets(ctrl_dir, animatediff_dir, tmp_path):
    r = _run(ctrl_dir, "--model", animatediff_dir, "--signal", "pose", "-o", tmp_path / "x")
    lines = r.output.strip().splitlines()
    assert r.exit_code == 2 and "has 2 ControlNet(s)" in lines[-1] and lines[-1].startswith("error:")
    assert sum(ln.startswith("error:") for ln in lines) == 1  # one error line (after the style/device warnings)
    assert not (tmp_path / "x").exists()
