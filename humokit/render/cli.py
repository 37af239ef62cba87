"""``humokit render``: multi-view conditioning videos of a motion."""

from __future__ import annotations

from pathlib import Path

import click

from humokit._options import FOV, FPS, FRAMES, IMAGE_SIZE, SEED, VIEWS

from humokit.errors import InputError


@click.command("render")
@click.argument("motion_path", metavar="MOTION", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (view_XX/ sub-folders, cameras.json, trajectory.json).")
@click.option("--views", default=4, show_default=True, type=VIEWS, help="Number of time-synchronised views.")
@click.option("--layout", type=click.Choice(["hemisphere", "ring", "moving"]), default="ring", show_default=True,
              help="Camera layout.")
@click.option("--size", default="512x512", show_default=True, type=IMAGE_SIZE,
              help="WIDTHxHEIGHT, multiples of 16 (presets 480x832, 832x480, 720x480, 512x512).")
@click.option("--signals", default="rgb,depth,normal,parts,mask,pose", show_default=True,
              help="Comma list of: rgb, depth, normal, parts, mask, pose (OpenPose-18), coco (COCO-17).")
@click.option("--fps", type=FPS, default=None, help="Resample the motion to this frame rate (default: its own).")
@click.option("--frames", type=FRAMES, default=None,
              help="Clip length, 1+4k frames (default: the longest 1+4k that fits).")
@click.option("--avatar", type=click.Choice(["mesh", "gaussians"]), default="mesh", show_default=True,
              help="RGB from the shaded mesh or from 3D Gaussians bound to the body.")
@click.option("--body", "body_name", type=click.Choice(["anny", "smpl", "smplh", "smplx"]), default="anny",
              show_default=True, help="Body model.")
@click.option("--fov", default=40.0, show_default=True, type=FOV, help="Vertical field of view, degrees.")
@click.option("--seed", default=0, show_default=True, type=SEED, help="Seed for the hemisphere / handheld cameras.")
@click.option("--pose-style", type=click.Choice(["humokit", "openpose", "vace", "wan_animate"]), default="humokit",
              show_default=True, help="Pose drawing convention: vace (nose blue, body+face), openpose (ControlNet/"
              "AnimateAnyone, nose red), wan_animate (OpenPose-18 + toes).")
@click.option("--depth-style", type=click.Choice(["clip", "inverse"]), default="clip", show_default=True,
              help="Depth images: clip-range metric (near bright) or per-frame relative inverse depth (VACE/MiDaS).")
@click.option("--parts-style", type=click.Choice(["humokit", "champ"]), default="humokit", show_default=True,
              help="Part-map palette: humokit's or Champ's viridis semantic map.")
def render(motion_path: Path, output: Path, views: int, layout: str, size: str, signals: str,
           fps: float | None, frames: int | None, avatar: str, body_name: str, fov: float, seed: int,
           pose_style: str, depth_style: str, parts_style: str) -> None:
    """Render MOTION (.npz) from N cameras into per-view signal videos and PNGs."""
    from tqdm import tqdm

    from humokit.body import create_body
    from humokit.motion.motion import Motion
    from humokit.render.controls import SIGNALS, clip_length, parse_size, pose_clip
    from humokit.render.multiview import render_multiview, view_cameras

    width, height = parse_size(size)
    sig = tuple(s.strip() for s in signals.split(",") if s.strip())
    bad = [s for s in sig if s not in SIGNALS]
    if bad or not sig:
        raise InputError(f"--signals: unknown {', '.join(bad) or '(empty)'}; choose from {', '.join(SIGNALS)}")
    if views < 1:
        raise InputError(f"--views must be at least 1, got {views}")
    if fps is not None and fps <= 0:
        raise InputError(f"--fps must be positive, got {fps}")
    if not motion_path.exists():
        raise InputError(f"{motion_path}: no such file")
    motion = Motion.load(str(motion_path))
    if fps is not None and abs(fps - motion.fps) > 1e-6:
        motion = motion.resample(fps)
    n = clip_length(motion.num_frames, frames)
    motion = motion.slice(0, n)
    body = create_body(body_name)
    clip = pose_clip(motion, body)
    if avatar == "gaussians":
        from humokit.render.controls import attach_gaussians

        clip = attach_gaussians(clip, body.rest(body.shape_from_motion(motion)))
    cams = view_cameras(layout, views, clip, width=width, height=height, fov_y=fov, seed=seed)  # type: ignore[arg-type]
    from humokit._atomic import atomic_dir

    with atomic_dir(output) as tmp, tqdm(total=views * n, desc="render", unit="frame", leave=False) as bar:
        render_multiview(tmp, clip, cams, signals=sig, fps=motion.fps, avatar=avatar,  # type: ignore[arg-type]
                         layout=layout, progress=bar, pose_style=pose_style,
                         depth_style=depth_style, parts_style=parts_style)
    click.echo(f"wrote {views} views x {n} frames ({width}x{height}, {motion.fps:g} fps) to {output}")
