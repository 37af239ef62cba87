"""``humokit drive`` with a tiny WanVACEPipeline saved like a real model folder (CPU, no network)."""

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
from drive_helpers import run_drive as _run  # noqa: E402
from humokit.video.drive import read_mp4  # noqa: E402


@pytest.fixture(scope="module")
def runs(tmp_path_factory, ctrl_dir, ctrl_flipped, vace_dir):
    """Seed 0 on the render (CLI), again through the API with a spy on the pipeline call, and on shifted controls."""
    from diffusers import WanVACEPipeline

    from humokit.video.base import DriveSettings
    from humokit.video.drive import drive

    out = tmp_path_factory.mktemp("vace_runs")
    r = CliRunner().invoke(cli, ["drive", str(ctrl_dir), "--model", str(vace_dir), "--signal", "pose", "--prompt",
                                 "a dancer in a red dress", "--steps", "2", "--seed", "0", "-o", str(out / "a")])
    assert r.exit_code == 0, r.output
    s = DriveSettings(prompt="a dancer in a red dress", steps=2, seed=0)
    seen = {}
    orig = WanVACEPipeline.__call__

    def spy(self, *a, **kw):
        seen.update(kw)
        return orig(self, *a, **kw)

    WanVACEPipeline.__call__ = spy
    try:
        b = drive(ctrl_dir, vace_dir, out / "b", signals=("pose",), settings=s)
    finally:
        WanVACEPipeline.__call__ = orig
    c = drive(ctrl_flipped, vace_dir, out / "c", signals=("pose",), settings=s)
    return out, r, b, c, seen


def test_outputs_shape_range_and_record(runs, ctrl_dir, vace_dir):
    out, r, _, _, _ = runs
    a = out / "a"
    assert sorted(p.name for p in a.iterdir()) == ["compare.mp4", "control_view_00.mp4", "drive.json",
                                                   "reference_view_00.png", "view_00.mp4"]
    v = read_mp4(a / "view_00.mp4")
    assert v.shape == (17, 32, 32, 3) and v.dtype == np.uint8 and 0 < v.std()
    assert read_mp4(a / "compare.mp4").shape == (17, 32, 64, 3)
    rec = json.loads((a / "drive.json").read_text())
    assert rec["backend"] == "vace" and rec["pipeline"] == "WanVACEPipeline" and rec["seed"] == 0
    assert rec["steps"] == 2 and rec["num_frames"] == 17 and (rec["width"], rec["height"]) == (32, 32)
    assert rec["signals"] == ["pose"] and rec["prompt"] == "a dancer in a red dress"
    assert rec["control_conventions"]["pose_style"] == "vace" and rec["humokit_version"]
    assert rec["views"]["view_00"]["seconds_per_step"] > 0 and rec["timings"]["total_s"] > 0
    assert "warning: no CUDA device" in r.output  # CPU run says so
    assert "was drawn in" not in r.output  # rendered in VACE's own conventions
    assert not list(out.glob(".a.*"))  # no temporary folder left behind


def test_same_seed_same_video_and_control_changes_video(runs):
    _, _, b, c, _ = runs
    a = read_mp4(runs[0] / "a" / "view_00.mp4")
    fb = b.views["view_00"].frames
    np.testing.assert_array_equal(a, read_mp4(b.out_dir / "view_00.mp4"))
    assert fb.min() >= 0 and fb.max() <= 255 and fb.shape == (17, 32, 32, 3)
    diff = np.abs(fb.astype(int) - c.views["view_00"].frames.astype(int)).mean()
    assert diff > 0.05, diff  # same seed: exactly 0


def test_frames_handed_over_equal_control_files(runs, ctrl_dir):
    out, _, b, _, seen = runs
    files = _pngs(ctrl_dir / "view_00" / "pose")
    np.testing.assert_array_equal(read_mp4(out / "a" / "control_view_00.mp4"), files)
    np.testing.assert_array_equal(np.stack([np.asarray(f) for f in seen["video"]]), files)
    assert seen["mask"] is None and seen["num_frames"] == 17 and (seen["height"], seen["width"]) == (32, 32)
    assert seen["conditioning_scale"] == 1.0 and len(seen["reference_images"]) == 1
    ref = np.asarray(seen["reference_images"][0])
    np.testing.assert_array_equal(ref, b.views["view_00"].inputs["reference"])
    import imageio.v2 as imageio

    mask = np.asarray(imageio.imread(ctrl_dir / "view_00" / "mask" / "00000.png")) > 127
    assert (ref[~mask] == 255).all()  # the person composited on white


def test_motion_renders_its_own_controls(walk_npz, ctrl_dir, vace_dir, tmp_path):
    r = _run(walk_npz, "--model", vace_dir, "--size", "32x32", "--frames", "17", "--steps", "1", "-o",
             tmp_path / "m")
    assert r.exit_code == 0, r.output
    ctrl = read_mp4(tmp_path / "m" / "control_view_00.mp4")
    # the same cameras and VACE pose style as `humokit render --pose-style vace`
    np.testing.assert_array_equal(ctrl, _pngs(ctrl_dir / "view_00" / "pose"))
    assert read_mp4(tmp_path / "m" / "view_00.mp4").shape == (17, 32, 32, 3)


