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

Adding a skeleton: build a :class:`RetargetMap` and call
:func:`register_retarget_map`; :func:`find_retarget_map` picks the first map
whose source joints are all present in a clip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.bvh import BvhClip
from humokit.motion.contacts import detect_contacts
from humokit.motion.motion import Motion
from humokit.motion.skeleton import (
    JOINT_NAMES,
    NUM_JOINTS,
    PARENTS,
    Skeleton,
    default_skeleton,
    forward_kinematics,
    inverse_kinematics,
)

Blend = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class RetargetMap:
    """How a source skeleton maps to the canonical 22 joints.

    Attributes:
        name: registry key, e.g. ``"bandai_namco"``.
        joints: canonical joint name -> blend of source joints ``((name, weight), ...)``;
            weights sum to 1. All 22 canonical joints must appear.
        scale: metres per source unit (0.01 for centimetres), or None to tell
            metres from centimetres by the skeleton's size (a person's bones
            sum to a few metres, i.e. hundreds of centimetres).
        axes: ``(3, 3)`` matrix taking source axes to humokit's (Y up, right-handed).
        skip_frames: leading frames to drop (e.g. CMU's calibration T-pose frame).
    """

    name: str
    joints: dict[str, Blend]
    scale: float | None = 0.01
    axes: np.ndarray = field(default_factory=lambda: np.eye(3))
    skip_frames: int = 0

    def __post_init__(self) -> None:
        missing = [n for n in JOINT_NAMES if n not in self.joints]
        if missing:
            raise InputError(f"retarget map {self.name!r}: no source for {', '.join(missing)}")
        for k, b in self.joints.items():
            if abs(sum(w for _, w in b) - 1.0) > 1e-6:
                raise InputError(f"retarget map {self.name!r}: weights of {k!r} must sum to 1")
        A = np.asarray(self.axes, dtype=np.float64)
        if A.shape != (3, 3) or abs(np.linalg.det(A) - 1.0) > 1e-6:
            raise InputError(f"retarget map {self.name!r}: axes must be a 3x3 rotation")
        object.__setattr__(self, "axes", A)

    @property
    def source_joints(self) -> set[str]:
        return {n for b in self.joints.values() for n, _ in b}


def _one(name: str) -> Blend:
    return ((name, 1.0),)


def _mix(a: str, b: str, t: float) -> Blend:
    return ((a, 1.0 - t), (b, t))


def _sided(table: dict[str, Blend], left: str, right: str) -> dict[str, Blend]:
    """Expand ``{l}``-templated entries into left and right canonical joints."""
    out: dict[str, Blend] = {}
    for k, b in table.items():
        if "{s}" in k:
            for side, tag in (("left", left), ("right", right)):
                out[k.format(s=side)] = tuple((n.format(s=tag), w) for n, w in b)
        else:
            out[k] = b
    return out


BANDAI_NAMCO = RetargetMap(
    "bandai_namco",
    _sided(
        {
            "pelvis": _one("Hips"), "spine1": _one("Spine"), "spine2": _mix("Spine", "Chest", 0.5),
            "spine3": _one("Chest"), "neck": _one("Neck"), "head": _one("Head"),
            "{s}_hip": _one("UpperLeg_{s}"), "{s}_knee": _one("LowerLeg_{s}"),
            "{s}_ankle": _one("Foot_{s}"), "{s}_foot": _one("Toes_{s}"),
            "{s}_collar": _one("Shoulder_{s}"), "{s}_shoulder": _one("UpperArm_{s}"),
            "{s}_elbow": _one("LowerArm_{s}"), "{s}_wrist": _one("Hand_{s}"),
        },
        "L", "R",
    ),
    scale=0.01,
)  # fmt: skip

# cgspeed "DAZ-friendly" CMU conversion (hip, abdomen, chest, lThigh, lShin, ...).
CMU_DAZ = RetargetMap(
    "cmu_daz",
    _sided(
        {
            "pelvis": _one("hip"), "spine1": _one("abdomen"), "spine2": _mix("abdomen", "chest", 0.5),
            "spine3": _one("chest"), "neck": _one("neck"), "head": _one("head"),
            "{s}_hip": _one("{s}Thigh"), "{s}_knee": _one("{s}Shin"),
            "{s}_ankle": _one("{s}Foot"), "{s}_foot": _one("{s}Foot_End"),
            "{s}_collar": _one("{s}Collar"), "{s}_shoulder": _one("{s}Shldr"),
            "{s}_elbow": _one("{s}ForeArm"), "{s}_wrist": _one("{s}Hand"),
        },
        "l", "r",
    ),
    scale=0.01,
    skip_frames=1,
)  # fmt: skip

