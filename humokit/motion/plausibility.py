"""Physical plausibility of joint motion: the PhysDiff metrics as pure array functions.

One definition, used everywhere humokit reports them (the priors' evaluator,
:func:`humokit.optim.physics.physics_metrics` with or without a body mesh,
the recovery benchmark, ``humokit metrics``):

- **Penetrate**: per frame, depth of the lowest body point below the ground
  (0 within a 5 mm tolerance); mean over all frames, mm.
- **Float**: per frame with foot contact, height of the lowest body point
  above the ground (0 within the tolerance); mean over contact frames, mm.
- **Skate**: per pair of consecutive frames, the mean horizontal
  displacement of the foot joints whose sole is within 1 cm of the ground in
  both frames; mean over all pairs, mm.
- **Jerk**: per frame, the largest joint jerk ``|d^3 p / dt^3|``, m/s^3.

Without a mesh, the lowest body point is the lowest joint minus its radius
(:data:`JOINT_RADII`; foot joints: their sole height). Y up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from humokit.errors import InputError
from humokit.motion.contacts import detect_contacts
from humokit.motion.skeleton import FOOT_JOINTS, PARENTS, Skeleton, default_skeleton

FOOT = list(FOOT_JOINTS)  # (7, 10, 8, 11): l_ankle, l_foot, r_ankle, r_foot

# Distance from each joint to the body surface below it (approximate, joints-only input), metres.
JOINT_RADII = np.array(
    [0.09, 0.08, 0.08, 0.10, 0.055, 0.055, 0.10, 0.0, 0.0, 0.10, 0.0,
     0.0, 0.05, 0.06, 0.06, 0.10, 0.05, 0.05, 0.04, 0.04, 0.03, 0.03]
)  # fmt: skip


def lowest_points(joints: np.ndarray, radii: np.ndarray) -> np.ndarray:
    """``(T,)`` height of the lowest body point estimated from joints ``(T, 22, 3)`` and radii ``(22,)``."""
    return (joints[..., 1] - radii).min(axis=-1)


def penetrate_float(
    lowest: np.ndarray, contact_frames: np.ndarray, *, ground: float = 0.0, tolerance: float = 0.005
) -> tuple[float, float]:
    """``(penetrate, float)`` in mm from the per-frame lowest point ``(T,)`` metres.

    Penetrate averages over all frames, Float over ``contact_frames`` ``(T,)`` bool.
    """
    h = np.asarray(lowest, dtype=np.float64) - ground
    pen = np.where(h < -tolerance, -h, 0.0)
    flo = np.where(h > tolerance, h, 0.0)
    c = np.asarray(contact_frames, dtype=bool)
    return float(pen.mean() * 1000), float(flo[c].mean() * 1000) if c.any() else 0.0


def skate(
    joints: np.ndarray, sole: np.ndarray, *, ground: float = 0.0, contact_height: float = 0.01
) -> tuple[float, int]:
    """``(skate mm, number of frame pairs with contact)`` of foot joints.

    Args:
        joints: ``(T, 22, 3)`` metres.
        sole: ``(4,)`` sole heights of the foot joints.
        contact_height: a foot joint touches the ground when its sole is below this, metres.
    """
    feet = joints[:, FOOT]
    if len(feet) < 2:
        return 0.0, 0
    touch = feet[..., 1] - sole - ground < contact_height  # (T, 4)
    both = touch[1:] & touch[:-1]
    disp = np.linalg.norm((feet[1:] - feet[:-1])[..., [0, 2]], axis=-1)
    n = both.sum(axis=1)
    per = np.where(n > 0, (disp * both).sum(axis=1) / np.maximum(n, 1), 0.0)
    return float(per.mean() * 1000), int((n > 0).sum())


def jerk_curve(joints: np.ndarray, fps: float) -> np.ndarray:
    """``(T-3,)`` per-frame jerk, the largest over joints of ``|d^3 p / dt^3|``, m/s^3."""
    if len(joints) < 4:
        return np.zeros(0)
    j = np.diff(joints, n=3, axis=0) * fps**3
    return np.linalg.norm(j, axis=-1).max(axis=-1)


def bone_drift(joints: np.ndarray) -> float:
    """Largest deviation of any bone's length from its median length over the clip, mm."""
    child = np.arange(1, len(PARENTS))
    par = np.asarray(PARENTS)[1:]
    L = np.linalg.norm(joints[..., child, :] - joints[..., par, :], axis=-1)  # (T, 21)
    return float(np.abs(L - np.median(L, axis=0)).max() * 1000)


def lowest_sole(joints: np.ndarray, sole: np.ndarray) -> float:
    """Height of the lowest foot sole over a clip of ``joints (T, 22, 3)`` with sole heights ``(4,)``, metres.

    The ground a clip stands on when it is grounded by its soles (as
    :meth:`~humokit.motion.motion.Motion.to_ground` does).
    """
    return float((np.asarray(joints)[:, FOOT, 1] - sole).min())


@dataclass(frozen=True)
class JointPlausibility:
    """PhysDiff metrics of a joint sequence (mm; jerk in m/s^3); see the module docstring."""

    penetrate: float
    float: float
    skate: float
    phys_err: float
    jerk_peak: float
    contact_fraction: float


def joint_plausibility(
    joints: np.ndarray,
    fps: float,
    *,
    skeleton: Skeleton | None = None,
    ground: float | None = 0.0,
    contacts: np.ndarray | None = None,
    tolerance: float = 0.005,
    contact_height: float = 0.01,
) -> JointPlausibility:
    """Penetrate / Float / Skate / Phys-Err / peak jerk of ``joints (T, 22, 3)`` (metres, Y up) without a mesh.

    Args:
        fps: frames per second.
        skeleton: gives the foot sole heights (default: canonical skeleton).
        ground: ground height; ``None`` puts the clip's lowest foot sole on
            the ground first (as :meth:`Motion.to_ground` does), for joints in
            a convention of their own such as HumanML3D features.
        contacts: ``(T, 4)`` bool (default: :func:`detect_contacts`).
    """
    J = np.asarray(joints, dtype=np.float64)
    if J.ndim != 3 or J.shape[1:] != (22, 3) or len(J) == 0:
        raise InputError(f"joint_plausibility: expected (T, 22, 3) joints with T > 0, got {J.shape}")
    if not np.isfinite(J).all():
        raise InputError("joint_plausibility: joint positions contain NaN or inf")
    sole = (skeleton or default_skeleton()).sole_heights()
    if ground is None:
        ground = lowest_sole(J, sole)
    radii = JOINT_RADII.copy()
    radii[FOOT] = sole
    if contacts is None:
        contacts = detect_contacts(J, fps, sole=sole, ground=ground)
    cf = np.asarray(contacts, dtype=bool).any(axis=1)
    pen, flo = penetrate_float(lowest_points(J, radii), cf, ground=ground, tolerance=tolerance)
    sk, _ = skate(J, sole, ground=ground, contact_height=contact_height)
    jc = jerk_curve(J, fps)
    return JointPlausibility(pen, flo, sk, pen + flo + sk, float(jc.max()) if len(jc) else 0.0, float(cf.mean()))
