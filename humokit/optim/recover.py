"""Monocular video -> world-grounded motion: the whole pipeline and its outputs.

:func:`recover_video` runs keypoints (:mod:`~humokit.optim.track`, MediaPipe
by default) -> left/right swap repair and cleaning -> body size
(:mod:`~humokit.optim.scale`), IK warm start and temporal fit
(:mod:`~humokit.optim.fit`), whose last step is the kinematic physics
projection followed by a refinement that keeps the 2D error, so the
reprojection error and confidence are those of the saved motion.
:func:`save_recovery` writes the motion (``Motion.save``: humokit + AMASS
keys) and, beside it, ``<stem>.camera.json`` with the fitted camera, the
ground plane, the body's height, per-frame confidence and the warnings of
:func:`recovery_warnings` (checks registered with :func:`register_warning`
add theirs, e.g. a moving camera).
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

import numpy as np

from humokit._io import atomic_path
from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.skeleton import Skeleton
from humokit.optim.fit import FitConfig, FitResult, fit_track
from humokit.optim.keypoints import KeypointDetector
from humokit.optim.scale import BodyFamily
from humokit.optim.people import TrackReport, detect_track, hold_unseen_limbs, prepare_track, reliable_span, trim
from humokit.optim.track import KeypointTrack, clean_track, fix_swaps, reject_glitches, reject_outlier_landmarks

if TYPE_CHECKING:
    from humokit.optim.camera_motion import CameraMotion
    from humokit.optim.focal import FocalEstimate
    from humokit.render.camera import CameraTrajectory


PhysicsMode = Literal["kinematic", "none"]
PHYSICS_MODES: tuple[str, ...] = ("kinematic", "none")
CameraMode = Literal["auto", "static", "moving"]
CAMERA_MODES: tuple[str, ...] = ("auto", "static", "moving")


@dataclass(frozen=True)
class Recovery:
    """Everything :func:`recover_video` produced.

    Attributes:
        fit: the fitted motion, camera, confidences (frames ``report.span`` of the video).
        track: cleaned keypoint track (what was fitted, trimmed to the reliable span: ``track.start``
            is its first video frame); raw_track: as detected (whole video).
        timings: seconds per stage: ``decode``, ``detect``, ``clean``, ``init``, ``fit``.
        report: span, dropouts and unseen body parts (:class:`~humokit.optim.people.TrackReport`).
        camera_motion: the camera's own motion measured from the background
            (:mod:`~humokit.optim.camera_motion`), None when not measured.
        cameras: per-frame cameras when the camera's turns were removed (``fit.camera`` is then
            the reference camera the body was fitted in), else None.
        focal: how the focal length was chosen (:func:`~humokit.optim.focal.estimate_focal`): given,
            measured from a walk, or the field-of-view prior; None for a moving camera (its default).
    """

    fit: FitResult
    track: KeypointTrack
    raw_track: KeypointTrack
    timings: dict[str, float] = field(default_factory=dict)
    report: TrackReport | None = None
    camera_motion: CameraMotion | None = None
    cameras: CameraTrajectory | None = None
    focal: FocalEstimate | None = None

    @property
    def warnings(self) -> list[str]:
        """What a user should know about this recovery (:func:`recovery_warnings`)."""
        return recovery_warnings(self)


# ----------------------------------------------------------------------------- warnings

WarningCheck = Callable[["Recovery"], "list[str]"]
_WARNING_CHECKS: list[WarningCheck] = []
LOW_CONFIDENCE = 0.5  # mean confidence over detected frames below this is reported
MISSED_FRAMES = 0.05  # a larger fraction of frames without a detection is reported


def register_warning(check: WarningCheck) -> WarningCheck:
    """Add a check to every recovery's warnings (a function ``Recovery -> list of one-line messages``).

    Usable as a decorator; registering the same function twice has no effect. (The moving-camera warning
    of :mod:`~humokit.optim.camera_motion` is built in: that module cannot import this one.)
    """
    if check not in _WARNING_CHECKS:
        _WARNING_CHECKS.append(check)
    return check


def _builtin_warnings(rec: "Recovery") -> list[str]:
    out: list[str] = rec.report.warnings(rec.track.fps) if rec.report is not None else []
    fit = rec.fit
    T = len(fit.reprojection_error)
    det = fit.detected
    missed = T - int(det.sum())
    if T and missed / T > MISSED_FRAMES:
        out.append(f"no detection in {missed}/{T} frames ({100 * missed / T:.0f} %): those frames are "
                   f"interpolated, not seen")
    if det.any():
        c = float(fit.confidence[det].mean())
        if c < LOW_CONFIDENCE:
            out.append(f"low confidence {c:.2f} (below {LOW_CONFIDENCE}): the fitted body often misses the "
                       f"detected keypoints or the detector is unsure")
    size = fit.size
    if size is not None and size.cues and all(c.name == "height prior" for c in size.cues):
        out.append(f"body height {size.height:.2f} m is the prior's (no metric evidence): distances and "
                   f"speeds scale with it")
    return out


def recovery_warnings(rec: "Recovery") -> list[str]:
    """Built-in warnings (frames without a detection, low confidence, unmeasured size) plus the registered checks."""
    out = _builtin_warnings(rec)
    if rec.camera_motion is not None:
        from humokit.optim.camera_motion import camera_warning

        w = camera_warning(rec.camera_motion)
        if w:
            out.append(w)
    for check in _WARNING_CHECKS:
        out.extend(check(rec))
    return out


def apply_physics(motion: Motion, physics: PhysicsMode = "kinematic", *, body: object | None = None) -> Motion:
    """Kinematic clean-up of any motion (the recovery itself runs it inside the fit, :func:`fit_track`).

    ``"kinematic"``: :func:`humokit.optim.physics.project_motion` with the
    fit's own foot contacts (feet in contact are locked where the contact
    began, leg IK keeps the bone lengths, soles go onto the ground ``y = 0``,
    the root moves where a locked foot is out of reach); ``body`` (a
    BodyModel) measures the soles on its mesh, None on the skeleton.
    ``"none"``: the motion unchanged. The fit's contacts are kept either way.
    """
    if physics not in PHYSICS_MODES:
        raise InputError(f"physics must be one of {PHYSICS_MODES}, got {physics!r}")
    if physics == "none" or motion.num_frames < 2:
        return motion
    from humokit.optim.physics import project_motion

    contacts = motion.contacts
    out = cast(Motion, project_motion(motion, body, contacts=contacts, use_stored_contacts=contacts is not None))
    return out.replace(contacts=contacts) if contacts is not None else out


def body_skeleton(body: str | None = "anny", model_path: str | Path | None = None) -> tuple[Skeleton | None, object | None]:
    """``(skeleton, body model)`` to fit with: Anny's proportions when available, else the canonical adult.

    ``"smpl"``, ``"smplh"``, ``"smplx"``: the user's SMPL-family model (``model_path``, a file or folder, or
    ``$HUMOKIT_SMPL_DIR``); a missing or unreadable model is an error, not a silent fallback.

    Raises:
        InputError / MissingDependencyError: the SMPL model cannot be loaded.
    """
    if body is None or body == "none":
        return None, None
    from humokit.body import create_body

    if body in ("smpl", "smplh", "smplx"):
        bm = create_body(body, model_path=model_path)
        return bm.rest().skeleton, bm
    try:
        bm = create_body(body)
        return bm.rest(bm.default_shape()).skeleton, bm
    except Exception:  # optional back-end missing or broken: fall back to the canonical skeleton
        return None, None


def recover_video(
    video: str | Path,
    *,
    person: int | None = None,
    fps: float | None = None,
    focal: float | None = None,
    detector: KeypointDetector | None = None,
    skeleton: Skeleton | None = None,
    config: FitConfig | None = None,
    physics: PhysicsMode = "kinematic",
    body: object | None = None,
    camera: CameraMode = "auto",
    progress: bool = True,
    device: str = "cpu",
) -> Recovery:
    """Recover one person's world-grounded motion from a monocular video.

    Args:
        video: input file (anything PyAV decodes).
        person: which person (0 = largest/most central on the first frame with people).
        fps: resample the video to this rate first (default: its own rate).
        focal: focal length in pixels (default ``max(width, height)``).
        detector: keypoint back-end (default MediaPipe Pose).
        skeleton: body proportions (default canonical adult; the CLI uses Anny's).
        config: fit settings.
        physics: ``"kinematic"`` (default): the fit ends with the kinematic
            projection (contact feet locked, on the ground) and a joint
            refinement that keeps the 2D error; ``"none"``: the fit's contact
            terms only.
        body: BodyModel: its mesh gives the sole heights for ``physics``, and
            an Anny body is sized by its phenotype (default: the skeleton's).
        camera: ``"auto"`` measures the camera's motion from the background
            (:func:`~humokit.optim.camera_motion.estimate_camera_motion`) and,
            when it moves, removes its turns before the fit and its travel
            after it; ``"moving"`` always removes them; ``"static"`` assumes a
            fixed camera.
        device: torch device of the fit (``"cpu"``, ``"cuda"``, ``"cuda:N"``).
    Raises:
        FileFormatError: unreadable / empty video or unsupported codec.
        InputError: no person found.
        MissingDependencyError: MediaPipe missing.
    """
    if physics not in PHYSICS_MODES:
        raise InputError(f"physics must be one of {PHYSICS_MODES}, got {physics!r}")
    if camera not in CAMERA_MODES:
        raise InputError(f"camera must be one of {CAMERA_MODES}, got {camera!r}")
    raw = detect_track(video, detector, person=person, fps=fps, progress=progress)
    cm = None
    if camera != "static":
        from humokit.optim.camera_motion import estimate_camera_motion

        t0 = time.perf_counter()
        cm = estimate_camera_motion(video, raw, focal=focal, force=camera == "moving")
        raw = replace(raw, timings={**raw.timings, "camera": time.perf_counter() - t0})
    return recover_track(raw, focal=focal, skeleton=skeleton, config=config, physics=physics, body=body,
                         camera_motion=cm, progress=progress, device=device)


def recover_track(
    raw: KeypointTrack,
    *,
    focal: float | None = None,
    skeleton: Skeleton | None = None,
    config: FitConfig | None = None,
    physics: PhysicsMode = "kinematic",
    body: object | None = None,
    camera_motion: CameraMotion | None = None,
    progress: bool = True,
    device: str = "cpu",
    camera: tuple[float, float, float] | None = None,
    heading: bool = False,
) -> Recovery:
    """The part of :func:`recover_video` after the detector: trimming, swap repair, cleaning, fit with physics.

    ``raw`` is a track as :func:`~humokit.optim.people.detect_track` returns it
    (e.g. one saved with :meth:`KeypointTrack.save` and loaded again); the
    other arguments are those of :func:`recover_video`. The track is first
    trimmed to where the person is reliably seen
    (:func:`~humokit.optim.people.prepare_track`: frames before the first or
    after the last run of detections are not fabricated); body parts the
    video never shows are held at a neutral pose
    (:func:`~humokit.optim.people.hold_unseen_limbs`) and reported.
    ``camera`` = ``(pitch, roll, height)`` holds the camera fixed (see
    :func:`~humokit.optim.fit.fit_track`). Without ``focal`` and with a static camera, the focal length is
    measured from the person's walk when the clip shows one (:func:`~humokit.optim.focal.estimate_focal`),
    else ``max(width, height)``. With a moving ``camera_motion`` its turns are removed from the track first
    (:func:`~humokit.optim.camera_motion.compensate_track`) and the result
    carries the per-frame cameras. ``heading``: on forward-walking stretches the body is turned to face its
    direction of travel (:func:`face_travel`); off by default (mixed on val, see :mod:`~humokit.optim.heading`).
    """
    if physics not in PHYSICS_MODES:
        raise InputError(f"physics must be one of {PHYSICS_MODES}, got {physics!r}")
    t0 = time.perf_counter()
    trimmed, report = prepare_track(raw)
    moving = camera_motion is not None and camera_motion.moving
    if moving:  # turns removed on the whole video's track, then the same reliable span
        from humokit.optim.camera_motion import compensate_track

        a = trimmed.start - raw.start
        trimmed = trim(compensate_track(raw, camera_motion), a, a + trimmed.num_frames)  # type: ignore[arg-type]
    track, report = _trim_glitched_ends(reject_outlier_landmarks(reject_glitches(fix_swaps(trimmed))), report)
    track = hold_unseen_limbs(clean_track(track), report.unseen)
    focal_est = None
    if not moving:  # a static camera: an unknown focal is measured from a walk on the ground, if there is one
        from humokit.optim.focal import estimate_focal

        focal_est = estimate_focal(track, focal=focal)
        focal = focal_est.focal
    t_clean = time.perf_counter() - t0
    family = body_family(body, skeleton, track)
    fit = fit_track(track, focal=focal, skeleton=skeleton, config=config, progress=progress,
                    family=family, physics=physics, body=body, device=device, camera=camera)
    if fit.size is not None and family is not None and family.betas_at(fit.size.height) is not None:
        # an SMPL body: its shape goes with the motion (also when a known camera height set the size)
        betas = fit.size.betas if fit.size.betas is not None else family.betas_at(fit.size.height)
        fit = replace(fit, motion=fit.motion.replace(betas=np.asarray(betas, dtype=np.float32)),
                      size=replace(fit.size, betas=betas))
    cameras = None
    fit_ref = fit  # the fit in its reference camera (before a moving camera's travel is added)
    if moving:
        from humokit.optim.camera_motion import apply_camera_motion

        moved, cameras = apply_camera_motion(fit, camera_motion, start=track.start - raw.start)  # type: ignore[arg-type]
        if moved is not fit and physics != "none":  # the body was moved by the camera's travel: feet again locked
            t0 = time.perf_counter()
            moved = replace(moved, motion=apply_physics(moved.motion, physics, body=body))
            fit = replace(moved, timings={**moved.timings, "physics": time.perf_counter() - t0})
        else:
            fit = moved
    if heading:
        fit = face_travel(fit, track, physics=physics, body=body, config=config, reference=fit_ref)
    timings = {**raw.timings, "clean": t_clean, **fit.timings}
    return Recovery(fit, track, raw, timings, report, camera_motion, cameras, focal_est)


def _trim_glitched_ends(track: KeypointTrack, report: TrackReport) -> tuple[KeypointTrack, TrackReport]:
    """``track`` cut again to its reliable span after :func:`reject_glitches` (frames it dropped at either end
    would otherwise be held at the nearest detection, not seen), and ``report`` with that span."""
    span = reliable_span(track.found, track.fps)
    if span is None or span == (0, track.num_frames):
        return track, report
    track = trim(track, *span)
    a, b = track.start, track.start + track.num_frames
    report = replace(report, span=(a, b), found=int(track.found.sum()),
                     dropouts=[(s, e) for s, e in report.dropouts if s >= a and e <= b])
    return track, report


def face_travel(fit: FitResult, track: KeypointTrack, *, physics: PhysicsMode = "kinematic", body: object | None = None,
                config: FitConfig | None = None, reference: FitResult | None = None) -> FitResult:
    """The fit with the body turned to face its direction of travel on forward-walking stretches
    (:mod:`~humokit.optim.heading`), feet locked again (``physics``) and the reprojection error and
    confidence measured on the result; unchanged when the clip has no such stretch.

    ``reference``: the same fit before a moving camera's travel was added to the body's path
    (:func:`~humokit.optim.camera_motion.apply_camera_motion`); the result is then measured in that
    reference camera with the travel taken off again."""
    from humokit.optim.fit import frame_quality
    from humokit.optim.heading import heading_correction, turn_root

    m = fit.motion
    yaw = heading_correction(m.joints(), m.fps)
    if not np.abs(yaw).max() > 1e-4:
        return fit
    t0 = time.perf_counter()
    m = apply_physics(turn_root(m, yaw), physics, body=body)
    seen = m
    if reference is not None and reference.motion.num_frames == m.num_frames:
        travel = fit.motion.root_position - reference.motion.root_position
        seen = m.replace(root_position=m.root_position - travel)
    err, conf = frame_quality(seen, fit.camera, track, config)
    timings = {**fit.timings, "physics": fit.timings.get("physics", 0.0) + time.perf_counter() - t0}
    return replace(fit, motion=m, reprojection_error=err, confidence=conf, timings=timings)


def body_family(body: object | None, skeleton: Skeleton | None, track: KeypointTrack | None = None) -> BodyFamily | None:
    """The body family the size estimate picks from: Anny's phenotype heights for an Anny body whose
    default skeleton is the one fitted; for an SMPL-family body the betas of that height with the body
    proportions of ``track``'s metric 3D landmarks (:class:`~humokit.optim.scale.SMPLFamily`); else None
    (the skeleton scaled)."""
    if body is not None and getattr(body, "name", None) in ("smpl", "smplh", "smplx"):
        from humokit.optim.scale import SMPLFamily, landmark_proportions

        base = body.rest().skeleton  # type: ignore[attr-defined]
        if skeleton is not None and not np.allclose(base.offsets, skeleton.offsets):
            return None
        props = (landmark_proportions(track.world, track.confidence, track.names, base)
                 if track is not None else None)
        return SMPLFamily(body, props)
    if body is None or getattr(body, "name", None) != "anny":
        return None
    fam = BodyFamily.anny(body)
    if skeleton is not None and not np.allclose(fam.base.offsets, skeleton.offsets):
        return None
    return fam


def camera_json_path(output: str | Path) -> Path:
    """``motion.npz`` -> ``motion.camera.json``."""
    p = Path(output)
    return p.with_name(p.stem + ".camera.json")


def save_recovery(rec: Recovery, output: str | Path, *, video: str | Path | None = None,
                  camera_path: str | Path | None = None) -> tuple[Path, Path]:
    """Write ``output`` (.npz motion) and its sidecar (``camera_path``, default ``<output>.camera.json``); returns both."""
    out = Path(output)
    if out.suffix.lower() != ".npz":
        out = out.with_suffix(".npz")
    fit = rec.fit
    cam_path = Path(camera_path) if camera_path is not None else camera_json_path(out)
    info = {
        "video": str(video) if video is not None else None,
        "fps": fit.motion.fps,
        "num_frames": fit.motion.num_frames,
        "camera": fit.camera.to_dict(),
        "camera_center": fit.camera.center.tolist(),
        "focal_px": float(fit.camera.K[0, 0]),
        **({"focal": rec.focal.to_dict()} if rec.focal is not None else {}),
        "ground": {"normal": [0.0, 1.0, 0.0], "offset": 0.0, "note": "world Y up, ground plane y = 0, metres"},
        "skeleton_scale": fit.scale,
        "body": _size_info(fit),
        "summary": {
            "frames_detected": int(fit.detected.sum()),
            "reprojection_px_mean": _finite(fit.mean_reprojection()),
            "confidence_mean": _finite(float(fit.confidence[fit.detected].mean()) if fit.detected.any() else 0.0),
            "note": "reprojection error and confidence of the saved motion, over frames with a detection",
        },
        "warnings": rec.warnings,
        "confidence": np.round(fit.confidence, 4).tolist(),
        "reprojection_error_px": [None if not math.isfinite(e) else round(float(e), 3) for e in fit.reprojection_error],
        "frame_start": rec.track.start,
        "person_found": rec.track.found.astype(int).tolist(),
        **({"track": rec.report.to_dict(fit.motion.fps)} if rec.report is not None else {}),
        "landmarks": list(rec.track.names),
        "timings_s": {k: round(v, 4) for k, v in rec.timings.items()},
    }
    if rec.camera_motion is not None:
        info["camera_motion"] = rec.camera_motion.to_dict()
    if rec.cameras is not None:
        Rt = np.concatenate([rec.cameras.R, rec.cameras.t[:, :, None]], axis=2)
        info["cameras_per_frame"] = {"world_to_camera": np.round(Rt, 6).tolist(),
                                     "note": "(T, 3, 4) world-to-camera [R | t] per frame, same K; 'camera' is "
                                             "the reference camera the body was fitted in"}
    fit.motion.save(str(out))
    with atomic_path(cam_path) as tmp:
        tmp.write_text(json.dumps(info, indent=1))
    return out, cam_path


def _finite(x: float) -> float | None:
    return round(float(x), 4) if math.isfinite(x) else None


def _size_info(fit: FitResult) -> dict | None:
    size = fit.size
    if size is None:
        return None
    return {"height_m": round(size.height, 4), "sigma_log": _finite(size.sigma),
            "anny_phenotype": size.phenotype,
            **({"smpl_betas": [round(float(b), 5) for b in size.betas]} if size.betas is not None else {}),
            "cues": [{"name": c.name, "height_m": round(c.height, 4), "sigma_log": c.sigma} for c in size.cues]}


# ----------------------------------------------------------------------------- every person


@dataclass(frozen=True)
class PeopleRecovery:
    """Every person of a video recovered in one world frame (one camera, one ground).

    Attributes:
        people: one :class:`Recovery` per person, in :func:`~humokit.optim.people.rank_people` order;
            every ``fit.camera`` is the shared camera and every motion lies in its world frame.
        reference: index in ``people`` of the person whose fit set the camera (the most reliably seen).
        skipped: ``(track index, reason)`` of tracks that could not be recovered (e.g. too few frames).
    """

    people: list[Recovery]
    reference: int
    skipped: list[tuple[int, str]] = field(default_factory=list)

    @property
    def camera(self):  # type: ignore[no-untyped-def]
        return self.people[self.reference].fit.camera


def camera_parameters(camera) -> tuple[float, float, float, float]:  # type: ignore[no-untyped-def]
    """``(pitch, roll, height, focal)`` of a fitted static camera (radians, metres, pixels)."""
    from humokit.optim.camera_model import pitch_roll_from_up

    pitch, roll = pitch_roll_from_up(np.asarray(camera.R)[:, 1])
    return pitch, roll, float(camera.center[1]), float(camera.K[0, 0])


def _reliability(raw: KeypointTrack) -> float:
    """How well a person is seen: found frames in the reliable span x mean confidence of the seen body,
    halved for a partial body (their feet do not show where the ground is)."""
    trimmed, report = prepare_track(raw)
    conf = float(trimmed.confidence[trimmed.found].mean()) if trimmed.found.any() else 0.0
    return report.found * conf * (0.5 if report.partial else 1.0)


def recover_people_tracks(
    tracks: list[KeypointTrack],
    *,
    focal: float | None = None,
    skeleton: Skeleton | None = None,
    config: FitConfig | None = None,
    physics: PhysicsMode = "kinematic",
    body: object | None = None,
    progress: bool = True,
    device: str = "cpu",
) -> PeopleRecovery:
    """Recover every track of one video in a shared world frame.

    The most reliably seen person (:func:`_reliability`) is fitted first and
    sets the camera (pitch, roll, height, focal); every other person is fitted
    with that camera held fixed (:func:`~humokit.optim.fit.fit_track`'s
    ``camera``) and moved into the reference's world frame (same ground
    ``y = 0``, same origin), so distances between people are measured in
    one frame. A track without a reliable span is skipped and listed.

    Raises:
        InputError: no track can be recovered.
    """
    scores: list[float] = []
    skipped: list[tuple[int, str]] = []
    for i, tr in enumerate(tracks):
        try:
            scores.append(_reliability(tr))
        except InputError as exc:
            scores.append(-1.0)
            skipped.append((i, str(exc)))
    usable = [i for i, s in enumerate(scores) if s >= 0]
    if not usable:
        raise InputError("no person could be recovered: " + "; ".join(r for _, r in skipped))
    ref = max(usable, key=lambda i: scores[i])
    kw = {"skeleton": skeleton, "config": config, "physics": physics, "body": body, "progress": progress,
          "device": device}
    recs: dict[int, Recovery] = {ref: recover_track(tracks[ref], focal=focal, **kw)}  # type: ignore[arg-type]
    cam_ref = recs[ref].fit.camera
    pitch, roll, height, f = camera_parameters(cam_ref)
    for i in usable:
        if i == ref:
            continue
        rec = recover_track(tracks[i], focal=f, camera=(pitch, roll, height), **kw)  # type: ignore[arg-type]
        shift = (np.asarray(cam_ref.center) - np.asarray(rec.fit.camera.center)).astype(np.float32)
        shift[1] = 0.0  # same height by construction
        motion = rec.fit.motion.replace(root_position=rec.fit.motion.root_position + shift)
        recs[i] = replace(rec, fit=replace(rec.fit, motion=motion, camera=cam_ref))
    order = sorted(recs)
    return PeopleRecovery([recs[i] for i in order], order.index(ref), skipped)


def recover_people(
    video: str | Path,
    *,
    fps: float | None = None,
    focal: float | None = None,
    detector: KeypointDetector | None = None,
    skeleton: Skeleton | None = None,
    config: FitConfig | None = None,
    physics: PhysicsMode = "kinematic",
    body: object | None = None,
    max_people: int = 6,
    progress: bool = True,
    device: str = "cpu",
) -> PeopleRecovery:
    """Every person's world-grounded motion from a monocular video, in one world frame.

    Tracks everyone (:func:`~humokit.optim.people.detect_people`), then
    :func:`recover_people_tracks`. Arguments as :func:`recover_video`;
    ``max_people``: most people looked for per frame.
    """
    from humokit.optim.people import detect_people

    if physics not in PHYSICS_MODES:
        raise InputError(f"physics must be one of {PHYSICS_MODES}, got {physics!r}")
    people = detect_people(str(video), detector, fps=fps, max_people=max_people, progress=progress)
    return recover_people_tracks(people.tracks, focal=focal, skeleton=skeleton, config=config, physics=physics,
                                 body=body, progress=progress, device=device)


def save_people(result: PeopleRecovery, folder: str | Path, *, video: str | Path | None = None) -> dict:
    """Write ``folder/person<i>.npz`` + ``person<i>.camera.json`` per person and ``folder/camera.json``
    (the shared camera, ground and a summary per person), writing into a staged folder renamed at the end.

    Returns the summary written to ``camera.json``.
    """
    from humokit._atomic import atomic_dir

    cam = result.camera
    pitch, roll, height, f = camera_parameters(cam)
    people = []
    for i, rec in enumerate(result.people):
        det = rec.fit.detected
        rp = rec.fit.mean_reprojection()
        people.append({
            "person": i, "motion": f"person{i}.npz", "camera_json": f"person{i}.camera.json",
            "reference": i == result.reference,
            "frames": rec.fit.motion.num_frames,
            "reprojection_px": round(float(rp), 3) if math.isfinite(rp) else None,
            "mean_confidence": round(float(rec.fit.confidence[det].mean()), 4) if det.any() else 0.0,
            **(rec.report.to_dict(rec.track.fps) if rec.report is not None else {}),
            "warnings": rec.warnings,
        })
    summary = {
        "video": str(video) if video is not None else None,
        "camera": cam.to_dict(), "camera_center": np.asarray(cam.center).tolist(), "focal_px": f,
        "pitch_deg": round(float(np.degrees(pitch)), 3), "roll_deg": round(float(np.degrees(roll)), 3),
        "height_m": round(height, 4),
        "ground": {"normal": [0.0, 1.0, 0.0], "offset": 0.0, "note": "world Y up, ground plane y = 0, metres; "
                   "one world frame for every person"},
        "reference_person": result.reference,
        "people": people,
        "skipped_tracks": [{"track": i, "reason": r} for i, r in result.skipped],
    }
    with atomic_dir(folder) as tmp:
        for i, rec in enumerate(result.people):
            save_recovery(rec, tmp / f"person{i}.npz", video=video, camera_path=tmp / f"person{i}.camera.json")
        (tmp / "camera.json").write_text(json.dumps(summary, indent=1))
    return summary
