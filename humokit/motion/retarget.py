"""Retarget a BVH clip of any skeleton onto the canonical 22-joint skeleton.

Method (robust to the source's rest pose, T- or A-pose alike, because it never
uses source rotations):

1. source world joint positions by FK, converted to metres and humokit's axes
   (``RetargetMap.scale`` and ``RetargetMap.axes``);
2. the 22 canonical joints as weighted blends of source joints (a single joint,
   or e.g. half-way between two for a missing ``spine2``);
3. the performer's bone lengths (median over frames) laid along the canonical
   rest directions give a :class:`~humokit.motion.skeleton.Skeleton`, and the
   canonical analytic :func:`~humokit.motion.skeleton.inverse_kinematics` gives
   rotations whose FK reproduces the mapped joint directions with constant
   bone lengths;
4. placement: rotate about Y so the body faces +Z at the first frame (from the
   hip and shoulder across-vectors), move the first root position to x = z = 0,
   and shift vertically so the lowest foot joint is at y = 0 over the contact
   frames (median);
5. resample to ``fps`` with :meth:`Motion.resample`; foot contacts are stored.

Which map: registered maps are exact overrides (the first whose source joints
all exist in the clip); any other humanoid skeleton is mapped automatically by
:func:`humokit.motion.automap.map_skeleton` (names and topology). Adding a
skeleton: build a :class:`RetargetMap` (``humokit import --show-map FILE``
prints one to start from) and call :func:`register_retarget_map`.

When FK of the IK solution misses the mapped joints by more than
``max_error``, :func:`retarget` raises one line naming the worst canonical
joints, their errors and source joints, and the map used.
"""

from __future__ import annotations


import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.bvh import BvhClip
from humokit.motion.contacts import detect_contacts
from humokit.motion.automap import JointMapping, map_skeleton
from humokit.motion.motion import Motion
from humokit.motion.retarget_maps import (  # noqa: F401 - re-exported: the public place of the maps
    BANDAI_NAMCO,
    CMU_ASF,
    CMU_DAZ,
    HUMOKIT_CANONICAL,
    Blend,
    RetargetMap,
    register_retarget_map,
    retarget_maps,
)
from humokit.motion.rotations import rotvec_to_rotmat
from humokit.motion.skeleton import (
    FOOT_JOINTS,
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    Skeleton,
    default_skeleton,
    forward_kinematics,
    inverse_kinematics,
)

def find_retarget_map(clip: BvhClip) -> RetargetMap:
    """The map :func:`retarget` uses for ``clip``: the first registered map whose
    source joints all exist in it, else the automatic one (units resolved)."""
    return map_skeleton(clip).retarget_map


# ------------------------------------------------------------------- maths
def mapped_positions(clip: BvhClip, m: RetargetMap) -> np.ndarray:
    """``(T, 22, 3)`` canonical joint positions in metres and humokit axes (not yet placed)."""
    if m.scale is None:
        raise InputError(f"retarget map {m.name!r}: scale not resolved (use find_retarget_map or map_skeleton)")
    P, Rw = clip.world_transforms() if m.attach else (clip.world_positions(), None)
    out = np.zeros((clip.num_frames, NUM_JOINTS, 3))
    for k, name in enumerate(JOINT_NAMES):
        for src, w in m.joints[name]:
            out[:, k] += w * P[:, clip.index(src)]
        if name in m.attach:
            out[:, k] += Rw[:, clip.index(m.joints[name][0][0])] @ np.asarray(m.attach[name])  # type: ignore[index]
    return (out @ m.axes.T) * m.scale


def facing_yaw(positions: np.ndarray) -> float:
    """Yaw (radians about +Y) of the facing direction of ``(22, 3)`` positions; 0 = facing +Z.

    Facing is ``across x up`` with ``across`` pointing from the right to the
    left side (hips plus shoulders), so a body with its left on +X faces +Z.
    """
    across = (positions[1] - positions[2]) + (positions[16] - positions[17])
    fwd = np.cross(across, [0.0, 1.0, 0.0])
    return float(np.arctan2(fwd[0], fwd[2]))


