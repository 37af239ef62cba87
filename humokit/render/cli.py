"""``humokit render``: multi-view conditioning videos of a motion."""

from __future__ import annotations

from pathlib import Path

import click

from humokit._batch import BatchItem, batch_options, check_workers, list_inputs, run_batch
from humokit._cli_options import check_device, check_threads, device_option, threads_option
from humokit._options import FOV, FPS, FRAMES, IMAGE_SIZE, SEED, VIEWS
from humokit.errors import InputError

MOTION_SUFFIXES = (".npz", ".bvh", ".glb", ".gltf", ".fbx")  # as humokit.motion.importer (not imported here: the CLI starts fast)


@click.command("render")
@click.argument("motion_path", metavar="MOTION", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="Output folder (view_XX/ sub-folders, cameras.json, trajectory.json); for a folder MOTION, "
                   "one sub-folder per motion plus manifest.jsonl.")
@click.option("--preset", type=click.Choice(["wan", "animatediff"]), default=None,
              help="Size, frame count and frame rate of a video model together: wan = 832x480 (or --size 480x832), "
                   "81 frames, 16 fps; animatediff = 512x512, 16 frames, 8 fps.")
@click.option("--views", default=4, show_default=True, type=VIEWS, help="Number of time-synchronised views.")
@click.option("--layout", type=click.Choice(["hemisphere", "ring", "moving"]), default="ring", show_default=True,
              help="Camera layout.")
@click.option("--size", type=IMAGE_SIZE, default=None,
              help="WIDTHxHEIGHT, multiples of 16 (presets 480x832, 832x480, 720x480, 512x512) [default: 512x512].")
@click.option("--signals", default="rgb,depth,normal,parts,mask,pose", show_default=True,
              help="Comma list of: rgb, depth, normal, parts, mask, pose (OpenPose-18), coco (COCO-17). "
                   "Only these are written.")
@click.option("--plucker", is_flag=True, help="Also write plucker.npz (float16 per-pixel ray maps, large).")
@click.option("--metric-depth", is_flag=True, help="Also write depth_m.npy (float16 metres; needs the depth signal).")
@click.option("--depth-range", type=click.Choice(["frame", "clip"]), default="frame", show_default=True,
              help="Depth video normalised per frame (VACE/ControlNet annotators) or over the whole clip.")
@click.option("--png/--no-png", default=True, show_default=True, help="Also write each frame as PNG.")
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
              help="Depth images: metric near-bright (normalised per --depth-range) or per-frame relative inverse "
                   "depth (VACE/MiDaS).")
@click.option("--parts-style", type=click.Choice(["humokit", "champ"]), default="humokit", show_default=True,
              help="Part-map palette: humokit's or Champ's viridis semantic map.")
@batch_options
@threads_option
@device_option
def render(motion_path: Path, output: Path, preset: str | None, views: int, layout: str, size: str | None,
           signals: str, plucker: bool, metric_depth: bool, depth_range: str, png: bool, fps: float | None,
           frames: int | None, avatar: str, body_name: str, fov: float, seed: int, pose_style: str,
           depth_style: str, parts_style: str, workers: int | None, ray_address: str | None,
           threads: int | None, device: str) -> None:  # fmt: skip
    """Render MOTION (.npz, or .bvh/.fbx/.glb/.gltf retargeted on import; or a folder of them) from N cameras into per-view signal videos and PNGs."""
    from humokit.render.controls import RENDER_PRESETS, SIGNALS, parse_size

    sig = tuple(s.strip() for s in signals.split(",") if s.strip())
    bad = [s for s in sig if s not in SIGNALS]
    if bad or not sig:
        raise InputError(f"--signals: unknown {', '.join(bad) or '(empty)'}; choose from {', '.join(SIGNALS)}")
    if metric_depth and "depth" not in sig:
        raise InputError("--metric-depth needs the depth signal in --signals")
    if views < 1:
        raise InputError(f"--views must be at least 1, got {views}")
    if fps is not None and fps <= 0:
        raise InputError(f"--fps must be positive, got {fps}")
    check_workers(workers)
    nthreads = check_threads(threads)
    check_device(device)
    if preset is not None:
        pr = RENDER_PRESETS[preset]
        width, height = parse_size(size) if size else pr.sizes[0]
        if (width, height) not in pr.sizes:
            raise InputError(f"--preset {preset}: size must be {' or '.join(f'{w}x{h}' for w, h in pr.sizes)}")
        if fps is not None and abs(fps - pr.fps) > 1e-6 or frames is not None and frames != pr.frames:
            raise InputError(f"--preset {preset} sets {pr.frames} frames at {pr.fps:g} fps; drop --fps/--frames")
        fps = pr.fps
    else:
        width, height = parse_size(size or "512x512")
    opts = {"preset": preset, "views": views, "layout": layout, "size": f"{width}x{height}", "signals": sig,
            "plucker": plucker, "metric_depth": metric_depth, "depth_range": depth_range, "png": png, "fps": fps,
            "frames": frames, "avatar": avatar, "body_name": body_name, "fov": fov, "seed": seed,
            "pose_style": pose_style, "depth_style": depth_style, "parts_style": parts_style, "device": device}
    if motion_path.is_dir():
        items = [BatchItem(str(p), (str(output / p.stem),), (str(p.absolute()), opts))
                 for p in list_inputs(motion_path, MOTION_SUFFIXES)]
        res = run_batch(_render_item, items, output, workers=workers, ray_address=ray_address, desc="render")
        click.echo(res.summary())
        click.get_current_context().exit(res.exit_code)
    if not motion_path.exists():
        raise InputError(f"{motion_path}: no such file")
    click.echo(render_motion_file(motion_path, output, progress=True, threads=nthreads, **opts))


