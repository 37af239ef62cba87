"""``humokit recover VIDEO``: world-grounded motion from a monocular video."""

from __future__ import annotations

from pathlib import Path

import click

from humokit._batch import BatchItem, batch_options, check_workers, list_inputs, run_batch
from humokit._cli_options import check_threads, threads_option
from humokit._options import FOCAL, FPS, PIXELS
from humokit.errors import InputError

VIDEO_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv", ".webm", ".m4v")


@click.command()
@click.argument("video", type=click.Path(path_type=Path))
@click.option("-o", "--output", type=click.Path(path_type=Path), default=None,
              help="Motion .npz to write (humokit + AMASS keys); default: <video name>.npz here. "
                   "The fitted camera and per-frame confidence go to <output>.camera.json. For a folder "
                   "VIDEO: the output folder (<video name>.npz and .camera.json each, plus manifest.jsonl).")
@click.option("--preview", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also write an MP4: fitted body over the video, beside a world-space view.")
@click.option("--person", type=click.IntRange(0, 1000), default=None,
              help="Which person to follow: 0 = largest/most central on the first frame with people (default), 1 = next...")
@click.option("--fps", type=FPS, default=None, help="Resample the video to this frame rate first (default: its own).")
@click.option("--focal", type=FOCAL, default=None, help="Focal length in pixels (default: max(width, height)).")
@click.option("--body", "body_name", type=click.Choice(["anny", "none"]), default="anny", show_default=True,
              help="Body proportions and preview mesh (none: canonical skeleton, skeleton preview).")
@click.option("--keypoints", "keypoints_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the cleaned keypoint track (.npz; with a moving camera, in the pixels of the "
                   "reference camera the body was fitted in).")
@click.option("--physics", type=click.Choice(["kinematic", "none"]), default="kinematic", show_default=True,
              help="Final step: kinematic = lock feet in contact and put them on the ground (leg IK, root "
                   "adjustment); none = the raw fit.")
@click.option("--camera", "camera_mode", type=click.Choice(["auto", "static", "moving"]), default="auto",
              show_default=True,
              help="auto = measure the camera's motion from the background and, when it moves, remove its turns "
                   "and travel (a warning says so); static = assume a fixed camera; moving = always remove them.")
@click.option("--preview-height", default=640, show_default=True, type=PIXELS, help="Preview height in pixels.")
@batch_options
@threads_option
def recover(video: Path, output: Path | None, preview: Path | None, person: int | None, fps: float | None,
            focal: float | None, body_name: str, keypoints_out: Path | None, physics: str, camera_mode: str,
            preview_height: int, workers: int | None, ray_address: str | None,
            threads: int | None) -> None:
    """Recover the world-grounded 3D motion of one person in VIDEO (or every video in a folder)
    (camera motion measured from the background and removed, gravity = -Y, metres)."""

    from humokit.optim.recover import body_skeleton, recover_video, save_recovery

    if fps is not None and not fps > 0:
        raise InputError(f"--fps must be positive, got {fps}")
    if focal is not None and not focal > 0:
        raise InputError(f"--focal must be positive, got {focal}")
    check_workers(workers)
    if video.is_dir():
        if output is None:
            raise InputError("-o OUTPUT_FOLDER is required with a folder of videos")
        if preview is not None or keypoints_out is not None:
            raise InputError("--preview and --keypoints take one file each: use them with a single VIDEO")
        opts = {"person": person, "fps": fps, "focal": focal, "body_name": body_name, "physics": physics,
                "camera": camera_mode}
        items = [BatchItem(str(v), (str(output / f"{v.stem}.camera.json"), str(output / f"{v.stem}.npz")),
                           (str(v.absolute()), str(v), opts)) for v in list_inputs(video, VIDEO_SUFFIXES)]
        res = run_batch(_recover_item, items, output, workers=workers, ray_address=ray_address, desc="recover")
        click.echo(res.summary())
        click.get_current_context().exit(res.exit_code)
    if preview is not None and preview.suffix.lower() != ".mp4":
        raise InputError(f"--preview {preview}: the preview is an .mp4 file")
    nthreads = check_threads(threads)
    output = output or Path(video.stem + ".npz")
    for what, p in (("-o", output), ("--keypoints", keypoints_out)):
        if p is not None and p.suffix.lower() != ".npz":
            raise InputError(f"{what} {p}: write it as .npz (e.g. {p.with_suffix('.npz').name})")
    from humokit._cli_options import apply_threads

    apply_threads(nthreads)  # detection, warm start and preview (the windowed fit itself runs its small steps on 1)
    progress = True  # bars obey TQDM_DISABLE (set by the CLI unless -v)
    skeleton, body = body_skeleton(body_name)
    rec = recover_video(video, person=person, fps=fps, focal=focal, skeleton=skeleton, physics=physics,  # type: ignore[arg-type]
                        body=body, camera=camera_mode, progress=progress)  # type: ignore[arg-type]
    from humokit._atomic import atomic_files
    from humokit.optim.recover import camera_json_path

    targets = [output, camera_json_path(output)] + [p for p in (keypoints_out, preview) if p is not None]
    with atomic_files(*targets) as tmps:  # all outputs appear together, or none (errors, Ctrl-C, SIGTERM)
        save_recovery(rec, tmps[0], video=video, camera_path=tmps[1])
        k = 2
        if keypoints_out is not None:
            rec.track.save(tmps[k])
            k += 1
        if preview is not None:
            from humokit.optim.preview import render_preview

            dots = rec.track if rec.cameras is None else rec.raw_track  # the image's own pixels
            render_preview(tmps[k], video, rec.fit, dots, body=body, height=preview_height, progress=progress,
                           cameras=rec.cameras)
    out, cam_path = output, camera_json_path(output)
    fit = rec.fit
    m = fit.motion
    click.echo(f"motion     {out} ({m.num_frames} frames, {m.fps:g} fps, person seen in "
               f"{int(rec.raw_track.found.sum())}/{m.num_frames} frames)")
    click.echo(f"camera     {cam_path} (height {fit.camera.center[1]:.2f} m, focal {fit.camera.K[0, 0]:.0f} px, "
               f"pitch {_pitch_deg(fit.camera):.1f} deg)")
    click.echo(f"fit        reprojection {float(fit.reprojection_error.mean()):.1f} px, "
               f"mean confidence {float(fit.confidence.mean()):.2f}")
    from humokit.optim.camera_motion import camera_warning

    if rec.camera_motion is not None:
        click.echo(f"camera     {rec.camera_motion.summary()}")
    warn = camera_warning(rec.camera_motion)
    if warn:
        click.echo(warn)
    if keypoints_out is not None:
        click.echo(f"keypoints  {keypoints_out}")
    if preview is not None:
        click.echo(f"preview    {preview}")


def _recover_item(args: tuple[str, str, dict], staging: Path) -> str:
    """Batch task: recover one video (absolute path, path as given) into ``staging/<stem>.npz`` and its
    camera sidecar."""
    from humokit.optim.recover import body_skeleton, recover_video, save_recovery

    path, given, opts = args
    video = Path(path)
    skeleton, body = body_skeleton(opts["body_name"])
    rec = recover_video(video, person=opts["person"], fps=opts["fps"], focal=opts["focal"], skeleton=skeleton,
                        physics=opts["physics"], body=body, camera=opts.get("camera", "auto"), progress=False)
    save_recovery(rec, staging / f"{video.stem}.npz", video=given)
    moving = " (camera moves)" if rec.camera_motion is not None and rec.camera_motion.moving else ""
    return f"{rec.fit.motion.num_frames} frames, reprojection {float(rec.fit.reprojection_error.mean()):.1f} px{moving}"


def _pitch_deg(camera) -> float:  # type: ignore[no-untyped-def]
    import math

    fwd = camera.R[2]  # optical axis in the world
    return math.degrees(math.asin(max(-1.0, min(1.0, -float(fwd[1])))))
