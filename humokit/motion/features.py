"""The HumanML3D 263-d motion representation (Guo et al. 2022), from joint positions.

Reimplements HumanML3D's ``process_file`` and ``recover_from_ric`` (numpy,
float64) so features built here are interchangeable with HumanML3D's:

1. ``uniform_skeleton``: scale root positions by the ratio of target to source
   right-leg length (bones ending at joints 5 and 8) and rebuild every bone
   with the target length along its observed direction. The target lengths
   are humokit's canonical skeleton's (HumanML3D uses its subject 000021).
2. floor: lowest joint over the clip at y = 0; first root at x = z = 0;
   rotate about Y so the first frame faces +Z (across = (r_hip - l_hip) +
   (r_shoulder - l_shoulder), face joints ``[2, 1, 17, 16]``).
3. per frame ``t < T - 1`` (the last frame only feeds velocities), 263 values:

   ======  ====  ===========================================================
   slice   size  content
   ======  ====  ===========================================================
   0       1     root angular velocity about Y (half-angle per frame, rad)
   1:3     2     root linear velocity x, z in the root (facing) frame
   3       1     root height y
   4:67    63    joints 1..21 relative to the root (xz) in the facing frame
   67:193  126   joints 1..21 local rotations, 6D (first two matrix columns)
   193:259 66    joints 0..21 velocities in the facing frame
   259:263 4     foot contacts l_ankle, l_toe, r_ankle, r_toe
   ======  ====  ===========================================================

The per-frame facing (root rotation) follows the reference exactly, including
its quirks: the forward vector is computed from ``(l_hip - r_hip) + (r_sdr -
l_sdr)`` (the reference's ``inverse_kinematics_np`` unpacks the face joints as
``l_hip, r_hip``), smoothed by a Gaussian (sigma 20 frames), and frame 0's
root rotation is set to identity. Contacts: squared per-frame displacement
below 0.002 (m^2, at 20 fps) for feet ``[7, 10]`` and ``[8, 11]``.

Axes: HumanML3D joints are Y up and face +Z after processing, with the body's
left on **+X** (its raw offsets put the left hip at +x): the same convention
as humokit's world, so no axis change is applied in either direction.

Quaternions in this module are **wxyz** (the reference's order).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from scipy.ndimage import gaussian_filter1d

from humokit._io import atomic_path
from humokit.errors import FileFormatError, InputError
from humokit.motion.skeleton import MIRROR_INDEX, default_skeleton

FEATURE_DIM = 263
NUM_JOINTS = 22
# HumanML3D kinematic chains and unit rest directions (t2m_raw_offsets).
KINEMATIC_CHAIN = ((0, 2, 5, 8, 11), (0, 1, 4, 7, 10), (0, 3, 6, 9, 12, 15), (9, 14, 17, 19, 21), (9, 13, 16, 18, 20))
RAW_OFFSETS = np.array(
    [[0, 0, 0], [1, 0, 0], [-1, 0, 0], [0, 1, 0], [0, -1, 0], [0, -1, 0], [0, 1, 0], [0, -1, 0],
     [0, -1, 0], [0, 1, 0], [0, 0, 1], [0, 0, 1], [0, 1, 0], [1, 0, 0], [-1, 0, 0], [0, 0, 1],
     [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0], [0, -1, 0]], dtype=np.float64
)  # fmt: skip
FACE_JOINTS = (2, 1, 17, 16)  # r_hip, l_hip, r_shoulder, l_shoulder
FOOT_L, FOOT_R = (7, 10), (8, 11)
FEET_THRESHOLD = 0.002
_PARENT = [-1] * NUM_JOINTS
for _chain in KINEMATIC_CHAIN:
    for _a, _b in zip(_chain[:-1], _chain[1:]):
        _PARENT[_b] = _a
# feature slices
ROOT_ROT_VEL, ROOT_LIN_VEL, ROOT_Y = slice(0, 1), slice(1, 3), slice(3, 4)
RIC, ROT6D, LOCAL_VEL, CONTACTS = slice(4, 67), slice(67, 193), slice(193, 259), slice(259, 263)


# ------------------------------------------------------------ quaternions wxyz
def _qmul(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    aw, ax, ay, az = np.moveaxis(a, -1, 0)
    bw, bx, by, bz = np.moveaxis(b, -1, 0)
    return np.stack([aw * bw - ax * bx - ay * by - az * bz, aw * bx + ax * bw + ay * bz - az * by,
                     aw * by - ax * bz + ay * bw + az * bx, aw * bz + ax * by - ay * bx + az * bw], -1)  # fmt: skip


def _qinv(q: np.ndarray) -> np.ndarray:
    return q * np.array([1.0, -1.0, -1.0, -1.0])


def _qrot(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Rotate vectors ``v (..., 3)`` by unit quaternions ``q (..., 4)``."""
    w, u = q[..., :1], q[..., 1:]
    t = 2.0 * np.cross(u, v)
    return v + w * t + np.cross(u, t)