def _yaw_matrix(angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def level_rotation(positions: np.ndarray, fps: float, sole: np.ndarray, *, max_tilt: float = 5.0,
                   min_tilt: float = 0.2, min_spread: float = 1.0) -> np.ndarray:  # fmt: skip
    """Rotation ``(3, 3)`` that levels a tilted capture floor (identity when the floor is level or unclear).

    Some captures' floors are not level in the file's axes (CMU subjects 7
    and 8 walk "uphill" by 2-11 cm over 3-4 m), so with the floor at the
    lowest sole the far end of a walk hovers. The planted feet (heel and toe
    joints slower than 0.3 m/s) are fitted by a plane ``y = a x + b z + c``
    (least squares, refitted once without outliers); the motion is turned so
    that plane is level when the planted points span at least ``min_spread``
    metres, lie within 2 cm of the plane (RMS), and its tilt is between
    ``min_tilt`` and ``max_tilt`` degrees (more is a slope or stairs: kept).

    Args:
        positions: ``(T, 22, 3)`` metres, Y up.
        fps: frames per second.
        sole: ``(4,)`` sole heights of the :data:`FOOT_JOINTS` (metres).
    """
    F = positions[:, list(FOOT_JOINTS)]  # (T, 4, 3)
    if len(F) < 3:
        return np.eye(3)
    speed = np.linalg.norm(np.gradient(F, axis=0), axis=-1) * fps  # (T, 4)
    pts = np.concatenate([F[..., [0, 2]], F[..., 1:2] - np.asarray(sole)[:, None]], axis=-1)[speed < 0.3]  # (N, 3)
    if len(pts) < 8:
        return np.eye(3)
    xz = pts[:, :2] - pts[:, :2].mean(0)
    _, _, Vt = np.linalg.svd(xz, full_matrices=False)  # principal horizontal directions (rows)
    dirs = [v for v in Vt if np.ptp(xz @ v) >= min_spread]  # a slope only along directions the feet span
    if not dirs:
        return np.eye(3)
    A = np.column_stack([xz @ v for v in dirs] + [np.ones(len(pts))])
    keep = np.ones(len(pts), bool)
    for _ in range(2):
        coef, *_ = np.linalg.lstsq(A[keep], pts[keep, 2], rcond=None)
        r = np.abs(A @ coef - pts[:, 2])
        keep = r < max(0.02, 2.5 * float(np.median(r)))
    rms = float(np.sqrt(np.mean(r[keep] ** 2))) if keep.any() else np.inf
    grad = sum(c * v for c, v in zip(coef[:-1], dirs))  # dy/dx, dy/dz
    tilt = np.degrees(np.arctan(np.hypot(grad[0], grad[1])))
    if not (min_tilt < tilt < max_tilt) or rms > 0.02:
        return np.eye(3)
    n = np.array([-grad[0], 1.0, -grad[1]]) / np.sqrt(1.0 + grad[0] ** 2 + grad[1] ** 2)  # the floor's normal
    axis = np.cross(n, [0.0, 1.0, 0.0])  # |axis| = sin(angle between n and +Y)
    return np.asarray(rotvec_to_rotmat(axis / np.linalg.norm(axis) * np.arcsin(np.linalg.norm(axis))), dtype=np.float64)


def place_on_ground(
    positions: np.ndarray, fps: float, skeleton: Skeleton | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Level a tilted capture floor, face +Z at frame 0, start at x = z = 0, foot soles at y = 0 over contact frames.

    Args:
        positions: ``(T, 22, 3)`` metres, Y up.
        skeleton: the performer's skeleton if already measured (for sole heights).
    Returns:
        ``(placed positions (T, 22, 3), contacts (T, 4) bool)``.
    """
    sole = (skeleton or performer_skeleton(positions)).sole_heights()
    P = positions @ level_rotation(positions, fps, sole).T
    P = P @ _yaw_matrix(-facing_yaw(P[0])).T
    P = P - np.array([P[0, 0, 0], 0.0, P[0, 0, 2]])
    contacts = detect_contacts(P, fps, sole=sole, max_height=np.inf)
    low = (P[:, list(FOOT_JOINTS), 1] - sole).min(axis=1)
    frames = contacts.any(axis=1)
    # mid-range of the planted soles: robust to capture floors that drift by a few cm
    floor = float(np.mean(np.percentile(low[frames], [10, 90]))) if frames.any() else float(low.min())
    P[..., 1] -= floor
    return P, contacts


# Joints with several children: (joint, midline child, left child, right child).
_BRANCHES = ((0, 3, 1, 2), (9, 12, 13, 14))


def performer_skeleton(positions: np.ndarray) -> Skeleton:
    """The performer's canonical skeleton measured from joint positions ``(T, 22, 3)``.

    Single-child bones get the median length along the canonical rest
    direction. The pelvis and spine3 branches (three children each) get the
    median shape of their child triangle, expressed in a rest frame whose x
    axis runs right-to-left child and whose y axis is the midline child's
    direction orthogonalised against x: so analytic IK fits them exactly.
    """
    ref = default_skeleton().offsets
    off = ref.copy()
    for j, p in enumerate(PARENTS):
        if p < 0:
            continue
        length = float(np.median(np.linalg.norm(positions[:, j] - positions[:, p], axis=-1)))
        off[j] = ref[j] / np.linalg.norm(ref[j]) * max(length, 1e-3)
    for j, mid, left, right in _BRANCHES:
        x = positions[:, left] - positions[:, right]
        x /= np.linalg.norm(x, axis=-1, keepdims=True).clip(1e-9)
        y = positions[:, mid] - positions[:, j]
        y = y - (y * x).sum(-1, keepdims=True) * x
        y /= np.linalg.norm(y, axis=-1, keepdims=True).clip(1e-9)
        frame = np.stack([x, y, np.cross(x, y)], axis=-1)  # (T, 3, 3) columns = axes
        for c in (mid, left, right):
            local = np.einsum("tab,ta->tb", frame, positions[:, c] - positions[:, j])
            off[c] = np.median(local, axis=0)
    return Skeleton(offsets=off)


def positions_to_motion(
    positions: np.ndarray, fps: float, *, meta: dict[str, str] | None = None, skeleton: Skeleton | None = None
) -> Motion:
    """Canonical joint positions ``(T, 22, 3)`` (metres, placed) -> :class:`Motion` by analytic IK.

    ``skeleton`` defaults to :func:`performer_skeleton` of the positions.
    """
    skel = skeleton or performer_skeleton(positions)
    R, root = inverse_kinematics(
        torch.from_numpy(positions), torch.from_numpy(skel.offsets), skel.parents
    )
    return Motion(R.float().numpy(), root.float().numpy(), fps, skeleton=skel, meta=dict(meta or {}))


def calibration_blend_frames(clip: BvhClip, *, within: float = 0.25, ratio: float = 3.0) -> int:
    """Leading frames, after a calibration pose, in which the take has not started yet.

    Converters that start a take with a calibration pose (cgspeed's CMU files:
    a T-pose frame) follow it with a few frames in which the limbs blend from
    that pose into the performance, far faster than anything in the take, and
    some hold the root still where the calibration happened and then jump
    (8 cm to metres) to where the take starts. Those frames would set the floor
    (the lowest joint over the clip) and the origin. Counted, within the first
    ``within`` seconds: frames whose largest joint rotation change to the next
    frame is over ``ratio`` times the clip's median, and a run of leading
    frames with bit-identical root translations (captured roots always jitter)
    when it ends in a root step over ``ratio`` times the median root step.

    Args:
        clip: the clip after its calibration frame(s) were dropped.
    Returns:
        how many further leading frames to drop (0 for a take that starts at once).
    """
    n = min(clip.num_frames, 2400)
    if n < 8:
        return 0
    head = max(1, min(n - 4, int(round(within / max(clip.frame_time, 1e-6)))))
    turn = np.abs(np.diff(clip.rotations[:n], axis=0)).max(axis=(1, 2, 3))  # (n-1,)
    fast = turn[:head] > ratio * float(np.median(turn))
    blend = head if fast.all() else int(np.argmin(fast))
    root = next(j for j, p in enumerate(clip.parents) if p < 0)
    step = np.linalg.norm(np.diff(clip.translations[:n, root], axis=0), axis=-1)  # (n-1,)
    moved = np.flatnonzero(step > 0)
    k = int(moved[0]) if len(moved) else 0
    held = k + 1 if 0 < k < head and step[k] > ratio * float(np.median(step[k + 1 :])) else 0
    return max(blend, held)


def retarget(
    clip: BvhClip,
    retarget_map: RetargetMap | JointMapping | str | None = None,
    *,
    fps: float | None = 20.0,
    meta: dict[str, str] | None = None,
    max_error: float = 0.02,
    unit: str | None = None,
) -> Motion:
    """Retarget a BVH clip to a canonical :class:`Motion` at ``fps``.

    Args:
        clip: source clip (any humanoid skeleton, any units and up axis).
        retarget_map: a map, a registered name, a :class:`~humokit.motion.automap.JointMapping`,
            or None (registered maps first, then automatic mapping).
        fps: output frame rate (the clip is resampled with :meth:`Motion.resample`); None = the clip's.
        meta: extra metadata stored in the motion.
        max_error: metres; raise if FK of the IK solution misses a mapped joint by more.
        unit: force the source length unit (``"cm"``, ``"m"``, ``"mm"``, ``"inch"``, ``"cmu"``).
    Returns:
        Motion facing +Z at frame 0, starting at x = z = 0, feet on y = 0, with contacts.
    """
    mapping = retarget_map if isinstance(retarget_map, JointMapping) else map_skeleton(clip, retarget_map, unit=unit)
    m = mapping.retarget_map
    if m.skip_frames:
        clip = clip.slice(m.skip_frames)
        clip = clip.slice(calibration_blend_frames(clip))
    if clip.num_frames < 2:
        raise InputError("retarget: clip needs at least 2 frames")
    mapped = mapped_positions(clip, m)
    skel = performer_skeleton(mapped)  # rigid placement below leaves it unchanged
    P, _ = place_on_ground(mapped, clip.fps, skel)
    info = {"retarget_map": m.name, **(meta or {})}
    info.setdefault("source_unit", mapping.unit)
    motion = positions_to_motion(P, clip.fps, meta=info, skeleton=skel)
    err = check_retarget(motion, P)
    if err > max_error:
        raise InputError(explain_residual(motion, P, m))
    out_fps = clip.fps if fps is None else fps
    if abs(out_fps - clip.fps) > 1e-6:
        motion = motion.resample(out_fps)
    J = motion.joints()
    return motion.replace(contacts=detect_contacts(J, out_fps, sole=motion.skeleton.sole_heights()))


def joint_residuals(motion: Motion, positions: np.ndarray) -> np.ndarray:
    """``(22,)`` largest distance (metres, over frames) between FK of ``motion`` and ``positions`` per joint."""
    pos, _ = forward_kinematics(
        torch.from_numpy(motion.rotations), torch.from_numpy(motion.root_position),
        torch.from_numpy(motion.skeleton.offsets.astype(np.float32)),
    )  # fmt: skip
    return np.linalg.norm(pos.numpy() - positions, axis=-1).max(axis=0)


def explain_residual(motion: Motion, positions: np.ndarray, m: RetargetMap, worst: int = 3) -> str:
    """One line: the canonical joints IK misses most, by how much, their source joints and the map."""
    r = joint_residuals(motion, positions)
    order = np.argsort(-r)[:worst]
    parts = []
    for k in order:
        src = "+".join(n for n, _ in m.joints[JOINT_NAMES[k]])
        parts.append(f"{JOINT_NAMES[k]} {r[k] * 100:.1f} cm (from {src})")
    return (f"retarget: joints off after IK with map {m.name!r}: {', '.join(parts)}; the mapped joints do not move "
            f"like one skeleton (see the mapping with: humokit import --show-map FILE)")


def check_retarget(motion: Motion, positions: np.ndarray) -> float:
    """Max joint distance (metres) between FK of ``motion`` and ``positions`` at the same frames."""
    pos, _ = forward_kinematics(
        torch.from_numpy(motion.rotations), torch.from_numpy(motion.root_position),
        torch.from_numpy(motion.skeleton.offsets.astype(np.float32)),
    )  # fmt: skip
    return float(np.abs(pos.numpy() - positions).max())
