"""Foot contact estimation from foot speed and height above the ground plane ``y = 0``."""

from __future__ import annotations

import numpy as np

from humokit.motion.skeleton import FOOT_JOINTS
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
    ground (``scale`` x :data:`FOOT_REST_HEIGHTS`). Single-frame flips are
    removed (3-frame majority).

    Args:
        joints: ``(T, 22, 3)`` world joints, metres, ground at y = 0.
    Returns:
        ``(T, 4)`` bool in :data:`humokit.motion.skeleton.FOOT_JOINTS` order
        (l_heel/ankle, l_toe, r_heel/ankle, r_toe), as ``Motion.contacts``.
    """
    P = np.asarray(joints, dtype=np.float64)[:, list(FOOT_JOINTS)]
    T = P.shape[0]
    if T == 0:
        return np.zeros((0, 4), dtype=bool)
    if T > 1:
        v = np.gradient(P, axis=0) * fps
        speed = np.linalg.norm(v, axis=-1)
    else:
        speed = np.zeros((T, 4))
    height = P[..., 1] - scale * FOOT_REST_HEIGHTS
    c = (speed < max_speed) & (height < max_height)
    if T >= 3:
        pad = np.concatenate([c[:1], c, c[-1:]])
        c = (pad[:-2].astype(int) + pad[1:-1] + pad[2:]) >= 2
    return c
