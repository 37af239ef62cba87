"""Joint maps from source skeletons to the canonical 22 joints, and their registry.

A :class:`RetargetMap` says which source joints (or blends of them) give each
canonical joint, the source's unit and axes; the built-in maps cover the
shared mocap sets (Bandai Namco, CMU DAZ and ASF conversions) and the rigs
humokit writes (canonical, Anny and Mixamo names). :func:`register_retarget_map`
adds yours; :mod:`humokit.motion.automap` tries the registered maps first and
maps any other humanoid skeleton automatically. Re-exported by
:mod:`humokit.motion.retarget`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from humokit.errors import InputError
from humokit.motion.skeleton import JOINT_NAMES

Blend = tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class RetargetMap:
    """How a source skeleton maps to the canonical 22 joints.

    Attributes:
        name: registry key, e.g. ``"bandai_namco"``.
        joints: canonical joint name -> blend of source joints ``((name, weight), ...)``;
            weights sum to 1. All 22 canonical joints must appear.
        scale: metres per source unit (0.01 for centimetres); None = detect the
            unit from the skeleton's height (:func:`humokit.motion.automap.detect_unit`).
        axes: ``(3, 3)`` matrix taking source axes to humokit's (Y up, right-handed).
        skip_frames: leading frames to drop (e.g. CMU's calibration T-pose frame).
        attach: canonical joint -> offset (source units) in the local frame of
            its first source joint, added after blending: a point rigidly fixed
            to that joint (e.g. a clavicle on the chest of a rig without one).
    """

    name: str
    joints: dict[str, Blend]
    scale: float | None = 0.01
    axes: np.ndarray = field(default_factory=lambda: np.eye(3))
    skip_frames: int = 0
    attach: dict[str, tuple[float, float, float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        missing = [n for n in JOINT_NAMES if n not in self.joints]
        if missing:
            raise InputError(f"retarget map {self.name!r}: no source for {', '.join(missing)}")
        for k, b in self.joints.items():
            if abs(sum(w for _, w in b) - 1.0) > 1e-6:
                raise InputError(f"retarget map {self.name!r}: weights of {k!r} must sum to 1")
        if self.scale is not None and not (np.isfinite(self.scale) and self.scale > 0):
            raise InputError(f"retarget map {self.name!r}: scale must be positive, got {self.scale}")
        unknown = [k for k in self.attach if k not in self.joints]
        if unknown:
            raise InputError(f"retarget map {self.name!r}: attach names unknown joints {', '.join(unknown)}")
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

# BVH files humokit itself writes (``save_bvh(motion)`` / ``humokit export -f bvh``,
# centimetres or metres): canonical joint names, Anny bone names or Mixamo names;
# the unit is detected from the skeleton's height.
HUMOKIT_CANONICAL = RetargetMap("humokit_canonical", {n: _one(n) for n in JOINT_NAMES}, scale=None)


def _anny_rig_map() -> RetargetMap:
    from humokit.motion.rig_tables import ANNY_JOINT_MAP

    return RetargetMap("humokit_anny_rig", {n: _one(ANNY_JOINT_MAP[n]) for n in JOINT_NAMES})


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


for _m in (BANDAI_NAMCO, CMU_DAZ, CMU_ASF, HUMOKIT_CANONICAL, replace(_anny_rig_map(), scale=None),
           _mixamo_map(""), _mixamo_map("mixamorig:")):
    register_retarget_map(_m)
