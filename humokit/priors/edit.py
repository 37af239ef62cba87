"""Keyframe and joint constraints for generation (in-betweening, trajectory, motion editing).

A :class:`Keyframes` gives target world joint positions at some frames
(20 fps), optionally only for some joints. :func:`constraint_features` turns
them into known feature values + a mask for the models' inpainting;
:func:`enforce_keyframes` makes the final joints meet them exactly (rigid
heading/translation alignment interpolated over time, then per-joint
offsets blended around each key).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from humokit._npz import read_npz
from humokit.errors import FileFormatError, InputError
from humokit.motion.features import CONTACTS, FEATURE_DIM, LOCAL_VEL, RIC, ROOT_Y, ROT6D, joints_to_features
from humokit.motion.skeleton import JOINT_NAMES, default_skeleton

FPS = 20.0


@dataclass(frozen=True)
class Keyframes:
    """Target joint positions.

    Attributes:
        frames: ``(K,)`` int frame indices (20 fps), increasing, unique.
        joints: ``(K, 22, 3)`` world positions, metres (Y up).
        joint_mask: ``(K, 22)`` bool, True where the position is enforced.
    """

    frames: np.ndarray
    joints: np.ndarray
    joint_mask: np.ndarray

    @classmethod
    def create(cls, frames: np.ndarray, joints: np.ndarray, joint_mask: np.ndarray | None = None) -> "Keyframes":
        f = np.asarray(frames).astype(np.int64).reshape(-1)
        j = np.asarray(joints, dtype=np.float64)
        if j.shape != (len(f), 22, 3):
            raise InputError(f"keyframes: joints must have shape ({len(f)}, 22, 3), got {j.shape}")
        if len(f) == 0 or np.any(f < 0) or np.any(np.diff(f) <= 0):
            raise InputError("keyframes: frames must be non-negative, increasing and unique")
        if not np.all(np.isfinite(j)):
            raise InputError("keyframes: joints contain NaN or inf")
        m = np.ones((len(f), 22), bool) if joint_mask is None else np.asarray(joint_mask, bool)
        if m.shape != (len(f), 22):
            raise InputError(f"keyframes: joint_mask must have shape ({len(f)}, 22), got {m.shape}")
        return cls(f, j, m)

    def dense(self, T: int) -> tuple[np.ndarray, np.ndarray]:
        """``(T, 22, 3)`` targets and ``(T, 22)`` mask (frames beyond ``T`` are an ``InputError``)."""
        if self.frames.max() >= T:
            raise InputError(f"keyframes: frame {int(self.frames.max())} is beyond the motion's {T} frames")
        P, M = np.zeros((T, 22, 3)), np.zeros((T, 22), bool)
        P[self.frames], M[self.frames] = self.joints, self.joint_mask
        return P, M


def load_keyframes(path: str | Path) -> Keyframes:
    """Read ``frames (K,)``, ``joints (K, 22, 3)`` and optional ``joint_mask (K, 22)`` from an ``.npz``.

    A humokit motion ``.npz`` is also accepted: every frame becomes a key
    (resampled to 20 fps); combine with an edit mask to regenerate a part.
    """
    p = Path(path)
    try:
        z = read_npz(p)  # sizes checked from the headers first, never unpickles
    except FileNotFoundError:
        raise InputError(f"{p}: keyframe file not found") from None
    except (OSError, ValueError) as e:
        raise FileFormatError(p, f"cannot read ({e})") from None
    if "frames" in z and "joints" in z:
        return Keyframes.create(z["frames"], z["joints"], z["joint_mask"] if "joint_mask" in z else None)
    from humokit.motion.motion import Motion

    m = Motion.load(str(p)).resample(FPS)
    return Keyframes.create(np.arange(m.num_frames), m.joints())


def parse_edit_mask(spec: str | np.ndarray | None, T: int) -> np.ndarray | None:
    """Frames (or frame-joint entries) to regenerate: ``(T,)``/``(T, 22)`` bool, or ``"a:b,c:d"`` seconds ranges.

    A range may name joints after ``@``: ``"1.0:2.5@left_wrist+right_wrist"``
    regenerates only those joints there.
    """
    if spec is None:
        return None
    if not isinstance(spec, str):
        m = np.asarray(spec, bool)
        if m.shape not in ((T,), (T, 22)):
            raise InputError(f"edit mask: expected shape ({T},) or ({T}, 22), got {m.shape}")
        return m if m.ndim == 2 else np.repeat(m[:, None], 22, axis=1)
    out = np.zeros((T, 22), bool)
    for part in filter(None, (s.strip() for s in spec.split(","))):
        rng, _, names = part.partition("@")
        mm = re.fullmatch(r"\s*([0-9.]*)\s*:\s*([0-9.]*)\s*", rng)
        if not mm:
            raise InputError(f"edit mask: cannot parse {part!r}; use START:END in seconds, e.g. 1.0:2.5")
        try:
            a = float(mm.group(1)) if mm.group(1) else 0.0
            b = float(mm.group(2)) if mm.group(2) else T / FPS
        except ValueError:
            raise InputError(f"edit mask: cannot parse {part!r}") from None
        cols = list(range(22))
        if names:
            try:
                cols = [JOINT_NAMES.index(n.strip()) for n in names.split("+")]
            except ValueError:
                raise InputError(f"edit mask: unknown joint in {names!r}") from None
        out[int(round(a * FPS)) : int(round(b * FPS)), cols] = True
    return out


def constraint_features(P: np.ndarray, M: np.ndarray, mean: np.ndarray, std: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Known normalised feature values ``(T, 263)`` and mask ``(T, 263)`` implied by targets ``P``/``M`` (``(T, 22, 3)``/``(T, 22)``).

    Unconstrained frames are filled by interpolation so features can be
    computed; only entries fully determined by constrained joints are marked
    known: root height and root-relative positions of constrained joints
    (when the pelvis is constrained too), all rotations of fully constrained
    frames, and velocities between consecutive fully constrained frames.
    """
    T = len(P)
    known = np.zeros((T, FEATURE_DIM), bool)
    if not M.any():
        return np.zeros((T, FEATURE_DIM), np.float32), known
    filled = P.copy()
    ks0 = np.flatnonzero(M[:, 0])
    rest = default_skeleton().rest_positions()
    if len(ks0):
        filled[:, 0] = np.stack([np.interp(np.arange(T), ks0, P[ks0, 0, a]) for a in range(3)], -1)
    else:
        filled[:, 0] = rest[0]
    for j in range(1, 22):
        ks = np.flatnonzero(M[:, j])
        if len(ks):
            filled[:, j] = np.stack([np.interp(np.arange(T), ks, P[ks, j, a]) for a in range(3)], -1)
        else:  # never constrained: rest pose around the pelvis (keeps the facing computable)
            filled[:, j] = filled[:, 0] + rest[j] - rest[0]
    ext = np.concatenate([filled, 2 * filled[-1:] - filled[-2:-1]]) if T > 1 else np.concatenate([filled, filled])
    F = np.nan_to_num(joints_to_features(ext, uniform=False))  # (T, 263)
    full = M.all(1)
    root = M[:, 0]
    known[root, ROOT_Y] = True
    for j in range(1, 22):
        rows = root & M[:, j]
        known[rows, RIC.start + 3 * (j - 1) : RIC.start + 3 * j] = True
    known[full, ROT6D] = True
    both = full.copy()
    both[:-1] &= full[1:]
    both[-1] = False
    known[both, LOCAL_VEL] = True
    known[both, 0:3] = True
    known[:, CONTACTS] = False
    return ((F - mean) / std).astype(np.float32), known