# CMU ASF-style names (hip, lhipjoint, lfemur, ltibia, ...), units of 1/0.45 inch.
CMU_ASF = RetargetMap(
    "cmu_asf",
    _sided(
        {
            "pelvis": _one("hip"), "spine1": _mix("lowerback", "upperback", 0.5), "spine2": _one("upperback"),
            "spine3": _one("thorax"), "neck": _mix("lowerneck", "upperneck", 0.5), "head": _one("head"),
            "{s}_hip": _one("{s}femur"), "{s}_knee": _one("{s}tibia"),
            "{s}_ankle": _one("{s}foot"), "{s}_foot": _one("{s}toes"),
            "{s}_collar": _mix("{s}clavicle", "{s}humerus", 0.35), "{s}_shoulder": _one("{s}humerus"),
            "{s}_elbow": _one("{s}radius"), "{s}_wrist": _one("{s}wrist"),
        },
        "l", "r",
    ),
    scale=0.0254 / 0.45,
    skip_frames=1,
)  # fmt: skip

# cgspeed Motionbuilder-friendly CMU conversion (Hips, LeftUpLeg, LeftLeg, ...).
CMU_CGSPEED = RetargetMap(
    "cmu_cgspeed",
    _sided(
        {
            "pelvis": _one("Hips"), "spine1": _one("LowerBack"), "spine2": _one("Spine"),
            "spine3": _one("Spine1"), "neck": _one("Neck"), "head": _one("Head"),
            "{s}_hip": _one("{s}UpLeg"), "{s}_knee": _one("{s}Leg"),
            "{s}_ankle": _one("{s}Foot"), "{s}_foot": _one("{s}ToeBase"),
            "{s}_collar": _mix("{s}Shoulder", "{s}Arm", 0.35), "{s}_shoulder": _one("{s}Arm"),
            "{s}_elbow": _one("{s}ForeArm"), "{s}_wrist": _one("{s}Hand"),
        },
        "Left", "Right",
    ),
    scale=0.0254 / 0.45,
    skip_frames=1,
)  # fmt: skip

# BVH files humokit itself writes (``save_bvh(motion)`` in centimetres, ``humokit export -f bvh``
# in metres by default): canonical joint names, Anny bone names or Mixamo names; unit told by size.
HUMOKIT_CANONICAL = RetargetMap("humokit_canonical", {n: _one(n) for n in JOINT_NAMES}, scale=None)


def _anny_rig_map() -> RetargetMap:
    from humokit.motion.rig_tables import ANNY_JOINT_MAP

    return RetargetMap("humokit_anny_rig", {n: _one(ANNY_JOINT_MAP[n]) for n in JOINT_NAMES}, scale=None)


def _mixamo_map(prefix: str) -> RetargetMap:
    p = prefix
    return RetargetMap(
        f"mixamo{'_prefixed' if prefix else ''}",
        _sided(
            {
                "pelvis": _one(f"{p}Hips"), "spine1": _one(f"{p}Spine"), "spine2": _one(f"{p}Spine1"),
                "spine3": _one(f"{p}Spine2"), "neck": _one(f"{p}Neck"), "head": _one(f"{p}Head"),
                "{s}_hip": _one(p + "{s}UpLeg"), "{s}_knee": _one(p + "{s}Leg"),
                "{s}_ankle": _one(p + "{s}Foot"), "{s}_foot": _one(p + "{s}ToeBase"),
                "{s}_collar": _one(p + "{s}Shoulder"), "{s}_shoulder": _one(p + "{s}Arm"),
                "{s}_elbow": _one(p + "{s}ForeArm"), "{s}_wrist": _one(p + "{s}Hand"),
            },
            "Left", "Right",
        ),
        scale=None,
    )  # fmt: skip


_REGISTRY: dict[str, RetargetMap] = {}


def register_retarget_map(m: RetargetMap) -> None:
    """Add (or replace) a map in the registry used by :func:`find_retarget_map`."""
    _REGISTRY[m.name] = m


def retarget_maps() -> dict[str, RetargetMap]:
    """The registered maps by name (a copy)."""
    return dict(_REGISTRY)


for _m in (BANDAI_NAMCO, CMU_DAZ, CMU_ASF, CMU_CGSPEED, HUMOKIT_CANONICAL, _anny_rig_map(),
           _mixamo_map(""), _mixamo_map("mixamorig:")):
    register_retarget_map(_m)


