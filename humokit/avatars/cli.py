"""``humokit avatar``: learn a Gaussian avatar from a video and drive it with any motion."""

from __future__ import annotations

import json
from pathlib import Path

import click

from humokit._cli_options import check_device, check_threads, device_option, threads_option
from humokit._options import FOV, FPS, FRAMES, IMAGE_SIZE, PIXELS, SEED, VIEWS, FiniteFloat

from humokit.errors import InputError


@click.group("avatar")
def avatar() -> None:
    """Animatable 3D Gaussian avatars: train from a video, render under any motion."""


@avatar.command("train")
@click.argument("video", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Avatar folder: avatar.ply (3DGS), skinning.npz, avatar.json, motion.npz, checkpoint.pt.")
@click.option("--iters", default=3000, show_default=True, type=click.IntRange(1, 1_000_000), help="Optimisation steps.")
@click.option("--size", default=384, show_default=True, type=PIXELS, help="Training resolution: longer side of the person crop, pixels.")
@click.option("--gaussians", default=12000, show_default=True, type=click.IntRange(100, 5_000_000), help="Initial number of Gaussians (spread by area).")
@click.option("--max-gaussians", default=20000, show_default=True, type=click.IntRange(100, 5_000_000), help="Cap for densification.")
@click.option("--sh-degree", default=0, show_default=True, type=click.IntRange(0, 3),
              help="Spherical-harmonic degree (>0 adds view-dependent colour; from one monocular video it can darken unseen views).")
@click.option("--pose-correction", default=0, show_default=True, type=click.IntRange(0, 1024),
              help="Latent size of the pose-dependent offset MLP for clothing (0 = off).")
@click.option("--refine-poses/--no-refine-poses", default=True, show_default=True,
              help="Refine the recovered per-frame body poses jointly.")
@click.option("--fps", type=FPS, default=None, help="Resample the video to this rate (default: its own).")
@click.option("--max-frames", type=FRAMES, default=None, help="Use only the first N frames.")
@click.option("--time-limit", type=FiniteFloat(0.0, 1e7, min_open=True), default=None, help="Stop training after this many seconds.")
@click.option("--resume", is_flag=True, help="Continue from OUTPUT/checkpoint.pt.")
@click.option("--seed", default=0, show_default=True, type=SEED)
@threads_option
@device_option
def train(video: Path, output: Path, iters: int, size: int, gaussians: int, max_gaussians: int, sh_degree: int,
          pose_correction: int, refine_poses: bool, fps: float | None, max_frames: int | None,
          time_limit: float | None, resume: bool, seed: int, threads: int | None, device: str) -> None:
    """Learn an avatar of the person in VIDEO (recovery + segmentation + Gaussian training)."""
    import torch

    from humokit.avatars.avatar_video import video_frames
    from humokit.avatars.fit import AvatarTrainConfig, evaluate_avatar, train_avatar
    from humokit.avatars.gaussian_avatar import init_avatar, save_avatar

    if iters < 1:
        raise InputError(f"--iters must be >= 1, got {iters}")
    if gaussians < 100:
        raise InputError(f"--gaussians must be >= 100, got {gaussians}")
    threads = check_threads(threads)
    check_device(device)
    from humokit._cli_options import resolve_device

    dev = resolve_device(device)
    torch.manual_seed(seed)
    data = video_frames(video, size=size, fps=fps, max_frames=max_frames)
    fr = data.frames
    import numpy as np

    # start every Gaussian at the person's mean colour: parts never seen keep a plausible tone
    fg = fr.masks > 0.5
    mean_rgb = fr.images[fg].mean(0) / 255.0 if fg.any() else np.full(3, 0.5)
    colors = np.tile(mean_rgb.astype(np.float32), (data.rest.vertices.shape[0], 1))
    av = init_avatar(data.rest, num_gaussians=gaussians, sh_degree=sh_degree, pose_correction=pose_correction,
                     colors=colors, seed=seed, meta={"body": "anny", "scale": data.scale, "source": str(video)})
    cfg = AvatarTrainConfig(iters=iters, refine_poses=refine_poses, max_gaussians=max_gaussians, seed=seed,
                            densify_until=int(0.75 * iters), threads=threads, device=dev)
    from humokit._atomic import terminate_raises
    from humokit._io import make_dirs

    make_dirs(output)
    with terminate_raises():  # SIGTERM mid-checkpoint leaves no temporary file
        res = train_avatar(av, fr, cfg, checkpoint=output / "checkpoint.pt", resume=resume, time_limit=time_limit)
    ev = evaluate_avatar(res.avatar, fr, R_local=res.R_local, root=res.root, threads=threads)
    meta = dict(res.avatar.meta, train={"iters": iters, "seconds": round(res.seconds, 1), "frames": fr.num_frames,
                                        "size": [fr.cameras.width, fr.cameras.height], "psnr": round(ev["psnr"], 2),
                                        "ssim": round(ev["ssim"], 4)})
    from dataclasses import replace

    from humokit._atomic import atomic_dir
    from humokit.motion.motion import Motion

    m = data.motion
    with atomic_dir(output) as stage:  # the avatar's files appear together; checkpoint.pt stays for --resume
        save_avatar(replace(res.avatar, meta=meta), stage)
        Motion(res.R_local, res.root, m.fps, skeleton=m.skeleton,
               meta={"source": "humokit avatar train (refined)"}).save(str(stage / "motion.npz"))
        (stage / "camera.json").write_text(json.dumps({"camera": data.camera.to_dict(), "crop_box": list(data.box),
                                                       "crop_camera": fr.cameras[0].to_dict()}, indent=1))
    click.echo(f"avatar     {output} ({res.avatar.num_gaussians} Gaussians, SH degree {sh_degree})")
    click.echo(f"training   {fr.num_frames} frames at {fr.cameras.width}x{fr.cameras.height}, {iters} steps, "
               f"{res.seconds:.0f} s; training-view PSNR {ev['psnr']:.2f} dB, SSIM {ev['ssim']:.3f}")


@avatar.command("render")
@click.argument("avatar_dir", metavar="AVATAR", type=click.Path(file_okay=False, path_type=Path))
@click.argument("motion_path", metavar="MOTION", type=click.Path(dir_okay=False, path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (view_XX/ with rgb + control signals, cameras.json, trajectory.json).")
@click.option("--views", default=4, show_default=True, type=VIEWS, help="Number of time-synchronised views.")
@click.option("--layout", type=click.Choice(["hemisphere", "ring", "moving"]), default="ring", show_default=True)
@click.option("--size", default="512x512", show_default=True, type=IMAGE_SIZE, help="WIDTHxHEIGHT, multiples of 16.")
@click.option("--signals", default="rgb,depth,normal,parts,mask,pose", show_default=True,
              help="Comma list of: rgb (the avatar), depth, normal, parts, mask, pose, coco.")
@click.option("--fps", type=FPS, default=None, help="Resample the motion to this frame rate.")
@click.option("--frames", type=FRAMES, default=None, help="Clip length, 1+4k frames (default: the longest that fits).")
@click.option("--fov", default=40.0, show_default=True, type=FOV, help="Vertical field of view, degrees.")
@click.option("--background", default="0,0,0", show_default=True, help="Background RGB in [0, 1], e.g. 1,1,1.")
@click.option("--seed", default=0, show_default=True, type=SEED)
@threads_option
@device_option
def render(avatar_dir: Path, motion_path: Path, output: Path, views: int, layout: str, size: str, signals: str,
           fps: float | None, frames: int | None, fov: float, background: str, seed: int, threads: int | None,
           device: str) -> None:
    """Render the avatar in AVATAR performing MOTION (.npz) from N cameras."""
    from tqdm import tqdm

    from humokit.avatars.avatar_render import load_driving_motion, render_avatar_motion
    from humokit.avatars.gaussian_avatar import load_avatar
    from humokit.render.controls import clip_length, parse_size

    width, height = parse_size(size)
    sig = tuple(s.strip() for s in signals.split(",") if s.strip())
    try:
        bg = tuple(float(x) for x in background.split(","))
    except ValueError:
        bg = ()
    if len(bg) != 3 or not all(0.0 <= x <= 1.0 for x in bg):
        raise InputError(f"--background {background!r}: expected three numbers in [0, 1], e.g. 1,1,1")
    if views < 1:
        raise InputError(f"--views must be at least 1, got {views}")
    threads = check_threads(threads)
    check_device(device)
    from humokit._cli_options import resolve_device

    dev = resolve_device(device)
    av = load_avatar(avatar_dir)
    motion = load_driving_motion(motion_path)
    if fps is not None:
        if fps <= 0:
            raise InputError(f"--fps must be positive, got {fps}")
        motion = motion.resample(fps)  # type: ignore[attr-defined]
    n = clip_length(motion.num_frames, frames)  # type: ignore[attr-defined]
    motion = motion.slice(0, n)  # type: ignore[attr-defined]
    from humokit._atomic import atomic_dir

    with atomic_dir(output) as tmp, tqdm(total=views * n, desc="avatar", unit="frame", leave=False) as bar:
        render_avatar_motion(tmp, av, motion, views=views, layout=layout, width=width, height=height, signals=sig,
                             fov_y=fov, background=bg, seed=seed, threads=threads, progress=bar,  # type: ignore[arg-type]
                             device=dev)
    click.echo(f"wrote {views} views x {n} frames ({width}x{height}) of {avatar_dir.name} to {output}")
