"""``humokit recover VIDEO``: world-grounded motion from a monocular video."""

from __future__ import annotations

from pathlib import Path

import click

from humokit._batch import BatchItem, batch_options, check_workers, list_inputs, run_batch
from humokit._cli_options import check_device, check_threads, device_option, threads_option
from humokit._options import CAMERA_HEIGHT, FOCAL, FPS, PERSON, PIXELS
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
@click.option("--person", type=PERSON, default=None,
              help="Which person to follow: 0 = largest/most central on the first frame with people (default), "
                   "1 = next...; all = every person, into the folder -o OUTDIR (person<i>.npz and "
                   "person<i>.camera.json each, camera.json: the shared camera and a summary per person).")
@click.option("--fps", type=FPS, default=None, help="Resample the video to this frame rate first (default: its own).")
@click.option("--focal", type=FOCAL, default=None, help="Focal length in pixels (default: measured from a walk in depth "
                   "when the camera is static and the clip shows one, else max(width, height)).")
@click.option("--camera-height", type=CAMERA_HEIGHT, default=None,
              help="The camera's height above the ground in metres, when known: it fixes the scale (the body's "
                   "height, distances and speeds follow); default: the body's height is estimated from the "
                   "detector's 3D landmarks and an adult height prior.")
@click.option("--body", "body_name", type=click.Choice(["anny", "smpl", "smplh", "smplx", "none"]), default="anny",
              show_default=True,
              help="Body proportions and preview mesh (none: canonical skeleton, skeleton preview). smpl/smplh/smplx "
                   "need your model files (--body-model-path or $HUMOKIT_SMPL_DIR); the betas fitted to the clip's "
                   "height and bone proportions are written into the motion.")
@click.option("--body-model-path", type=click.Path(path_type=Path), default=None,
              help="SMPL-family model file or folder (<dir>/smpl/SMPL_NEUTRAL.pkl ...) for --body smpl/smplh/smplx.")
@click.option("--keypoints", "keypoints_out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Also save the cleaned keypoint track (.npz; with a moving camera, in the pixels of the "
                   "reference camera the body was fitted in).")
@click.option("--physics", type=click.Choice(["kinematic", "none"]), default="kinematic", show_default=True,
              help="Last step of the fit: kinematic = lock feet in contact and put them on the ground (leg IK, "
                   "root adjustment); none = the fit's own contact and ground terms only. The reprojection error "
                   "and confidence reported are those of the saved motion.")
@click.option("--camera", "camera_mode", type=click.Choice(["auto", "static", "moving"]), default="auto",
              show_default=True,
              help="auto = measure the camera's motion from the background and, when it moves, remove its turns "
                   "and travel (a warning says so); static = assume a fixed camera; moving = always remove them.")
@click.option("--preview-height", default=640, show_default=True, type=PIXELS, help="Preview height in pixels.")
@batch_options
@threads_option
@device_option
def recover(video: Path, output: Path | None, preview: Path | None, person: int | str | None, fps: float | None,
            focal: float | None, body_name: str, keypoints_out: Path | None, physics: str, camera_mode: str,
            preview_height: int, workers: int | None, ray_address: str | None,
            threads: int | None, device: str, camera_height: float | None, body_model_path: Path | None) -> None:
    """Recover the world-grounded 3D motion of one person (or every person) in VIDEO (or every video in a folder)
    (camera motion measured from the background and removed, gravity = -Y, metres)."""

    from humokit.optim.fit import FitConfig
    from humokit.optim.recover import body_skeleton, recover_video, save_recovery

    if fps is not None and not fps > 0:
        raise InputError(f"--fps must be positive, got {fps}")
    if focal is not None and not focal > 0:
        raise InputError(f"--focal must be positive, got {focal}")
    check_workers(workers)
    check_device(device)
    if person == "all":
        _recover_all(video, output, preview, keypoints_out, fps, focal, body_name, physics, threads, device,
                     camera_height, body_model_path)
        return
    if video.is_dir():
        if output is None:
            raise InputError("-o OUTPUT_FOLDER is required with a folder of videos")
        if preview is not None or keypoints_out is not None:
            raise InputError("--preview and --keypoints take one file each: use them with a single VIDEO")
        from humokit._cli_options import resolve_device

        opts = {"person": person, "fps": fps, "focal": focal, "body_name": body_name, "physics": physics,
                "body_model_path": None if body_model_path is None else str(body_model_path.absolute()),
                "device": resolve_device(device), "camera_height": camera_height, "camera": camera_mode}
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
    from humokit._cli_options import apply_threads, resolve_device

    dev = resolve_device(device)  # before any model loads: a missing GPU is one error line
    apply_threads(nthreads)  # detection, warm start and preview (the windowed fit itself runs its small steps on 1)
    progress = True  # bars obey TQDM_DISABLE (set by the CLI unless -v)
    skeleton, body = body_skeleton(body_name, body_model_path)
    config = FitConfig(camera_height=camera_height) if camera_height is not None else None
    rec = recover_video(video, person=person, fps=fps, focal=focal, skeleton=skeleton, physics=physics,  # type: ignore[arg-type]
                        body=body, progress=progress, device=dev, config=config, camera=camera_mode)  # type: ignore[arg-type]
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

            dots = rec.track
            if rec.cameras is not None:  # the image's own pixels, over the fitted span
                from humokit.optim.people import trim

                a = rec.track.start - rec.raw_track.start
                dots = trim(rec.raw_track, a, a + rec.track.num_frames)
            render_preview(tmps[k], video, rec.fit, dots, body=body, height=preview_height, progress=progress,
                           cameras=rec.cameras)
    out, cam_path = output, camera_json_path(output)
    fit = rec.fit
    m = fit.motion
    click.echo(f"motion     {out} ({m.num_frames} frames, {m.fps:g} fps, from video frame {rec.track.start}, person "
               f"seen in {int(rec.track.found.sum())}/{m.num_frames} frames)")
    how = {"walk": ", measured from the walk", "prior": ", field-of-view prior"}.get(rec.focal.source, "") \
        if rec.focal is not None else ""
    click.echo(f"camera     {cam_path} (height {fit.camera.center[1]:.2f} m, focal {fit.camera.K[0, 0]:.0f} px{how}, "
               f"pitch {_pitch_deg(fit.camera):.1f} deg)")
    for line in summary_lines(rec):
        click.echo(line)
    if keypoints_out is not None:
        click.echo(f"keypoints  {keypoints_out}")
    if preview is not None:
        click.echo(f"preview    {preview}")


