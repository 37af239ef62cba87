"""Named rigs for export: the canonical 22-joint tree under other bone names.

Every exported rig keeps the canonical kinematic tree (:data:`PARENTS`) and
T-pose rest with identity bone-space rest orientation, so a canonical local
rotation *is* the exported bone's local rotation; only the names (and the
rest offsets, i.e. bone lengths) change:

- ``canonical``: :data:`~humokit.motion.skeleton.JOINT_NAMES`.
- ``anny``: the Anny bone each canonical joint sits on
  (:data:`~humokit.motion.rig_tables.ANNY_JOINT_MAP`, e.g. ``upperarm01.L``).
- ``mixamo``: Mixamo humanoid names (``Hips``, ``LeftUpLeg``, ...), optionally
  prefixed ``mixamorig:``. Mixamo rigs are Y-up, facing +Z with the left side
  on +X and rest in a T-pose, exactly humokit's convention, so identity rest
  orientation drives game-engine humanoids (Unity/Unreal/Godot retargeters)
  directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from humokit.errors import InputError
from humokit.motion.skeleton import JOINT_NAMES, PARENTS, Skeleton

RigName = Literal["canonical", "anny", "mixamo"]
RIGS: tuple[str, ...] = ("canonical", "anny", "mixamo")
MIXAMO_PREFIX = "mixamorig:"

MIXAMO_JOINT_MAP: dict[str, str] = {
    "pelvis": "Hips",
    "left_hip": "LeftUpLeg",
    "right_hip": "RightUpLeg",
    "spine1": "Spine",
    "left_knee": "LeftLeg",
    "right_knee": "RightLeg",
    "spine2": "Spine1",
    "left_ankle": "LeftFoot",
    "right_ankle": "RightFoot",
    "spine3": "Spine2",
    "left_foot": "LeftToeBase",
    "right_foot": "RightToeBase",
    "neck": "Neck",
    "left_collar": "LeftShoulder",
    "right_collar": "RightShoulder",
    "head": "Head",
    "left_shoulder": "LeftArm",
    "right_shoulder": "RightArm",
    "left_elbow": "LeftForeArm",
    "right_elbow": "RightForeArm",
    "left_wrist": "LeftHand",
    "right_wrist": "RightHand",
}


def rig_joint_names(rig: str, *, mixamo_prefix: bool = True) -> tuple[str, ...]:
    """Bone names of ``rig`` in canonical joint order (22 names)."""
    if rig == "canonical":
        return JOINT_NAMES
    if rig == "anny":
        from humokit.motion.rig_tables import ANNY_JOINT_MAP

        return tuple(ANNY_JOINT_MAP[j] for j in JOINT_NAMES)
    if rig == "mixamo":
        pre = MIXAMO_PREFIX if mixamo_prefix else ""
        return tuple(pre + MIXAMO_JOINT_MAP[j] for j in JOINT_NAMES)
    raise InputError(f"unknown rig {rig!r}: choose {', '.join(RIGS)}")


@dataclass(frozen=True)
class ExportRig:
    """A named T-pose rig: the canonical tree with bone names and rest offsets.

    Attributes:
        names: ``J`` bone names in canonical joint order.
        parents: parent index per bone (-1 for the root).
        offsets: ``(J, 3)`` rest offsets, metres, humokit axes (root: rest position).
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray

    @classmethod
    def from_skeleton(cls, skeleton: Skeleton, rig: str = "canonical", *, mixamo_prefix: bool = True) -> "ExportRig":
        names = rig_joint_names(rig, mixamo_prefix=mixamo_prefix)
        return cls(names, tuple(skeleton.parents), np.asarray(skeleton.offsets, dtype=np.float64).copy())

    def rest_positions(self) -> np.ndarray:
        """``(J, 3)`` rest joint positions, metres."""
        return Skeleton(self.names, self.parents, self.offsets).rest_positions()