def render_motion_file(motion_path: Path, output: Path, *, preset: str | None, views: int, layout: str, size: str,
                       signals: tuple[str, ...], plucker: bool, metric_depth: bool, depth_range: str, png: bool,
                       fps: float | None, frames: int | None, avatar: str, body_name: str, fov: float, seed: int,
                       pose_style: str, depth_style: str, parts_style: str, device: str, progress: bool,
                       threads: int | None = None) -> str:  # fmt: skip
    """Render one motion file into ``output`` (whole or not at all); returns the line the command prints."""
    from tqdm import tqdm

    from humokit._atomic import atomic_dir
    from humokit._cli_options import apply_threads, resolve_device
    from humokit.body import create_body
    from humokit.motion.importer import load_motion
    from humokit.render.controls import RENDER_PRESETS, clip_length, parse_size, pose_clip
    from humokit.render.multiview import render_multiview, view_cameras

    width, height = parse_size(size)
    if threads is not None:
        apply_threads(threads)
    dev = resolve_device(device)
    motion = load_motion(motion_path)
    if fps is not None and abs(fps - motion.fps) > 1e-6:
        motion = motion.resample(fps)
    if preset is not None:
        n = RENDER_PRESETS[preset].frames
        if motion.num_frames < n:
            raise InputError(f"--preset {preset}: needs {n} frames at {motion.fps:g} fps "
                             f"({(n - 1) / motion.fps:.2f} s), the motion has {motion.num_frames}")
    else:
        n = clip_length(motion.num_frames, frames)
    motion = motion.slice(0, n)
    body = create_body(body_name)
    clip = pose_clip(motion, body)
    if avatar == "gaussians":
        from humokit.render.controls import attach_gaussians

        clip = attach_gaussians(clip, body.rest(body.shape_from_motion(motion)))
    cams = view_cameras(layout, views, clip, width=width, height=height, fov_y=fov, seed=seed)  # type: ignore[arg-type]
    with atomic_dir(output) as tmp, tqdm(total=views * n, desc="render", unit="frame", leave=False,
                                         disable=not progress) as bar:
        render_multiview(tmp, clip, cams, signals=signals, fps=motion.fps, avatar=avatar,  # type: ignore[arg-type]
                         layout=layout, progress=bar, png=png, plucker=plucker, metric_depth=metric_depth,
                         depth_range=depth_range, device=dev, threads=threads or 1, pose_style=pose_style,  # type: ignore[arg-type]
                         depth_style=depth_style, parts_style=parts_style)  # type: ignore[arg-type]
    return f"wrote {views} views x {n} frames ({width}x{height}, {motion.fps:g} fps) to {output}"



def _render_item(args: tuple[str, dict], staging: Path) -> str:
    """Batch task: render one motion into ``staging/<stem>`` (moved into place by the runner)."""
    path, opts = args
    p = Path(path)
    render_motion_file(p, staging / p.stem, progress=False, **opts)
    return ""