def _yaw(P: np.ndarray) -> np.ndarray:
    """Heading angle (rad, about +Y) of poses ``(..., 22, 3)`` from hips and shoulders."""
    across = (P[..., 2, :] - P[..., 1, :]) + (P[..., 17, :] - P[..., 16, :])
    fwd = np.cross(np.array([0.0, 1.0, 0.0]), across)
    return np.arctan2(fwd[..., 0], fwd[..., 2])


def _rot_y(a: np.ndarray) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    R[..., 0, 0], R[..., 0, 2], R[..., 1, 1], R[..., 2, 0], R[..., 2, 2] = c, s, 1.0, -s, c
    return R


def enforce_keyframes(J: np.ndarray, P: np.ndarray, M: np.ndarray, *, falloff: int = 8) -> np.ndarray:
    """Move generated joints ``J (T, 22, 3)`` so constrained entries equal ``P`` exactly.

    1. heading: the yaw difference at frames with a full-body key,
       interpolated over time, rotates each frame about its pelvis;
    2. translation: the pelvis offset at frames where the pelvis is
       constrained, interpolated over time, moves the whole body;
    3. per joint: the remaining offsets of constrained joints, blended
       linearly to zero within ``falloff`` frames of each key.
    """
    J = np.asarray(J, dtype=np.float64).copy()
    T = len(J)
    t = np.arange(T)
    full = np.flatnonzero(M.all(1))
    if len(full):
        d = np.unwrap(_yaw(P[full]) - _yaw(J[full]))
        yaw = np.interp(t, full, d)
        R = _rot_y(yaw)
        J = np.einsum("tij,tkj->tki", R, J - J[:, :1]) + J[:, :1]
    rk = np.flatnonzero(M[:, 0])
    if len(rk):
        off = P[rk, 0] - J[rk, 0]
        J += np.stack([np.interp(t, rk, off[:, a]) for a in range(3)], -1)[:, None]
    resid = np.where(M[..., None], P - J, 0.0)
    w_sum = np.zeros((T, 22, 1))
    acc = np.zeros((T, 22, 3))
    for k in np.flatnonzero(M.any(1)):
        w = np.clip(1.0 - np.abs(t - k) / (falloff + 1), 0.0, None)[:, None, None] * M[k][None, :, None]
        acc += w * resid[k][None]
        w_sum += w
    # at a key frame its own weight is 1 and others' are < 1: normalise so keys are met exactly
    weight = np.clip(w_sum, 1.0, None)
    J += acc / weight
    J[M] = P[M]
    return J
