"""Foot contact estimation from foot speed and height above the ground plane ``y = 0``."""

from __future__ import annotations

import numpy as np

from humokit.motion.contacts import detect_contacts
from humokit.optim.landmarks import ANKLE_HEIGHT, TOE_HEIGHT

# Rest height above the sole of each foot joint in FOOT_JOINTS order (l_ankle, l_foot, r_ankle, r_foot).
FOOT_REST_HEIGHTS = np.array([ANKLE_HEIGHT, TOE_HEIGHT, ANKLE_HEIGHT, TOE_HEIGHT])


def estimate_contacts(
    joints: np.ndarray,
    fps: float,
    *,
    scale: float = 1.0,
    max_speed: float = 0.35,
    max_height: float = 0.07,
) -> np.ndarray:
    """Foot contacts from joint positions.

    A foot joint is in contact when its speed is below ``max_speed`` m/s and it
    is less than ``max_height`` metres above its resting height over the
    ground (``scale`` x :data:`FOOT_REST_HEIGHTS`), using the shared detector
    :func:`humokit.motion.contacts.detect_contacts` without hysteresis;
    single-frame flips are removed.

    Args:
        joints: ``(T, 22, 3)`` world joints, metres, ground at y = 0.
    Returns:
        ``(T, 4)`` bool in :data:`humokit.motion.skeleton.FOOT_JOINTS` order
        (l_heel/ankle, l_toe, r_heel/ankle, r_toe), as ``Motion.contacts``.
    """
    return detect_contacts(
        joints,
        fps,
        sole=scale * FOOT_REST_HEIGHTS,
        speed=max_speed,
        height=max_height,
        max_height=max_height,
        release=1.0,
        min_frames=2,
    )


# Landmarks whose image motion tells whether each foot joint (FOOT_JOINTS order) is planted.
FOOT_LANDMARKS: tuple[tuple[str, ...], ...] = (
    ("left_ankle", "left_heel"), ("left_foot_index",), ("right_ankle", "right_heel"), ("right_foot_index",),
)


def image_still_feet(
    uv: np.ndarray,
    confidence: np.ndarray,
    names: tuple[str, ...] | list[str],
    fps: float,
    *,
    max_speed: float = 0.25,
    min_confidence: float = 0.5,
) -> np.ndarray:
    """Feet that do not move in the image of a static camera: the planted foot of a walk.

    A foot in contact with the ground is still in the world, so, the camera
    being static, still in the image, whatever its depth; a swinging foot
    moves. This cue needs no depth, which the detector's 3D landmarks flatten
    (a walk towards the camera has its stride along the ray).

    Args:
        uv: ``(T, K, 2)`` landmark pixels (a cleaned track); confidence: ``(T, K)``.
        names: the ``K`` landmark names (MediaPipe's; feet without landmarks are never still).
        max_speed: image speed below which a foot is still, in person heights per second
            (the person's height in pixels is the per-frame extent of the confident landmarks).
        min_confidence: landmarks seen less surely than this do not count.
    Returns:
        ``(T, 4)`` bool in :data:`humokit.motion.skeleton.FOOT_JOINTS` order.
    """
    uv = np.asarray(uv, dtype=np.float64)
    conf = np.asarray(confidence, dtype=np.float64)
    T = uv.shape[0]
    out = np.zeros((T, 4), dtype=bool)
    if T < 3:
        return out
    good = (conf > 0.3) & np.isfinite(uv).all(-1)
    height = np.array([np.ptp(uv[t, good[t], 1]) if good[t].sum() >= 3 else np.nan for t in range(T)])
    if not np.isfinite(height).any():
        return out
    height = np.where(np.isfinite(height), height, np.nanmedian(height)).clip(8.0, None)
    idx = {n: i for i, n in enumerate(names)}
    for f, lms in enumerate(FOOT_LANDMARKS):
        ks = [idx[n] for n in lms if n in idx]
        if not ks:
            continue
        p = uv[:, ks]  # (T, k, 2)
        v = np.zeros((T, len(ks)))
        v[1:-1] = np.linalg.norm(p[2:] - p[:-2], axis=-1) * fps / 2
        v[0], v[-1] = v[1], v[-2]
        ok = (conf[:, ks] > min_confidence) & np.isfinite(v)
        speed = np.where(ok, v, np.inf).max(1) / height  # every landmark of the foot must be still
        out[:, f] = (speed < max_speed) & ok.all(1)
    return out
