"""Session fixtures for the drive tests: tiny model folders and one 17-frame 32x32 render."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest


@pytest.fixture(scope="session")
def walk_npz(tmp_path_factory) -> Path:
    from humokit.motion.builtin import builtin_motion

    p = tmp_path_factory.mktemp("motion") / "walk.npz"
    builtin_motion("walk", seconds=1.2, fps=16).save(str(p))
    return p


@pytest.fixture(scope="session")
def ctrl_dir(tmp_path_factory, walk_npz, anny_body) -> Path:
    """``humokit render`` output of 17 frames at 32x32: VACE pose, inverse depth, rgb, mask, Wan-Animate pose."""
    from humokit.motion.motion import Motion
    from humokit.render.controls import pose_clip, render_view
    from humokit.render.multiview import render_multiview, view_cameras

    out = tmp_path_factory.mktemp("ctrl")
    clip = pose_clip(Motion.load(str(walk_npz)).slice(0, 17), anny_body)
    cams = view_cameras("ring", 1, clip, width=32, height=32)
    render_multiview(out, clip, cams, signals=("rgb", "mask", "pose", "depth"), pose_style="vace",
                     depth_style="inverse")
    render_view(out / "wan", clip, cams[0], signals=("pose",), pose_style="wan_animate", plucker=False,
                video=False)
    return out


@pytest.fixture(scope="session")
def ctrl_flipped(tmp_path_factory, ctrl_dir) -> Path:
    """The same render with the control frames (pose, depth) shifted 10 px right: a different control video."""
    import shutil

    import imageio.v2 as imageio

    out = tmp_path_factory.mktemp("ctrl_flip")
    shutil.copytree(ctrl_dir / "view_00", out / "view_00", ignore=shutil.ignore_patterns("*.mp4"))
    for sub in ("pose", "depth"):
        for f in sorted((out / "view_00" / sub).glob("*.png")):
            imageio.imwrite(f, np.roll(imageio.imread(f), 10, axis=1))
    return out


@pytest.fixture(scope="session")
def vace_dir(tmp_path_factory) -> Path:
    from humokit.video.tiny import build_tiny_vace

    return build_tiny_vace(tmp_path_factory.mktemp("models") / "vace")


@pytest.fixture(scope="session")
def animate_dir(tmp_path_factory) -> Path:
    from humokit.video.tiny import build_tiny_animate

    return build_tiny_animate(tmp_path_factory.mktemp("models") / "animate")


@pytest.fixture(scope="session")
def animatediff_dir(tmp_path_factory) -> Path:
    from humokit.video.tiny import build_tiny_animatediff

    return build_tiny_animatediff(tmp_path_factory.mktemp("models") / "animatediff", num_controlnets=2)


@pytest.fixture(scope="session")
def wan_ctrl(tmp_path_factory, ctrl_dir) -> Path:
    """The render with Wan-Animate's pose drawing in pose/ (and the same rgb, mask, pose_json)."""
    import shutil

    out = tmp_path_factory.mktemp("wan_ctrl")
    shutil.copytree(ctrl_dir / "view_00", out / "view_00", ignore=shutil.ignore_patterns("*.mp4", "pose", "depth"))
    shutil.copytree(ctrl_dir / "wan" / "pose", out / "view_00" / "pose")
    shutil.copy(ctrl_dir / "wan" / "control_styles.json", out / "view_00" / "control_styles.json")
    return out
