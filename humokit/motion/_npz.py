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
from humokit._limits import MAX_FRAMES, fps_problem
from humokit._npz import read_npz
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
    """Build a ``motion_cls`` (:class:`~humokit.motion.motion.Motion`) from AMASS-style arrays (see module docstring).

    Raises:
        FileFormatError: naming ``source`` and the key for a missing, empty, non-numeric or misshapen field.
    """
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
        poses = _numeric(data, "poses", source)
        if poses.ndim != 2 or poses.shape[1] < 66 or poses.shape[1] % 3:
            raise FileFormatError(source, f"'poses' must have shape (T, 66+) in multiples of 3, got {poses.shape}")
        body = poses[:, :66].reshape(-1, NUM_JOINTS, 3)
    else:  # SMPL-X style AMASS files (root_orient + pose_body)
        root = _numeric(data, "root_orient", source)
        pb = _numeric(data, "pose_body", source)
        if root.ndim != 2 or root.shape[1] != 3 or pb.ndim != 2 or pb.shape[1] < 63 or len(root) != len(pb):
            raise FileFormatError(source, f"'root_orient'/'pose_body' have shapes {root.shape}/{pb.shape}")
        body = np.concatenate([root, pb[:, :63]], axis=1).reshape(-1, NUM_JOINTS, 3)
    trans = _numeric(data, "trans", source)
    T = body.shape[0]
    if T > MAX_FRAMES:
        raise FileFormatError(source, f"{T} frames (more than {MAX_FRAMES})")
    if trans.shape != (T, 3):
        raise FileFormatError(source, f"'trans' must have shape ({T}, 3), got {trans.shape}")
    fps = _fps(data, source, "mocap_framerate", "mocap_frame_rate", "fps")
    if not np.all(np.isfinite(body)) or not np.all(np.isfinite(trans)):
        raise FileFormatError(source, "poses or trans contain NaN or inf")
    Rc = R_ZUP_TO_YUP
    R = rotvec_to_rotmat(body)
    R[:, 0] = Rc @ R[:, 0]
    skel = default_skeleton()
    if root_rest is None:
        J0 = skel.offsets[0]
    else:
        J0 = _numeric({"root_rest": root_rest}, "root_rest", source).reshape(-1)
        if J0.shape != (3,) or not np.all(np.isfinite(J0)):
            raise FileFormatError(source, f"'root_rest' must be 3 finite numbers, got shape {J0.shape}")
    root_pos = (trans + J0) @ Rc.T
    betas, gender = _betas_gender(data, source)
    try:
        return motion_cls(R, root_pos, fps, skeleton=skel, betas=betas, gender=gender)  # type: ignore[call-arg]
    except HumokitError as exc:
        raise FileFormatError(source, str(exc).removeprefix("motion: ")) from None


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


def _numeric(data: dict[str, np.ndarray], key: str, path: str | Path) -> np.ndarray:
    """``data[key]`` as float64, or a :class:`FileFormatError` naming the key (missing, non-numeric, empty)."""
    if key not in data:
        raise FileFormatError(path, f"missing key {key!r} (has: {', '.join(sorted(data)) or 'none'})")
    a = np.asarray(data[key])
    if a.dtype.kind not in "biuf":
        raise FileFormatError(path, f"{key!r} must be numeric, got dtype {a.dtype}")
    if a.size == 0:
        raise FileFormatError(path, f"{key!r} is empty (shape {a.shape})")
    return a if a.dtype in (np.float32, np.float64) else a.astype(np.float64)  # no copy of float data


def _betas_gender(data: dict[str, np.ndarray], source: str | Path) -> tuple[np.ndarray | None, str]:
    """Optional ``betas`` (float32) and ``gender`` (neutral when absent or unknown)."""
    betas = _numeric(data, "betas", source).reshape(-1).astype(np.float32) if "betas" in data else None
    gender = "neutral"
    if "gender" in data:
        g = np.asarray(data["gender"]).reshape(-1)
        gender = str(g[0].decode(errors="replace") if isinstance(g[0], bytes) else g[0]) if g.size else "neutral"
    if gender not in ("neutral", "male", "female"):
        gender = "neutral"
    return betas, gender


def _fps(data: dict[str, np.ndarray], path: str | Path, *keys: str) -> float:
    key = next((k for k in keys if k in data), keys[0])
    a = _numeric(data, key, path)
    if a.size != 1:
        raise FileFormatError(path, f"{key!r} must be one number, got shape {a.shape}")
    problem = fps_problem(float(a.reshape(())))
    if problem:
        raise FileFormatError(path, f"{key!r}: {problem}")
    return float(a.reshape(()))


def _meta(data: dict[str, np.ndarray], path: Path) -> dict[str, str]:
    if "meta" not in data:
        return {}
    raw = np.asarray(data["meta"])
    if raw.dtype.kind not in "US" or raw.size != 1:
        raise FileFormatError(path, f"'meta' must be one JSON string, got dtype {raw.dtype} shape {raw.shape}")
    try:
        meta = json.loads(str(raw.reshape(())))
    except (ValueError, RecursionError) as exc:
        raise FileFormatError(path, f"'meta' is not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise FileFormatError(path, f"'meta' must be a JSON object, got {type(meta).__name__}")
    return {str(k): str(v) for k, v in meta.items()}


def load_npz(path: str | Path, motion_cls: type[M]) -> M:
    """Read a humokit or AMASS-style ``.npz`` into a ``motion_cls``; errors name the file, the key and the problem.

    Array sizes are checked from the file's headers before anything is read
    (:func:`humokit._npz.read_npz`).
    """
    path = Path(path)
    if not path.exists():
        raise FileFormatError(path, "no such file")
    if path.is_dir():
        raise FileFormatError(path, "is a folder, not a .npz file")
    data = read_npz(path)
    if "rotations" in data and "humokit_format" in data:
        try:
            skel = default_skeleton()
            if "joint_offsets" in data:
                offsets = _numeric(data, "joint_offsets", path)
                if offsets.shape != (NUM_JOINTS, 3):
                    raise FileFormatError(path, f"'joint_offsets' must have shape ({NUM_JOINTS}, 3), got {offsets.shape}")
                skel = skel.with_offsets(offsets)
            rotations = _numeric(data, "rotations", path)
            root = _numeric(data, "root_position", path)
            if rotations.ndim != 4 or rotations.shape[0] > MAX_FRAMES:
                raise FileFormatError(path, f"'rotations' must have shape (T, {NUM_JOINTS}, 3, 3) with T <= "
                                            f"{MAX_FRAMES}, got {rotations.shape}")  # fmt: skip
            contacts = data.get("contacts")
            if contacts is not None and np.asarray(contacts).dtype.kind not in "biuf":
                raise FileFormatError(path, f"'contacts' must be boolean, got dtype {np.asarray(contacts).dtype}")
            betas, gender = _betas_gender(data, path)
            return motion_cls(  # type: ignore[call-arg]
                rotations,
                root,
                _fps(data, path, "fps"),
                skeleton=skel,
                betas=betas,
                gender=gender,  # type: ignore[arg-type]
                contacts=contacts,
                meta=_meta(data, path),
            )
        except FileFormatError:
            raise
        except HumokitError as exc:
            raise FileFormatError(path, str(exc).removeprefix("motion: ")) from None
    try:
        return amass_to_motion(data, motion_cls, source=str(path), root_rest=data.get("root_rest"))
    except FileFormatError:
        raise
    except HumokitError as exc:
        raise FileFormatError(path, str(exc).removeprefix("motion: ")) from None