def test_clip_rules(ctrl_dir, vace_dir, tmp_path):
    from humokit.errors import InputError
    from humokit.video.controls_io import ViewControls, fit_controls

    r = _run(ctrl_dir, "--model", vace_dir, "--frames", "12", "-o", tmp_path / "x")
    assert r.exit_code == 2 and r.output.count("\n") == 1 and "1 + 4k" in r.output
    r = _run(ctrl_dir, "--model", vace_dir, "--frames", "21", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "only 17 frames" in r.output
    r = _run(ctrl_dir, "--model", vace_dir, "--size", "30x30", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "multiples of 16" in r.output
    assert not (tmp_path / "x").exists()
    frames = np.random.default_rng(0).integers(0, 255, (19, 36, 50, 3), dtype=np.uint8)
    v = ViewControls("view_00", {"pose": frames}, None, None, None, 16.0)
    fv, notes = fit_controls(v, rule="4k+1", frames=None, size=None)
    assert fv.num_frames == 17 and fv.size == (48, 32)
    assert notes == ["note: using the first 17 of 19 frames (Wan models take 1 + 4k frames)",
                     "note: centre-cropping 50x36 controls to 48x32 (sizes must be multiples of 16)"]
    np.testing.assert_array_equal(fv.signals["pose"], frames[:17, 2:34, 1:49])
    fv, notes = fit_controls(v, rule="any", frames=None, size=(32, 16))
    assert fv.num_frames == 19 and fv.size == (32, 16) and notes == ["note: resizing 50x36 controls to 32x16"]
    with pytest.raises(InputError):
        fit_controls(v, rule="4k+1", frames=None, size=(40, 32))


def test_bad_model_folders(ctrl_dir, vace_dir, tmp_path):
    broken = tmp_path / "broken"
    shutil.copytree(vace_dir, broken, ignore=shutil.ignore_patterns("transformer"))
    r = _run(ctrl_dir, "--model", broken, "-o", tmp_path / "x")
    assert r.exit_code == 2 and r.output.count("\n") == 1
    assert "missing transformer" in r.output and "found: scheduler, text_encoder, tokenizer, vae" in r.output
    other = tmp_path / "flux"
    other.mkdir()
    (other / "model_index.json").write_text(json.dumps({"_class_name": "FluxPipeline"}))
    r = _run(ctrl_dir, "--model", other, "-o", tmp_path / "x")
    assert r.exit_code == 2 and "names FluxPipeline" in r.output and r.output.count("\n") == 1
    r = _run(ctrl_dir, "--model", tmp_path, "-o", tmp_path / "x")
    assert r.exit_code == 2 and "no model_index.json" in r.output
    r = _run(ctrl_dir, "--model", vace_dir, "--signal", "normal", "-o", tmp_path / "x")
    assert r.exit_code == 2 and "takes pose or depth" in r.output
    assert not (tmp_path / "x").exists()


def test_motion_with_gaussian_avatar(walk_npz, anny_body, vace_dir, tmp_path):
    from humokit.avatars.gaussian_avatar import init_avatar, save_avatar

    rest = anny_body.rest(anny_body.default_shape())
    save_avatar(init_avatar(rest, num_gaussians=600, colors=np.tile([0.9, 0.2, 0.2], (rest.num_vertices, 1)),
                            seed=0), tmp_path / "av")
    r = _run(walk_npz, "--avatar", tmp_path / "av", "--model", vace_dir, "--size", "32x32", "--frames", "5",
             "--steps", "1", "-o", tmp_path / "m")
    assert r.exit_code == 0, r.output
    assert read_mp4(tmp_path / "m" / "view_00.mp4").shape == (5, 32, 32, 3)
    import imageio.v2 as imageio

    ref = imageio.imread(tmp_path / "m" / "reference_view_00.png")
    body = (ref != 255).any(-1)
    assert body.sum() > 20 and ref[body][:, 0].mean() > ref[body][:, 1].mean() + 40  # the red avatar on white


def test_background_keeps_outside_the_body(ctrl_dir, vace_dir, tmp_path):
    from humokit.video.base import DriveSettings
    from humokit.video.drive import drive

    bg = ctrl_dir / "view_00" / "depth"  # any 17-frame video serves as a background
    res = drive(ctrl_dir, vace_dir, tmp_path / "b", settings=DriveSettings(steps=1), background=bg)
    g = res.views["view_00"]
    mask, control = g.inputs["mask"] > 0, g.inputs["control"]
    import imageio.v2 as imageio

    body = np.stack([np.asarray(imageio.imread(f)) > 127 for f in sorted((ctrl_dir / "view_00" / "mask").glob("*.png"))])
    assert (mask >= body).all() and mask.sum() < mask.size  # dilated body generated, the rest kept
    np.testing.assert_array_equal(control[~mask], _pngs(bg)[~mask])
    np.testing.assert_array_equal(read_mp4(tmp_path / "b" / "mask_view_00.mp4")[..., 0] > 127, mask)
    assert res.record["pipeline_settings"]["mask"] == "background"


def test_style_mismatch_warning(ctrl_dir, tmp_path):
    from humokit.video.drive import _style_warnings, backends

    be = backends()["animate"]
    assert _style_warnings(ctrl_dir, backends()["vace"], ("pose",), None) == []
    assert _style_warnings(ctrl_dir, be, ("pose",), None) == [
        "warning: view_00 pose was drawn in the 'vace' style; WanAnimatePipeline was trained on 'wan_animate' "
        "(humokit render --pose-style wan_animate)"]