def find_retarget_map(clip: BvhClip) -> RetargetMap:
    """The first registered map whose source joints all exist in ``clip``."""
    names = set(clip.names)
    for m in _REGISTRY.values():
        if m.source_joints <= names:
            return m
    raise InputError(f"retarget: no registered map fits a skeleton with joints {', '.join(clip.names[:6])}, ...")


# ------------------------------------------------------------------- maths
def mapped_positions(clip: BvhClip, m: RetargetMap) -> np.ndarray:
    """``(T, 22, 3)`` canonical joint positions in metres and humokit axes (not yet placed)."""
    P = clip.world_positions()
    out = np.zeros((clip.num_frames, NUM_JOINTS, 3))
    for k, name in enumerate(JOINT_NAMES):
        for src, w in m.joints[name]:
            out[:, k] += w * P[:, clip.index(src)]
    return (out @ m.axes.T) * (m.scale if m.scale is not None else guess_unit_scale(clip))


def guess_unit_scale(clip: BvhClip) -> float:
    """Metres per unit of a human clip: 0.01 when its bones sum to over 50 units (centimetres), else 1."""
    total = float(np.linalg.norm(np.asarray(clip.offsets)[1:], axis=1).sum())
    return 0.01 if total > 50.0 else 1.0


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


def place_on_ground(
    positions: np.ndarray, fps: float, skeleton: Skeleton | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Face +Z at frame 0, start at x = z = 0, foot soles at y = 0 over contact frames.

    Args:
        positions: ``(T, 22, 3)`` metres, Y up.
        skeleton: the performer's skeleton if already measured (for sole heights).
    Returns:
        ``(placed positions (T, 22, 3), contacts (T, 4) bool)``.
    """
    R = _yaw_matrix(-facing_yaw(positions[0]))
    P = positions @ R.T
    P = P - np.array([P[0, 0, 0], 0.0, P[0, 0, 2]])
    sole = (skeleton or performer_skeleton(P)).sole_heights()
    contacts = detect_contacts(P, fps, sole=sole, max_height=np.inf)
    low = (P[:, [7, 10, 8, 11], 1] - sole).min(axis=1)
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


def retarget(
    clip: BvhClip,
    retarget_map: RetargetMap | str | None = None,
    *,
    fps: float = 20.0,
    meta: dict[str, str] | None = None,
    max_error: float = 0.02,
) -> Motion:
    """Retarget a BVH clip to a canonical :class:`Motion` at ``fps``.

    Args:
        clip: source clip (any units/skeleton covered by a registered map).
        retarget_map: a map, a registered name, or None to detect it from joint names.
        fps: output frame rate (the clip is resampled with :meth:`Motion.resample`).
        meta: extra metadata stored in the motion.
        max_error: metres; raise if FK of the IK solution misses a mapped joint by more.
    Returns:
        Motion facing +Z at frame 0, starting at x = z = 0, feet on y = 0, with contacts.
    """
    if retarget_map is None:
        m = find_retarget_map(clip)
    elif isinstance(retarget_map, str):
        if retarget_map not in _REGISTRY:
            raise InputError(f"retarget: unknown map {retarget_map!r}; known: {', '.join(_REGISTRY)}")
        m = _REGISTRY[retarget_map]
    else:
        m = retarget_map
    if m.skip_frames:
        clip = clip.slice(m.skip_frames)
    if clip.num_frames < 2:
        raise InputError("retarget: clip needs at least 2 frames")
    mapped = mapped_positions(clip, m)
    skel = performer_skeleton(mapped)  # rigid placement below leaves it unchanged
    P, _ = place_on_ground(mapped, clip.fps, skel)
    info = {"retarget_map": m.name, **(meta or {})}
    motion = positions_to_motion(P, clip.fps, meta=info, skeleton=skel)
    err = check_retarget(motion, P)
    if err > max_error:
        raise InputError(f"retarget: joints off by {err * 100:.1f} cm after IK (degenerate mapping?)")
    if abs(fps - clip.fps) > 1e-6:
        motion = motion.resample(fps)
    J = motion.joints()
    return motion.replace(contacts=detect_contacts(J, fps, sole=motion.skeleton.sole_heights()))


def check_retarget(motion: Motion, positions: np.ndarray) -> float:
    """Max joint distance (metres) between FK of ``motion`` and ``positions`` at the same frames."""
    pos, _ = forward_kinematics(
        torch.from_numpy(motion.rotations), torch.from_numpy(motion.root_position),
        torch.from_numpy(motion.skeleton.offsets.astype(np.float32)),
    )  # fmt: skip
    return float(np.abs(pos.numpy() - positions).max())
