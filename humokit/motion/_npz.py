"""Motion ``.npz`` files: humokit's own keys plus AMASS-compatible keys in one file.

AMASS convention (what ``poses``/``trans`` mean in files from the SMPL
ecosystem): **Z up**, SMPL body frame inside (Y up, +Z forward in the rest
pose), ``poses`` = ``(T, 156)`` SMPL-H axis-angle (root orientation, 21 body
joints, 30 hand joints; SMPL's 72-column layout is read too), ``trans`` =
``(T, 3)`` translation such that the pelvis is at ``J0 + trans`` where ``J0`` is
the pelvis rest position of the body shape.

Conversion to humokit's world (Y up, +Z forward): ``R_c`` = rotation by -90
deg about X, ``(x, y, z) -> (x, z, -y)``. Global orientation ``R_c @ R_root``,
pelvis ``R_c @ (J0 + trans)``. Body joint rotations are unchanged (the
skeleton is SMPL's). ``J0`` is the skeleton's root rest offset (stored as
``root_rest``); for files without it the canonical skeleton's is used.

This module works below :class:`~humokit.motion.motion.Motion` (which reads and writes
through it): it never imports it; callers pass the class to build. The public
functions are in :mod:`humokit.motion.io_npz`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from humokit._io import atomic_path
from humokit.errors import FileFormatError, HumokitError
from humokit.motion.rotations import rotmat_to_rotvec, rotvec_to_rotmat
from humokit.motion.skeleton import NUM_JOINTS, default_skeleton

R_ZUP_TO_YUP = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])
FORMAT_VERSION = 1
M = TypeVar("M")


def motion_to_amass(motion: Any) -> dict[str, np.ndarray]:
    """AMASS keys (``poses``, ``trans``, ``betas``, ``mocap_framerate``, ``gender``) for a motion."""
    T = motion.num_frames
    Rc = R_ZUP_TO_YUP
    R = motion.rotations.astype(np.float64)
    R_root = Rc.T @ R[:, 0]
    poses = np.zeros((T, 52, 3), dtype=np.float64)
    poses[:, 0] = rotmat_to_rotvec(R_root)
    poses[:, 1:NUM_JOINTS] = rotmat_to_rotvec(R[:, 1:])
    J0 = motion.skeleton.offsets[0]
    trans = motion.root_position.astype(np.float64) @ Rc - J0  # Rc^T p  (row-vector form)
    betas = motion.betas if motion.betas is not None else np.zeros(16, dtype=np.float32)
    return {
        "poses": poses.reshape(T, 156).astype(np.float32),
        "trans": trans.astype(np.float32),
        "betas": np.asarray(betas, dtype=np.float32),
        "mocap_framerate": np.array(motion.fps, dtype=np.float64),
        "gender": np.array(motion.gender),
    }


def amass_to_motion(data: dict[str, np.ndarray], motion_cls: type[M], *, source: str = "<arrays>",
                    root_rest: np.ndarray | None = None) -> M:
    """Build a ``motion_cls`` (:class:`~humokit.motion.motion.Motion`) from AMASS-style arrays (see module docstring)."""
    def need(key: str, *alts: str) -> np.ndarray:
        for k in (key, *alts):
            if k in data:
                return np.asarray(data[k])
        raise FileFormatError(source, f"missing key {key!r} (has: {', '.join(sorted(data)) or 'none'})")

    missing = [k for k in ("poses", "trans", "mocap_framerate") if k not in data]
    if "root_orient" in data and "pose_body" in data:
        missing = [k for k in missing if k != "poses"]
    if "mocap_frame_rate" in data or "fps" in data:
        missing = [k for k in missing if k != "mocap_framerate"]
    if missing:
        raise FileFormatError(
            source, f"not a motion file: missing key(s) {', '.join(missing)} (has: {', '.join(sorted(data)) or 'none'})"
        )
    if "poses" in data:
        poses = np.asarray(data["poses"], dtype=np.float64)
        if poses.ndim != 2 or poses.shape[1] < 66 or poses.shape[1] % 3:
            raise FileFormatError(source, f"'poses' must have shape (T, 66+) in multiples of 3, got {poses.shape}")
        body = poses[:, :66].reshape(-1, NUM_JOINTS, 3)
    else:  # SMPL-X style AMASS files (root_orient + pose_body)
        root = need("root_orient").astype(np.float64)
        pb = need("pose_body").astype(np.float64)
        if root.ndim != 2 or root.shape[1] != 3 or pb.ndim != 2 or pb.shape[1] < 63:
            raise FileFormatError(source, f"'root_orient'/'pose_body' have shapes {root.shape}/{pb.shape}")
        body = np.concatenate([root, pb[:, :63]], axis=1).reshape(-1, NUM_JOINTS, 3)
    trans = need("trans").astype(np.float64)
    T = body.shape[0]
    if trans.shape != (T, 3):
        raise FileFormatError(source, f"'trans' must have shape ({T}, 3), got {trans.shape}")
    fps_arr = need("mocap_framerate", "mocap_frame_rate", "fps")
    fps = float(np.asarray(fps_arr).reshape(-1)[0])
    if not np.all(np.isfinite(body)) or not np.all(np.isfinite(trans)):
        raise FileFormatError(source, "poses or trans contain NaN or inf")
    if not (np.isfinite(fps) and fps > 0):
        raise FileFormatError(source, f"frame rate must be positive, got {fps}")
    Rc = R_ZUP_TO_YUP
    R = rotvec_to_rotmat(body)
    R[:, 0] = Rc @ R[:, 0]
    skel = default_skeleton()
    J0 = skel.offsets[0] if root_rest is None else np.asarray(root_rest, dtype=np.float64)
    root_pos = (trans + J0) @ Rc.T
    betas, gender = _amass_shape(data)
    return motion_cls(R, root_pos, fps, skeleton=skel, betas=betas, gender=gender)  # type: ignore[call-arg]


def _amass_shape(data: dict) -> tuple[np.ndarray | None, str]:
    """``(betas (B,) float32 or None, gender)`` of AMASS-style arrays; unknown genders read as neutral."""
    betas = np.asarray(data["betas"], dtype=np.float32).reshape(-1) if "betas" in data else None
    gender = str(np.asarray(data.get("gender", "neutral")).reshape(-1)[0]) if "gender" in data else "neutral"
    gender = gender.decode() if isinstance(gender, bytes) else gender
    if gender not in ("neutral", "male", "female"):
        gender = "neutral"
    return betas, gender


def save_npz(motion: Any, path: str | Path) -> None:
    """Write ``motion`` to ``path`` (atomic): humokit keys + AMASS keys.

    humokit keys: ``rotations (T,22,3,3)``, ``root_position (T,3)``, ``fps``,
    ``joint_offsets (22,3)``, ``root_rest (3,)``, optional ``contacts (T,4)``,
    ``meta`` (JSON string), ``humokit_format``.
    """
    path = Path(path)
    arrays: dict[str, np.ndarray] = motion_to_amass(motion)
    arrays.update(
        rotations=motion.rotations,
        root_position=motion.root_position,
        fps=np.array(motion.fps),
        joint_offsets=motion.skeleton.offsets,
        root_rest=motion.skeleton.offsets[0],
        meta=np.array(json.dumps(motion.meta)),
        humokit_format=np.array(FORMAT_VERSION),
    )
    if motion.contacts is not None:
        arrays["contacts"] = motion.contacts
    if path.suffix != ".npz":
        raise HumokitError(f"{path}: motion files must end in .npz")
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            np.savez(fh, **arrays)


def load_npz(path: str | Path, motion_cls: type[M]) -> M:
    """Read a humokit or AMASS-style ``.npz`` into a ``motion_cls``; errors name the file and the problem."""
    path = Path(path)
    if not path.exists():
        raise FileFormatError(path, "no such file")
    try:
        with np.load(path, allow_pickle=False) as z:
            data = {k: z[k] for k in z.files}
    except Exception as exc:  # zip/npy parse errors
        raise FileFormatError(path, f"not a readable .npz file ({type(exc).__name__}: {exc})") from None
    if "rotations" in data and "humokit_format" in data:
        try:
            skel = default_skeleton()
            if "joint_offsets" in data:
                skel = skel.with_offsets(data["joint_offsets"])
            meta = json.loads(str(data["meta"])) if "meta" in data else {}
            # the AMASS keys beside the rotations only add the body shape (no rotation conversion needed)
            betas, gender = _amass_shape(data) if "poses" in data else (None, "neutral")
            return motion_cls(  # type: ignore[call-arg]
                data["rotations"],
                data["root_position"],
                float(data["fps"]),
                skeleton=skel,
                betas=betas,
                gender=gender,
                contacts=data.get("contacts"),
                meta={str(k): str(v) for k, v in meta.items()},
            )
        except HumokitError as exc:
            raise FileFormatError(path, str(exc).removeprefix("motion: ")) from None
    try:
        return amass_to_motion(data, motion_cls, source=str(path), root_rest=data.get("root_rest"))
    except FileFormatError:
        raise
    except HumokitError as exc:
        raise FileFormatError(path, str(exc).removeprefix("motion: ")) from None
