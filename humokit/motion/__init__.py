"""Motion representations, skeleton, I/O, datasets, priors and metrics."""

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