def _qbetween(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Unit quaternion rotating direction ``a`` onto ``b`` (both ``(..., 3)``)."""
    a = a / np.linalg.norm(a, axis=-1, keepdims=True).clip(1e-12)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True).clip(1e-12)
    q = np.concatenate([1.0 + (a * b).sum(-1, keepdims=True), np.cross(a, b)], -1)
    anti = q[..., 0] < 1e-9  # opposite directions: half-turn about a perpendicular axis
    if np.any(anti):
        perp = np.cross(a[anti], [1.0, 0.0, 0.0])
        small = np.linalg.norm(perp, axis=-1) < 1e-6
        perp[small] = np.cross(a[anti][small], [0.0, 1.0, 0.0])
        q[anti] = np.concatenate([np.zeros((perp.shape[0], 1)), perp], -1)
    return q / np.linalg.norm(q, axis=-1, keepdims=True)


def _qfix(q: np.ndarray) -> np.ndarray:
    """Flip signs along time (axis 0) so consecutive quaternions have a positive dot product."""
    out = q.copy()
    dots = (out[1:] * out[:-1]).sum(-1)
    flip = (np.cumsum(dots < 0, axis=0) % 2).astype(bool)
    out[1:][flip] *= -1
    return out


def _qto_matrix(q: np.ndarray) -> np.ndarray:
    w, x, y, z = np.moveaxis(q, -1, 0)
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)  # fmt: skip


# ------------------------------------------------------------------ pipeline
def target_offsets() -> np.ndarray:
    """``(22, 3)`` reference offsets: canonical bone lengths along HumanML3D's raw directions."""
    lengths = np.linalg.norm(default_skeleton().offsets, axis=-1)
    return RAW_OFFSETS * lengths[:, None]


def uniform_skeleton(positions: np.ndarray, offsets: np.ndarray | None = None) -> np.ndarray:
    """Rebuild ``positions (T, 22, 3)`` with the bone lengths of ``offsets`` (default :func:`target_offsets`)."""
    tgt = target_offsets() if offsets is None else np.asarray(offsets, dtype=np.float64)
    src_len = np.linalg.norm(positions[0, 1:] - positions[0, _PARENT[1:]], axis=-1)
    src_leg = src_len[5 - 1] + src_len[8 - 1]
    tgt_leg = np.abs(tgt[5]).max() + np.abs(tgt[8]).max()
    scale = tgt_leg / max(src_leg, 1e-9)
    out = np.zeros_like(positions)
    out[:, 0] = positions[:, 0] * scale
    tgt_len = np.linalg.norm(tgt, axis=-1)
    for chain in KINEMATIC_CHAIN:
        for a, b in zip(chain[:-1], chain[1:]):
            d = positions[:, b] - positions[:, a]
            d = d / np.linalg.norm(d, axis=-1, keepdims=True).clip(1e-12)
            out[:, b] = out[:, a] + d * tgt_len[b]
    return out


def _root_quats(positions: np.ndarray) -> np.ndarray:
    """``(T, 4)`` per-frame root rotations as the reference's IK computes them (smoothed, frame 0 = identity)."""
    a, b, c, d = FACE_JOINTS  # the reference unpacks these as l_hip, r_hip, sdr_r, sdr_l
    across = (positions[:, b] - positions[:, a]) + (positions[:, c] - positions[:, d])
    across = across / np.linalg.norm(across, axis=-1, keepdims=True).clip(1e-12)
    forward = np.cross(np.array([[0.0, 1.0, 0.0]]), across)
    forward = gaussian_filter1d(forward, 20, axis=0, mode="nearest")
    forward = forward / np.linalg.norm(forward, axis=-1, keepdims=True).clip(1e-12)
    q = _qbetween(forward, np.broadcast_to([0.0, 0.0, 1.0], forward.shape))
    q[0] = [1.0, 0.0, 0.0, 0.0]
    return q


def _local_rotations(positions: np.ndarray, root_q: np.ndarray) -> np.ndarray:
    """``(T, 22, 4)`` local joint quaternions from bone directions (reference IK)."""
    T = len(positions)
    q = np.zeros((T, NUM_JOINTS, 4))
    q[:, 0] = root_q
    for chain in KINEMATIC_CHAIN:
        R = root_q
        for a, b in zip(chain[:-1], chain[1:]):
            u = np.broadcast_to(RAW_OFFSETS[b], (T, 3))
            v = positions[:, b] - positions[:, a]
            rot = _qbetween(u, v)
            loc = _qmul(_qinv(R), rot)
            q[:, b] = loc
            R = _qmul(R, loc)
    return q


def canonicalize(positions: np.ndarray, *, uniform: bool = True) -> np.ndarray:
    """Steps 1-2 of the pipeline: uniform skeleton, floor, origin, face +Z. ``(T, 22, 3)`` metres."""
    P = np.asarray(positions, dtype=np.float64)
    if P.ndim != 3 or P.shape[1:] != (NUM_JOINTS, 3):
        raise InputError(f"features: positions must have shape (T, 22, 3), got {P.shape}")
    if P.shape[0] < 2:
        raise InputError("features: need at least 2 frames")
    if uniform:
        P = uniform_skeleton(P)
    P = P.copy()
    P[..., 1] -= P[..., 1].min()
    P = P - P[0, 0] * np.array([1.0, 0.0, 1.0])
    r_hip, l_hip, sdr_r, sdr_l = FACE_JOINTS
    across = (P[0, r_hip] - P[0, l_hip]) + (P[0, sdr_r] - P[0, sdr_l])
    across = across / np.linalg.norm(across)
    fwd = np.cross([0.0, 1.0, 0.0], across)
    q = _qbetween(fwd / np.linalg.norm(fwd), np.array([0.0, 0.0, 1.0]))
    return _qrot(np.broadcast_to(q, P.shape[:-1] + (4,)), P)


def joints_to_features(
    positions: np.ndarray, *, feet_threshold: float = FEET_THRESHOLD, uniform: bool = True
) -> np.ndarray:
    """Joint positions ``(T, 22, 3)`` (metres, humokit axes, 20 fps) -> features ``(T - 1, 263)`` float32."""
    P = canonicalize(positions, uniform=uniform)
    T = len(P)
    disp2 = ((P[1:] - P[:-1]) ** 2).sum(-1)  # (T-1, 22)
    feet_l = (disp2[:, FOOT_L] < feet_threshold).astype(np.float64)
    feet_r = (disp2[:, FOOT_R] < feet_threshold).astype(np.float64)

    q = _qfix(_local_rotations(P, _root_quats(P)))
    r_rot = q[:, 0]
    mats = _qto_matrix(q)
    rot6d = np.concatenate([mats[..., 0], mats[..., 1]], -1)  # (T, 22, 6)
    velocity = _qrot(r_rot[1:], P[1:, 0] - P[:-1, 0])
    r_vel = _qmul(r_rot[1:], _qinv(r_rot[:-1]))
    ric = P.copy()
    ric[..., 0] -= P[:, :1, 0]
    ric[..., 2] -= P[:, :1, 2]
    ric = _qrot(np.repeat(r_rot[:, None], NUM_JOINTS, axis=1), ric)
    local_vel = _qrot(np.repeat(r_rot[:-1, None], NUM_JOINTS, axis=1), P[1:] - P[:-1])
    feats = np.concatenate(
        [
            np.arcsin(np.clip(r_vel[:, 2:3], -1.0, 1.0)),
            velocity[:, [0, 2]],
            ric[:-1, 0, 1:2],
            ric[:-1, 1:].reshape(T - 1, -1),
            rot6d[:-1, 1:].reshape(T - 1, -1),
            local_vel.reshape(T - 1, -1),
            feet_l,
            feet_r,
        ],
        axis=-1,
    )
    return feats.astype(np.float32)


def _recover_root(feats: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Root rotation quaternions ``(T, 4)`` and positions ``(T, 3)`` from features (reference's ``recover_root_rot_pos``)."""
    ang = np.zeros(feats.shape[:-1])
    ang[1:] = feats[:-1, 0]
    ang = np.cumsum(ang)
    q = np.zeros(feats.shape[:-1] + (4,))
    q[:, 0] = np.cos(ang)
    q[:, 2] = np.sin(ang)
    pos = np.zeros(feats.shape[:-1] + (3,))
    pos[1:, [0, 2]] = feats[:-1, 1:3]
    pos = np.cumsum(_qrot(_qinv(q), pos), axis=0)
    pos[:, 1] = feats[:, 3]
    return q, pos


def features_to_joints(feats: np.ndarray, *, full: bool = False) -> np.ndarray:
    """Features ``(T, 263)`` -> joint positions ``(T, 22, 3)`` (the reference's ``recover_from_ric``).

    Args:
        feats: un-normalised features.
        full: also recover the final frame that the features describe only
            through velocities (the frame after the last feature row), using
            the local joint velocities: returns ``(T + 1, 22, 3)``, which
            :func:`joints_to_features` maps back to ``feats`` exactly.
    """
    F = np.asarray(feats, dtype=np.float64)
    if F.ndim != 2 or F.shape[1] != FEATURE_DIM:
        raise InputError(f"features: expected shape (T, {FEATURE_DIM}), got {F.shape}")
    q, root = _recover_root(F)
    ric = F[:, RIC].reshape(len(F), NUM_JOINTS - 1, 3)
    ric = _qrot(np.repeat(_qinv(q)[:, None], NUM_JOINTS - 1, axis=1), ric)
    ric[..., 0] += root[:, None, 0]
    ric[..., 2] += root[:, None, 2]
    P = np.concatenate([root[:, None], ric], axis=1)
    if full and len(F):
        vel = F[-1, LOCAL_VEL].reshape(NUM_JOINTS, 3)
        last = P[-1] + _qrot(np.repeat(_qinv(q[-1])[None], NUM_JOINTS, axis=0), vel)
        P = np.concatenate([P, last[None]], axis=0)
    return P.astype(np.float32)


def mirror_features(feats: np.ndarray) -> np.ndarray:
    """Features of the left/right mirrored motion (x -> -x, left and right joints swapped)."""
    F = np.asarray(feats, dtype=np.float32).copy()
    T = len(F)
    idx = list(MIRROR_INDEX)
    F[:, 0] *= -1
    F[:, 1] *= -1
    ric = F[:, RIC].reshape(T, 21, 3)[:, [i - 1 for i in idx[1:]]]
    ric[..., 0] *= -1
    rot = F[:, ROT6D].reshape(T, 21, 6)[:, [i - 1 for i in idx[1:]]]
    rot *= np.array([1, -1, -1, -1, 1, 1], dtype=np.float32)  # M R M with M = diag(-1, 1, 1)
    vel = F[:, LOCAL_VEL].reshape(T, 22, 3)[:, idx]
    vel[..., 0] *= -1
    F[:, RIC] = ric.reshape(T, -1)
    F[:, ROT6D] = rot.reshape(T, -1)
    F[:, LOCAL_VEL] = vel.reshape(T, -1)
    F[:, CONTACTS] = F[:, [261, 262, 259, 260]]
    return F


# ---------------------------------------------------------------- mean / std
def mean_std(features: list[np.ndarray] | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """HumanML3D's ``Mean``/``Std``: per-dimension mean, and std averaged within each feature group.

    Groups: root rotation velocity, root linear velocity, root height, ric
    positions, 6D rotations, local velocities, contacts (each group's std is
    replaced by its mean, as the reference's ``mean_variance`` does).
    """
    data = np.concatenate(list(features), axis=0) if isinstance(features, list) else np.asarray(features)
    if data.ndim != 2 or data.shape[1] != FEATURE_DIM or len(data) == 0:
        raise InputError(f"mean_std: need (N, {FEATURE_DIM}) features, got {data.shape}")
    data = data.astype(np.float64)
    mean = data.mean(axis=0)
    std = data.std(axis=0)
    for sl in (ROOT_ROT_VEL, ROOT_LIN_VEL, ROOT_Y, RIC, ROT6D, LOCAL_VEL, CONTACTS):
        std[sl] = std[sl].mean()
    std = np.where(std < 1e-8, 1.0, std)
    return mean.astype(np.float32), std.astype(np.float32)


def save_mean_std(folder: str | Path, mean: np.ndarray, std: np.ndarray) -> None:
    """Write ``Mean.npy`` and ``Std.npy`` into ``folder`` (atomically)."""
    for name, arr in (("Mean.npy", mean), ("Std.npy", std)):
        with atomic_path(Path(folder) / name) as tmp:
            np.save(tmp, np.asarray(arr, dtype=np.float32))


def load_mean_std(folder: str | Path) -> tuple[np.ndarray, np.ndarray]:
    """Read ``Mean.npy`` and ``Std.npy`` from ``folder``; checks their shapes agree."""
    out = []
    for name in ("Mean.npy", "Std.npy"):
        p = Path(folder) / name
        try:
            arr = np.load(p)
        except (OSError, ValueError) as e:
            raise FileFormatError(p, f"cannot read ({e})") from None
        if arr.ndim != 1:
            raise FileFormatError(p, f"expected a 1-D array, got shape {arr.shape}")
        out.append(arr.astype(np.float32))
    if out[0].shape != out[1].shape:
        raise FileFormatError(Path(folder) / "Std.npy", "shape differs from Mean.npy")
    return out[0], out[1]