def _recover_all(video: Path, output: Path | None, preview: Path | None, keypoints_out: Path | None,
                 fps: float | None, focal: float | None, body_name: str, physics: str, threads: int | None,
                 device: str, camera_height: float | None, body_model_path: Path | None = None) -> None:
    """``--person all``: every person of one video into the folder ``output``, in one world frame."""
    from humokit._cli_options import apply_threads, resolve_device
    from humokit.optim.fit import FitConfig
    from humokit.optim.recover import body_skeleton, recover_people, save_people

    if video.is_dir():
        raise InputError("--person all takes one VIDEO, not a folder")
    if output is None:
        raise InputError("--person all writes a folder: give it with -o OUTDIR")
    if output.suffix.lower() == ".npz" or (output.exists() and not output.is_dir()):
        raise InputError(f"-o {output}: --person all writes a folder (person0.npz, person1.npz, ...), not a file")
    if preview is not None or keypoints_out is not None:
        raise InputError("--preview and --keypoints follow one person: use them with --person N")
    nthreads = check_threads(threads)
    dev = resolve_device(device)
    apply_threads(nthreads)
    skeleton, body = body_skeleton(body_name, body_model_path)
    config = FitConfig(camera_height=camera_height) if camera_height is not None else None
    res = recover_people(video, fps=fps, focal=focal, skeleton=skeleton, physics=physics,  # type: ignore[arg-type]
                         body=body, progress=True, device=dev, config=config)
    summary = save_people(res, output, video=video)
    cam = res.camera
    click.echo(f"people     {len(res.people)} in {output} (camera.json: shared camera, height {cam.center[1]:.2f} m, "
               f"focal {cam.K[0, 0]:.0f} px, pitch {_pitch_deg(cam):.1f} deg, set by person{res.reference})")
    for p in summary["people"]:
        rp = p["reprojection_px"]
        click.echo(f"person{p['person']:<4} {output / p['motion']} (video frames {p['frame_start']}-{p['frame_stop'] - 1}, "
                   f"seen in {p['frames_found']}/{p['frames']}, reprojection "
                   f"{'n/a' if rp is None else f'{rp:.1f} px'}{', partial body' if p['partial_body'] else ''})")
        for w in p["warnings"]:
            click.echo(f"  warning  {w}")
    for s in summary["skipped_tracks"]:
        click.echo(f"skipped    track {s['track']}: {s['reason']}")


def _recover_item(args: tuple[str, str, dict], staging: Path) -> str:
    """Batch task: recover one video (absolute path, path as given) into ``staging/<stem>.npz`` and its
    camera sidecar."""
    from humokit.optim.fit import FitConfig
    from humokit.optim.recover import body_skeleton, recover_video, save_recovery

    path, given, opts = args
    video = Path(path)
    skeleton, body = body_skeleton(opts["body_name"], opts.get("body_model_path"))
    ch = opts.get("camera_height")
    rec = recover_video(video, person=opts["person"], fps=opts["fps"], focal=opts["focal"], skeleton=skeleton,
                        physics=opts["physics"], body=body, progress=False, device=opts.get("device", "cpu"),
                        config=FitConfig(camera_height=ch) if ch is not None else None,
                        camera=opts.get("camera", "auto"))
    save_recovery(rec, staging / f"{video.stem}.npz", video=given)
    warn = rec.warnings
    return (f"{rec.fit.motion.num_frames} frames, reprojection {rec.fit.mean_reprojection():.1f} px"
            + (f"; warning: {'; '.join(warn)}" if warn else ""))


def summary_lines(rec) -> list[str]:  # type: ignore[no-untyped-def]
    """The fit's summary lines: body size, reprojection and confidence over detected frames, warnings."""
    fit = rec.fit
    det = fit.detected
    lines = []
    if fit.size is not None:
        cues = ", ".join(f"{c.name} {c.height:.2f} m" for c in fit.size.cues)
        lines.append(f"body       height {fit.size.height:.2f} m ({cues})")
    conf = float(fit.confidence[det].mean()) if det.any() else 0.0
    lines.append(f"fit        reprojection {fit.mean_reprojection():.1f} px, mean confidence {conf:.2f} "
                 f"(saved motion, {int(det.sum())} frames with a detection)")
    if getattr(rec, "camera_motion", None) is not None:
        lines.append(f"camera     {rec.camera_motion.summary()}")
    lines += [f"warning    {w}" for w in rec.warnings]
    return lines


def _pitch_deg(camera) -> float:  # type: ignore[no-untyped-def]
    import math

    fwd = camera.R[2]  # optical axis in the world
    return math.degrees(math.asin(max(-1.0, min(1.0, -float(fwd[1])))))
