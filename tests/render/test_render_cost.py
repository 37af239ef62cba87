"""Render cost (issue 22, item 3): only requested signals, one shared rasterization, presets, per-frame depth."""

from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from humokit.render.controls import depth_to_image, render_frame, render_view
from humokit.render.multiview import view_cameras

pytest.importorskip("warp")


@pytest.fixture(scope="module")
def clip(anny_body):
    from humokit.motion.builtin import builtin_motion
    from humokit.render.controls import pose_clip

    return pose_clip(builtin_motion("walk", seconds=1.0, fps=20).slice(0, 5), anny_body)


def test_only_requested_signals_are_written(clip, tmp_path):
    cams = view_cameras("ring", 1, clip, width=64, height=48)[0]
    render_view(tmp_path / "v", clip, cams, signals=("pose", "depth", "mask"))
    names = sorted(p.name for p in (tmp_path / "v").iterdir())
    assert names == ["cameras.json", "control_styles.json", "depth", "depth.mp4", "mask", "mask.mp4", "pose", "pose.mp4", "pose_json"]


def test_fast_depth_path_equals_shaded_path(clip):
    """The batched z-buffer feeds depth, mask and pose exactly as the full rasterization does."""
    from humokit.render.zbuffer import depth_maps, project_frames

    cams = view_cameras("ring", 1, clip, width=96, height=64)[0]
    V = clip.vertices.numpy().astype(np.float64)
    Z = depth_maps(project_frames(V, cams.K, cams.R, cams.t), clip.faces.numpy(), 96, 64)
    for t in range(clip.num_frames):
        slow = render_frame(clip, t, cams[t], ("pose", "depth", "mask", "rgb"))
        fast = render_frame(clip, t, cams[t], ("pose", "depth", "mask"), depth=Z[t])
        assert (fast["mask"] != slow["mask"]).mean() < 1e-3
        both = fast["_mask"] & slow["_mask"]
        np.testing.assert_allclose(fast["depth"][both], slow["depth"][both], rtol=1e-4)
        np.testing.assert_array_equal(fast["_pose_kp"], slow["_pose_kp"])


def test_depth_video_normalised_per_frame(clip, tmp_path):
    """A body walking away keeps its full grey range in late frames (per-frame), unlike per-clip."""
    import imageio.v3 as iio

    cams = view_cameras("ring", 1, clip, width=64, height=48)[0]
    D = np.stack([render_frame(clip, t, cams[t], ("depth",))["depth"] for t in range(clip.num_frames)])
    D[-1][D[-1] > 0] += 3.0  # the last frame 3 m further away
    M = D > 0
    per_clip = depth_to_image(D, M)
    per_frame = np.stack([depth_to_image(d, m) for d, m in zip(D, M)])
    assert per_clip[-1][M[-1]].max() < 100 and per_frame[-1][M[-1]].max() == 255
    render_view(tmp_path / "f", clip, cams, signals=("depth",))
    for t in range(clip.num_frames):
        img = iio.imread(tmp_path / "f" / "depth" / f"{t:05d}.png")
        fg = img > 0
        assert img[fg].max() == 255 and img[fg].min() == 32  # each frame spans the whole range


@pytest.mark.parametrize("preset,size,frames,fps", [("wan", (832, 480), 81, 16), ("animatediff", (512, 512), 16, 8)])
def test_presets_set_size_frames_fps(tmp_path, preset, size, frames, fps):
    import json

    from humokit.cli import cli
    from humokit.motion.builtin import builtin_motion

    src = tmp_path / "m.npz"
    builtin_motion("walk", seconds=6.0, fps=20).save(str(src))
    res = CliRunner().invoke(cli, ["render", str(src), "-o", str(tmp_path / "r"), "--preset", preset, "--views", "1",
                                   "--signals", "mask", "--no-png", "--threads", "1", "--device", "cpu"])
    assert res.exit_code == 0, res.output
    cj = json.loads((tmp_path / "r" / "cameras.json").read_text())
    assert (cj["width"], cj["height"]) == size and cj["num_frames"] == frames and cj["fps"] == fps


def test_render_options_checked_before_loading(tmp_path):
    from humokit.cli import cli

    src = tmp_path / "m.npz"
    src.write_bytes(b"")
    for args, msg in ((["--preset", "wan", "--size", "512x512"], "size must be 832x480 or 480x832"),
                      (["--threads", "0"], "0 is not in the range 1<=x<=256"),
                      (["--device", "tpu"], "--device must be"),
                      (["--metric-depth", "--signals", "mask"], "--metric-depth needs the depth signal")):
        res = CliRunner().invoke(cli, ["render", str(src), "-o", str(tmp_path / "r"), *args])
        assert res.exit_code == 2 and msg in res.output, res.output
