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
