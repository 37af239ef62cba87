"""Foot contact labels from joint heights and speeds, with hysteresis.

Contacts are ``(T, 4)`` bool in the order of :attr:`Motion.contacts`:
l_heel (left ankle joint), l_toe (left foot joint), r_heel, r_toe.

A foot joint is in contact when its sole (the joint minus its sole height,
:meth:`humokit.motion.skeleton.Skeleton.sole_heights`) is both

- near the clip's own floor: within ``height`` of the low (5th percentile)
  sole height of all foot joints over the clip, so a clip that floats or
  sinks by a constant still gets its contacts; and within ``max_height`` of
  the ground plane, so a clip entirely in the air gets none; and
- slow: speed below ``speed`` m/s.

Hysteresis: a joint enters contact under these thresholds and leaves it only
when it exceeds ``release`` times them. Contacts shorter than ``min_frames``
are dropped, and gaps shorter than ``min_frames`` are filled.
"""

from __future__ import annotations

import numpy as np

from humokit.errors import InputError
from humokit.motion.skeleton import FOOT_JOINTS, default_skeleton


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of True runs in a 1D bool array (stop exclusive)."""
    m = np.concatenate([[False], mask.astype(bool), [False]])
    d = np.diff(m.astype(np.int8))
    return list(zip(np.nonzero(d == 1)[0].tolist(), np.nonzero(d == -1)[0].tolist()))


def contact_runs(contacts: np.ndarray) -> list[list[tuple[int, int]]]:
    """Per foot joint, the ``(start, stop)`` frame ranges of contact (stop exclusive)."""
    return [_runs(contacts[:, k]) for k in range(contacts.shape[1])]


def detect_contacts(
    joints: np.ndarray,
    fps: float,
    *,
    sole: np.ndarray | None = None,
    ground: float = 0.0,
    height: float = 0.05,
    speed: float = 0.5,
    max_height: float = 0.3,
    release: float = 1.5,
    min_frames: int = 2,
) -> np.ndarray:
    """Foot contacts of a joint sequence.

    Args:
        joints: ``(T, 22, 3)`` world joint positions, metres, Y up.
        fps: frames per second.
        sole: ``(4,)`` sole heights of the foot joints (default: canonical skeleton).
        ground: height of the ground plane, metres.
        height: sole within this of the clip's low sole height, metres.
        speed: joint slower than this, m/s.
        max_height: sole within this of the ground plane, metres.
        release: hysteresis factor for leaving contact (> 1).
        min_frames: shortest contact kept and longest gap filled, frames.
    Returns:
        ``(T, 4)`` bool contacts (l_heel, l_toe, r_heel, r_toe).
    """
    P = np.asarray(joints, dtype=np.float64)
    if P.ndim != 3 or P.shape[1] != 22 or P.shape[2] != 3:
        raise InputError(f"detect_contacts: expected (T, 22, 3) joints, got {P.shape}")
    if not np.isfinite(P).all():
        raise InputError("detect_contacts: joint positions contain NaN or inf")
    if release < 1:
        raise InputError(f"detect_contacts: release must be >= 1, got {release}")
    T = P.shape[0]
    if T == 0:
        return np.zeros((0, 4), dtype=bool)
    s = default_skeleton().sole_heights() if sole is None else np.asarray(sole, dtype=np.float64)
    feet = P[:, list(FOOT_JOINTS)]  # (T, 4, 3)
    h_abs = feet[..., 1] - s - ground
    h_rel = h_abs - np.percentile(h_abs, 5)  # the clip's own floor, shared by both feet
    if T > 1:
        v = np.linalg.norm(np.gradient(feet, axis=0), axis=-1) * fps
    else:
        v = np.zeros((T, 4))
    enter = (h_rel < height) & (v < speed) & (h_abs < max_height)
    stay = (h_rel < height * release) & (v < speed * release) & (h_abs < max_height * release)
    out = np.zeros((T, 4), dtype=bool)
    for k in range(4):
        on = False
        for t in range(T):
            on = bool(stay[t, k]) if on else bool(enter[t, k])
            out[t, k] = on
        if min_frames > 1:
            for a, b in _runs(~out[:, k]):  # fill short gaps inside the clip
                if a > 0 and b < T and b - a < min_frames:
                    out[a:b, k] = True
            for a, b in _runs(out[:, k]):  # drop short contacts
                if b - a < min_frames and not (a == 0 and b == T):
                    out[a:b, k] = False
    return out
