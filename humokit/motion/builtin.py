"""Small built-in motions and poses (procedural, no data files): demos and tests.

:func:`builtin_motion` makes a walking cycle: hips, knees, ankles and arms
follow phase-shifted sinusoids, the pelvis advances along +Z and is lowered
per frame so the lowest foot sole touches y = 0.
"""

from __future__ import annotations

import numpy as np

from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.rotations import euler_to_rotmat
from humokit.motion.skeleton import JOINT_NAMES, NUM_JOINTS

_J = {n: i for i, n in enumerate(JOINT_NAMES)}
BUILTIN_MOTIONS = ("walk", "wave", "squat")


def _rx(a: np.ndarray) -> np.ndarray:
    return euler_to_rotmat(np.stack([a, 0 * a, 0 * a], -1), "XYZ")


def _euler(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> np.ndarray:
    return euler_to_rotmat(np.stack([x, y, z], -1), "XYZ")


def _grounded(R: np.ndarray, forward: np.ndarray, fps: float, name: str) -> Motion:
    T = R.shape[0]
    root = np.zeros((T, 3), dtype=np.float64)
    root[:, 2] = forward
    m = Motion(R.astype(np.float32), root, fps, meta={"source": f"builtin:{name}"})
    feet = (m.joints()[:, [7, 10, 8, 11], 1] - m.skeleton.sole_heights()).min(axis=1)
    root[:, 1] = -feet
    return m.replace(root_position=root.astype(np.float32))


def builtin_motion(name: str = "walk", seconds: float = 4.0, fps: float = 30.0) -> Motion:
    """A procedural motion: ``"walk"`` (forward along +Z), ``"wave"`` (right hand), ``"squat"``."""
    if name not in BUILTIN_MOTIONS:
        raise InputError(f"unknown built-in motion {name!r}; choose {', '.join(BUILTIN_MOTIONS)}")
    if not (0 < seconds <= 600) or not (0 < fps <= 240):
        raise InputError(f"built-in motion: seconds must be in (0, 600] and fps in (0, 240], got {seconds}, {fps}")
    T = max(int(round(seconds * fps)), 1)
    t = np.arange(T) / fps
    R = np.broadcast_to(np.eye(3), (T, NUM_JOINTS, 3, 3)).copy()
    z = np.zeros(T)
    d = np.deg2rad
    # arms down along the body (T-pose -> arms at the sides)
    R[:, _J["left_shoulder"]] = _euler(z, z, z - d(75))
    R[:, _J["right_shoulder"]] = _euler(z, z, z + d(75))
    R[:, _J["left_elbow"]] = _euler(z, z - d(10), z)
    R[:, _J["right_elbow"]] = _euler(z, z + d(10), z)
    forward = np.zeros(T)
    if name == "walk":
        f = 0.9  # gait cycles per second
        ph = 2 * np.pi * f * t
        hip_amp = d(22)
        for side, sgn in (("left", 1.0), ("right", -1.0)):
            p = ph if sgn > 0 else ph + np.pi
            hip = -hip_amp * np.sin(p)  # negative x-rotation swings the leg forward
            knee = d(5) + d(55) * np.clip(np.sin(p - 0.9), 0, None) ** 2
            ankle = d(8) * np.sin(p + 0.6)
            R[:, _J[f"{side}_hip"]] = _rx(hip)
            R[:, _J[f"{side}_knee"]] = _rx(knee)
            R[:, _J[f"{side}_ankle"]] = _rx(ankle)
            # arms swing opposite to the leg on the same side
            swing = d(18) * np.sin(p)
            zdown = -d(75) if side == "left" else d(75)
            R[:, _J[f"{side}_shoulder"]] = _rx(swing) @ _euler(z, z, z + zdown)
        R[:, _J["pelvis"]] = _euler(z, d(5) * np.sin(ph), z)
        R[:, _J["spine2"]] = _euler(z, -d(5) * np.sin(ph), z)
        # step length ~ 2 * leg * sin(hip_amp) per half cycle
        speed = 2 * 0.85 * np.sin(hip_amp) * 2 * f
        forward = speed * t
    elif name == "wave":
        # right upper arm out to the side, forearm up, waving about the elbow
        w = 2 * np.pi * 1.2 * t
        ramp = np.clip(t / 0.6, 0, 1)
        R[:, _J["right_shoulder"]] = _euler(z, z, z + d(75) * (1 - ramp) + d(10) * ramp)
        R[:, _J["right_elbow"]] = _euler(z, z + d(10) * (1 - ramp), z - ramp * (d(100) + d(20) * np.sin(w)))
    elif name == "squat":
        s = 0.5 - 0.5 * np.cos(2 * np.pi * 0.5 * t)
        for side in ("left", "right"):
            R[:, _J[f"{side}_hip"]] = _rx(-d(85) * s)
            R[:, _J[f"{side}_knee"]] = _rx(d(110) * s)
            R[:, _J[f"{side}_ankle"]] = _rx(-d(25) * s)
        R[:, _J["spine1"]] = _rx(d(20) * s)
    return _grounded(R, forward, fps, name)


def builtin_pose(name: str = "tpose") -> Motion:
    """A one-frame pose standing on the ground: ``"tpose"``, ``"apose"`` (arms 45 deg down), ``"stand"``."""
    if name == "tpose":
        return Motion.rest(1)
    if name not in ("apose", "stand"):
        raise InputError(f"unknown pose {name!r}; choose tpose, apose or stand")
    angle = 45.0 if name == "apose" else 75.0
    R = np.broadcast_to(np.eye(3), (1, NUM_JOINTS, 3, 3)).copy()
    R[0, _J["left_shoulder"]] = euler_to_rotmat(np.array([0.0, 0.0, -np.deg2rad(angle)]), "XYZ")
    R[0, _J["right_shoulder"]] = euler_to_rotmat(np.array([0.0, 0.0, np.deg2rad(angle)]), "XYZ")
    return _grounded(R, np.zeros(1), 30.0, name)
