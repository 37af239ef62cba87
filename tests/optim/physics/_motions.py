"""Constructed motions with known physics answers."""

from __future__ import annotations

import numpy as np

from humokit.motion import Motion
from humokit.motion.builtin import builtin_pose
from humokit.motion.rotations import axis_angle
from humokit.optim.physics import sole_heights


def standing(T: int = 40, fps: float = 30.0, lift: float = 0.0) -> Motion:
    """Standing still with the foot soles on y = 0, then raised by ``lift`` metres."""
    st = builtin_pose("stand")
    m = Motion(np.repeat(st.rotations, T, 0), np.repeat(st.root_position, T, 0), fps)
    low = (m.joints()[:, [7, 10, 8, 11], 1] - sole_heights(m.skeleton)).min()
    return m.replace(root_position=m.root_position + np.array([0, lift - low, 0], dtype=np.float32))


def one_leg(T: int = 40, fps: float = 30.0) -> Motion:
    """Standing on the left foot, right knee raised (hip flexed 60 deg, knee 90 deg)."""
    m = standing(T, fps)
    R = m.rotations.copy()
    R[:, 2] = axis_angle("x", -60)
    R[:, 5] = axis_angle("x", 90)
    return m.replace(rotations=R)


def sliding(T: int = 40, fps: float = 30.0, per_frame: float = 0.01, start: int = 0) -> Motion:
    """One-legged stance whose whole body slides along +X by ``per_frame`` metres from ``start``."""
    m = one_leg(T, fps)
    dx = np.clip(np.arange(T) - start, 0, None) * per_frame
    return m.replace(root_position=m.root_position + np.stack([dx, 0 * dx, 0 * dx], 1).astype(np.float32))
