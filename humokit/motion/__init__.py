"""The bottom layer: motion representations, skeleton, rotations, I/O, retargeting and rig tables, features,
datasets, contacts and metrics. Imports nothing else of humokit (text-to-motion priors are :mod:`humokit.priors`)."""

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

__all__ = [
    "JOINT_NAMES",
    "NUM_JOINTS",
    "PARENTS",
    "Motion",
    "Skeleton",
    "default_skeleton",
    "forward_kinematics",
    "inverse_kinematics",
]
