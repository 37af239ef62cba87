"""Monocular video -> world-grounded motion: the whole pipeline and its outputs.

:func:`recover_video` runs keypoints (:mod:`~humokit.optim.track`, MediaPipe
by default) -> left/right swap repair and cleaning -> IK warm start and
temporal fit (:mod:`~humokit.optim.fit`) -> kinematic physics projection
(:func:`apply_physics`). :func:`save_recovery` writes the motion
(``Motion.save``: humokit + AMASS keys) and, beside it, ``<stem>.camera.json``
with the fitted camera, the ground plane and per-frame confidence.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal, cast

import numpy as np

from humokit._io import atomic_path
from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.skeleton import Skeleton
from humokit.optim.fit import FitConfig, FitResult, fit_track
from humokit.optim.keypoints import KeypointDetector
from humokit.optim.track import KeypointTrack, clean_track, detect_track, fix_swaps, reject_glitches


PhysicsMode = Literal["kinematic", "none"]
PHYSICS_MODES: tuple[str, ...] = ("kinematic", "none")


@dataclass(frozen=True)
class Recovery:
    """Everything :func:`recover_video` produced.

    Attributes:
        fit: the fitted motion, camera, confidences.
        track: cleaned keypoint track (what was fitted); raw_track: as detected.
        timings: seconds per stage: ``decode``, ``detect``, ``clean``, ``init``, ``fit``.
    """

    fit: FitResult
    track: KeypointTrack
    raw_track: KeypointTrack
    timings: dict[str, float] = field(default_factory=dict)


def apply_physics(motion: Motion, physics: PhysicsMode = "kinematic", *, body: object | None = None) -> Motion:
    """Final clean-up of a fitted motion.

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


def body_skeleton(body: str | None = "anny") -> tuple[Skeleton | None, object | None]:
    """``(skeleton, body model)`` to fit with: Anny's proportions when available, else the canonical adult."""
    if body is None or body == "none":
        return None, None
    try:
        from humokit.body import create_body

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
    progress: bool = True,
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
        physics: final step (:func:`apply_physics`): ``"kinematic"`` (default)
            locks contact feet and puts them on the ground; ``"none"`` keeps
            the raw fit.
        body: BodyModel whose mesh gives the sole heights for ``physics``
            (default: the skeleton's sole heights).
    Raises:
        FileFormatError: unreadable / empty video or unsupported codec.
        InputError: no person found.
        MissingDependencyError: MediaPipe missing.
    """
    if physics not in PHYSICS_MODES:
        raise InputError(f"physics must be one of {PHYSICS_MODES}, got {physics!r}")
    raw = detect_track(video, detector, person=person, fps=fps, progress=progress)
    return recover_track(raw, focal=focal, skeleton=skeleton, config=config, physics=physics, body=body, progress=progress)


def recover_track(
    raw: KeypointTrack,
    *,
    focal: float | None = None,
    skeleton: Skeleton | None = None,
    config: FitConfig | None = None,
    physics: PhysicsMode = "kinematic",
    body: object | None = None,
    progress: bool = True,
) -> Recovery:
    """The part of :func:`recover_video` after the detector: swap repair, cleaning, fit, physics.

    ``raw`` is a track as :func:`~humokit.optim.track.detect_track` returns it
    (e.g. one saved with :meth:`KeypointTrack.save` and loaded again); the
    other arguments are those of :func:`recover_video`.
    """
    if physics not in PHYSICS_MODES:
        raise InputError(f"physics must be one of {PHYSICS_MODES}, got {physics!r}")
    t0 = time.perf_counter()
    track = clean_track(reject_glitches(fix_swaps(raw)))
    t_clean = time.perf_counter() - t0
    fit = fit_track(track, focal=focal, skeleton=skeleton, config=config, progress=progress)
    t0 = time.perf_counter()
    fit = replace(fit, motion=apply_physics(fit.motion, physics, body=body))
    timings = {**raw.timings, "clean": t_clean, **fit.timings, "physics": time.perf_counter() - t0}
    return Recovery(fit, track, raw, timings)


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
        "ground": {"normal": [0.0, 1.0, 0.0], "offset": 0.0, "note": "world Y up, ground plane y = 0, metres"},
        "skeleton_scale": fit.scale,
        "confidence": np.round(fit.confidence, 4).tolist(),
        "reprojection_error_px": np.round(fit.reprojection_error, 3).tolist(),
        "person_found": rec.raw_track.found.astype(int).tolist(),
        "landmarks": list(rec.track.names),
        "timings_s": {k: round(v, 4) for k, v in rec.timings.items()},
    }
    fit.motion.save(str(out))
    with atomic_path(cam_path) as tmp:
        tmp.write_text(json.dumps(info, indent=1))
    return out, cam_path
