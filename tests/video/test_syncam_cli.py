"""``humokit train syncam`` and ``humokit drive --adapter --cameras`` end to end on a tiny Wan folder built in the test."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytest.importorskip("diffusers")
pytest.importorskip("transformers")

from humokit.cli import cli  # noqa: E402
from humokit.render.camera import CameraTrajectory, ring_cameras  # noqa: E402

from humokit.video.tiny import build_tiny_vace, build_tiny_wan  # noqa: E402


def _fake_dataset(root, scenes=2, views=3, frames=9, size=32):
    """Scenes in the documented layout with moving coloured squares (no rendering needed)."""
    import imageio.v2 as imageio

    rng = np.random.default_rng(0)
    for s in range(scenes):
        d = root / f"scene_{s:05d}"
        d.mkdir(parents=True)
        cams = ring_cameras(views, [0.0, 1.0, 0.0], width=size, height=size)
        recs = {}
        for v in range(views):
            w = imageio.get_writer(d / f"cam_{v:02d}.mp4", format="FFMPEG", fps=8, codec="libx264",
                                   pixelformat="yuv420p", macro_block_size=16, ffmpeg_log_level="error")
            col = rng.integers(0, 255, 3)
            for t in range(frames):
                img = np.full((size, size, 3), 40, np.uint8)
                img[8:16, (t + 4 * v) % 24:(t + 4 * v) % 24 + 8] = col
                w.append_data(img)
            w.close()
            recs[f"view_{v:02d}"] = [{"frame": t, **c.to_dict()} for t, c in enumerate(CameraTrajectory.static(cams[v], frames))]
        (d / "cameras.json").write_text(json.dumps({"views": recs}))
        (d / "scene.json").write_text(json.dumps({"frames": frames, "views": views}))
        (d / "caption.txt").write_text("a person walks in the park\n")
    return root


@pytest.fixture(scope="module")
def tiny_wan(tmp_path_factory):
    return build_tiny_wan(tmp_path_factory.mktemp("wan") / "tiny")


def test_train_resume_and_generate(tmp_path, tiny_wan):
    data = _fake_dataset(tmp_path / "ds")
    out = tmp_path / "adapter"
    base = ["train", "syncam", "--base", str(tiny_wan), "--data", str(data), "-o", str(out), "--views", "2",
            "--frames", "9", "--size", "32x32", "--max-text-len", "8", "--lr", "1e-3", "--save-every", "2", "--quiet"]
    r = CliRunner().invoke(cli, [*base, "--steps", "3"])
    assert r.exit_code == 0, r.output
    assert (out / "adapter.safetensors").exists() and json.loads((out / "config.json").read_text())["format"] == "humokit-syncam"
    assert json.loads((out / "checkpoint" / "state.json").read_text())["step"] == 3
    r = CliRunner().invoke(cli, [*base, "--steps", "5"])  # resumes at 3
    assert r.exit_code == 0, r.output
    log = [json.loads(line) for line in (out / "train_log.jsonl").read_text().splitlines()]
    assert [e["step"] for e in log] == [1, 2, 3, 4, 5]
    assert "step 5" in r.output

    gen = tmp_path / "gen"
    args = ["drive", "--model", str(tiny_wan), "--adapter", str(out), "--cameras",
            str(data / "scene_00000" / "cameras.json"), "--prompt", "a person walks", "--frames", "9", "--size",
            "32x32", "--steps", "2", "-o", str(gen)]
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 0, r.output
    assert sorted(p.name for p in gen.iterdir()) == ["grid.mp4", "view_00.mp4", "view_01.mp4", "view_02.mp4"]
    import imageio.v2 as imageio

    with imageio.get_reader(gen / "grid.mp4", format="FFMPEG") as rd:
        frames = [f for f in rd]
    assert len(frames) == 9 and frames[0].shape == (64, 64, 3)

    # ReCamMaster variant: pairs of cameras, source latents appended along frames
    rc = tmp_path / "recam"
    r = CliRunner().invoke(cli, [*base[:7], str(rc), "--mode", "recam", *base[8:], "--steps", "2"])
    assert r.exit_code == 0, r.output
    assert json.loads((rc / "config.json").read_text())["mode"] == "recam"
    r = CliRunner().invoke(cli, [*args[:4], str(rc), *args[5:]])
    assert r.exit_code == 2 and "recam" in r.output


def test_other_architecture_is_one_line_error(tmp_path):
    other = build_tiny_vace(tmp_path / "vace")  # a Wan-VACE folder: another transformer class
    for args in (["train", "syncam", "--base", str(other), "--data", str(tmp_path), "-o", str(tmp_path / "o")],
                 ["drive", "--model", str(other), "--adapter", str(tmp_path), "--cameras",
                  str(tmp_path / "c.json"), "--prompt", "a person", "-o", str(tmp_path / "g")]):
        r = CliRunner().invoke(cli, args)
        assert r.exit_code == 2, r.output
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:") and "WanVACETransformer3DModel" in lines[0]
