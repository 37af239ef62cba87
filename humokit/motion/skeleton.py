"""The canonical 22-joint body skeleton (SMPL's body kinematic tree), FK and IK.

World convention used everywhere in humokit: **Y up, +Z forward, right-handed,
metres**. A body in the rest pose faces +Z, so its *left* side is on **+X**
(SMPL's canonical frame). The rest pose is a T-pose: arms along +-X, legs
straight down -Y.

Glossary: ``offsets`` are rest-pose vectors from each joint's parent to the
joint, ``(J, 3)`` metres (the root's offset is its rest position).
``R_local`` are per-joint rotations relative to the parent, ``(..., J, 3, 3)``;
``R_world`` the accumulated joint-to-world rotations.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field

from typing import TYPE_CHECKING

import numpy as np

from humokit.errors import InputError
from humokit.motion.rotations import rotation_between

if TYPE_CHECKING:
    import torch

JOINT_NAMES: tuple[str, ...] = (
    "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee",
    "spine2", "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot",
    "neck", "left_collar", "right_collar", "head", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
)  # fmt: skip
PARENTS: tuple[int, ...] = (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
NUM_JOINTS = 22
# Left/right partner of each joint (itself for the midline): used for mirroring.
MIRROR_INDEX: tuple[int, ...] = (0, 2, 1, 3, 5, 4, 6, 8, 7, 9, 11, 10, 12, 14, 13, 15, 17, 16, 19, 18, 21, 20)
FOOT_JOINTS = (7, 10, 8, 11)
# Height of the toe-base ("foot") joint above the sole of a flat foot, metres,
# for the canonical adult (measured on the Anny mesh); scaled with leg length.
TOE_SOLE_HEIGHT = 0.023  # l_ankle, l_foot(toe), r_ankle, r_foot(toe) as in HumanML3D
LEFT_FOOT, RIGHT_FOOT = (7, 10), (8, 11)

# Rest joint positions of a neutral adult (SMPL-like proportions, 1.70 m tall
# stance), metres, in the rest frame; pelvis near the origin as in SMPL.
_REST_POSITIONS = np.array(
    [
        [0.000, -0.223, 0.028],   # pelvis
        [0.069, -0.314, 0.023],   # left_hip
        [-0.069, -0.314, 0.023],  # right_hip
        [0.000, -0.109, 0.002],   # spine1
        [0.105, -0.679, 0.034],   # left_knee
        [-0.105, -0.679, 0.034],  # right_knee
        [0.000, 0.025, 0.001],    # spine2
        [0.090, -1.102, -0.021],  # left_ankle
        [-0.090, -1.102, -0.021], # right_ankle
        [0.000, 0.078, 0.027],    # spine3
        [0.119, -1.157, 0.103],   # left_foot
        [-0.119, -1.157, 0.103],  # right_foot
        [0.000, 0.291, -0.012],   # neck
        [0.078, 0.199, -0.007],   # left_collar
        [-0.078, 0.199, -0.007],  # right_collar
        [0.000, 0.361, 0.042],    # head
        [0.173, 0.227, -0.020],   # left_shoulder
        [-0.173, 0.227, -0.020],  # right_shoulder
        [0.432, 0.217, -0.040],   # left_elbow
        [-0.432, 0.217, -0.040],  # right_elbow
        [0.685, 0.230, -0.045],   # left_wrist
        [-0.685, 0.230, -0.045],  # right_wrist
    ]
)  # fmt: skip


def positions_to_offsets(positions: np.ndarray, parents: tuple[int, ...] = PARENTS) -> np.ndarray:
    """Rest joint positions ``(J, 3)`` -> parent-relative offsets ``(J, 3)``."""
    positions = np.asarray(positions, dtype=np.float64)
    off = positions.copy()
    for j, p in enumerate(parents):
        if p >= 0:
            off[j] = positions[j] - positions[p]
    return off


@dataclass(frozen=True)
class Skeleton:
    """A kinematic tree with rest offsets.

    Attributes:
        names: joint names, length J.
        parents: parent index per joint (-1 for the root); parents precede children.
        offsets: ``(J, 3)`` rest offsets in metres (root: rest position).
    """

    names: tuple[str, ...] = JOINT_NAMES
    parents: tuple[int, ...] = PARENTS
    offsets: np.ndarray = field(default_factory=lambda: positions_to_offsets(_REST_POSITIONS))

    def __post_init__(self) -> None:
        off = np.asarray(self.offsets, dtype=np.float64)
        if off.shape != (len(self.names), 3) or len(self.parents) != len(self.names):
            raise InputError(f"skeleton: offsets {off.shape} do not match {len(self.names)} joints")
        if any(p >= j for j, p in enumerate(self.parents)):
            raise InputError("skeleton: parents must precede children")
        if not np.all(np.isfinite(off)):
            raise InputError("skeleton: offsets contain NaN or inf")
        object.__setattr__(self, "offsets", off)

    @property
    def num_joints(self) -> int:
        return len(self.names)

    def index(self, name: str) -> int:
        return self.names.index(name)

    def children(self, j: int) -> list[int]:
        return [c for c, p in enumerate(self.parents) if p == j]

    def rest_positions(self) -> np.ndarray:
        """``(J, 3)`` joint positions in the rest pose (root at its rest position)."""
        pos = np.zeros_like(self.offsets)
        for j, p in enumerate(self.parents):
            pos[j] = self.offsets[j] + (pos[p] if p >= 0 else 0.0)
        return pos

    def bone_lengths(self) -> np.ndarray:
        """``(J,)`` length of the bone ending at each joint (0 for the root)."""
        lengths = np.linalg.norm(self.offsets, axis=-1)
        lengths[self.parents.index(-1)] = 0.0
        return lengths

    def scaled(self, scale: float) -> "Skeleton":
        return Skeleton(self.names, self.parents, self.offsets * float(scale))

    def with_offsets(self, offsets: np.ndarray) -> "Skeleton":
        return Skeleton(self.names, self.parents, np.asarray(offsets, dtype=np.float64))

    def sole_heights(self) -> np.ndarray:
        """``(4,)`` heights above the ground of l_ankle, l_foot, r_ankle, r_foot when the foot is flat.

        The toe joint sits :data:`TOE_SOLE_HEIGHT` above the sole (scaled by this
        skeleton's pelvis-to-toe height relative to the canonical one); the
        ankle sits higher by its rest height above the toe joint. Grounding a
        motion puts ``joint_y - sole_height`` at 0, so meshes touch the floor
        instead of sinking by the joint's depth inside the foot.
        """
        rest = self.rest_positions()
        canon = _REST_POSITIONS
        scale = (rest[0, 1] - rest[10, 1]) / (canon[0, 1] - canon[10, 1])
        toe = TOE_SOLE_HEIGHT * float(scale)
        out = np.empty(4)
        for k, (ankle, foot) in enumerate(((7, 10), (8, 11))):
            out[2 * k] = toe + max(rest[ankle, 1] - rest[foot, 1], 0.0)
            out[2 * k + 1] = toe
        return out

    def floor_height(self) -> float:
        """Height of the ground under the rest pose relative to the root (negative, metres).

        The ground is the sole of the rest feet: ``min(foot joint y - sole height)``.
        """
        pos = self.rest_positions()
        feet = pos[list(FOOT_JOINTS), 1] - self.sole_heights()
        return float(feet.min() - pos[0, 1])


def default_skeleton() -> Skeleton:
    """The canonical neutral adult 22-joint skeleton."""
    return Skeleton()


def forward_kinematics(
    R_local: torch.Tensor,
    root_position: torch.Tensor,
    offsets: torch.Tensor,
    parents: tuple[int, ...] = PARENTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Batched forward kinematics.

    Args:
        R_local: ``(..., J, 3, 3)`` local joint rotations (root: global orientation).
        root_position: ``(..., 3)`` world position of the root joint, metres.
        offsets: ``(J, 3)`` or ``(..., J, 3)`` rest offsets, metres.
        parents: parent indices (parents precede children).
    Returns:
        ``(positions (..., J, 3), R_world (..., J, 3, 3))``.
    """
    import torch

    offsets = offsets.to(R_local.dtype)
    levels, order = _levels(tuple(parents))
    if len(levels) == 1 or levels[0][0] != (0,):
        return _fk_serial(R_local, root_position, offsets, parents)
    # one batched step per tree depth (a parent is always one level up): fewer, larger ops than joint by joint
    root = R_local[..., 0, :, :]
    Rw = [root.unsqueeze(-3)]
    pos = [root_position.to(R_local.dtype).expand(R_local.shape[:-3] + (3,)).unsqueeze(-2)]
    for idx, par in levels[1:]:
        ii = torch.as_tensor(idx, device=R_local.device)
        pp = torch.as_tensor(par, device=R_local.device)
        Rp = Rw[-1].index_select(-3, pp)
        pos.append(pos[-1].index_select(-2, pp) + (Rp @ offsets.index_select(-2, ii).unsqueeze(-1)).squeeze(-1))
        Rw.append(Rp @ R_local.index_select(-3, ii))
    inv = torch.as_tensor(order, device=R_local.device)
    return torch.cat(pos, dim=-2).index_select(-2, inv), torch.cat(Rw, dim=-3).index_select(-3, inv)


@functools.lru_cache(maxsize=32)
def _levels(parents: tuple[int, ...]) -> tuple[tuple[tuple[tuple[int, ...], tuple[int, ...]], ...], tuple[int, ...]]:
    """Joints by tree depth: ``((joints, parent positions in the previous level), ...)`` and, for each
    joint, its position in the levels laid end to end (the order that restores joint order)."""
    depth: list[int] = []
    for j, p in enumerate(parents):
        depth.append(0 if p < 0 else depth[p] + 1)
    levels: list[tuple[tuple[int, ...], tuple[int, ...]]] = []
    where: dict[int, tuple[int, int]] = {}
    for d in range(max(depth) + 1):
        idx = tuple(j for j in range(len(parents)) if depth[j] == d)
        par = tuple(where[parents[j]][1] if parents[j] >= 0 else -1 for j in idx)
        for k, j in enumerate(idx):
            where[j] = (d, k)
        levels.append((idx, par))
    flat = [j for idx, _ in levels for j in idx]
    order = tuple(flat.index(j) for j in range(len(parents)))
    return tuple(levels), order


def _fk_serial(R_local, root_position, offsets, parents):  # type: ignore[no-untyped-def]
    """Joint-by-joint forward kinematics (trees with several roots or a root that is not joint 0)."""
    import torch

    J = R_local.shape[-3]
    R_world: list = []
    pos: list = []
    for j in range(J):
        p = parents[j]
        if p < 0:
            R_world.append(R_local[..., j, :, :])
            pos.append(root_position.to(R_local.dtype).expand(R_local.shape[:-3] + (3,)))
        else:
            R_world.append(R_world[p] @ R_local[..., j, :, :])
            off = offsets[..., j, :]
            pos.append(pos[p] + (R_world[p] @ off.unsqueeze(-1)).squeeze(-1))
    return torch.stack(pos, dim=-2), torch.stack(R_world, dim=-3)


def _kabsch(src: torch.Tensor, dst: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Rotation best mapping vectors ``src (..., K, 3)`` onto ``dst (..., K, 3)``."""
    import roma

    return roma.rigid_vectors_registration(src, dst, weights=weights)


def inverse_kinematics(
    positions: torch.Tensor,
    offsets: torch.Tensor,
    parents: tuple[int, ...] = PARENTS,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Analytic IK: joint positions -> local rotations that reproduce them.

    Each joint's world rotation is chosen to map its rest child directions onto
    the observed ones: a Kabsch fit for joints with several children (pelvis,
    spine3), and the minimal (twist-free relative to the parent) rotation for
    joints with one child. Leaf joints keep their parent's orientation. With
    bone lengths equal to ``offsets``, FK of the result reproduces the
    positions exactly; twist about a bone axis is unobservable and set to zero.

    Args:
        positions: ``(..., J, 3)`` joint positions, metres.
        offsets: ``(J, 3)`` rest offsets of the skeleton to solve for.
    Returns:
        ``(R_local (..., J, 3, 3), root_position (..., 3))``.
    """
    import torch

    J = positions.shape[-2]
    dtype = positions.dtype
    offsets = offsets.to(dtype)
    batch = positions.shape[:-2]
    eye = torch.eye(3, dtype=dtype).expand(batch + (3, 3))
    children = [[c for c in range(J) if parents[c] == j] for j in range(J)]
    R_world: list[torch.Tensor | None] = [None] * J
    R_local: list[torch.Tensor | None] = [None] * J
    for j in range(J):
        p = parents[j]
        R_parent = R_world[p] if p >= 0 else eye
        kids = children[j]
        if not kids:
            Rw = R_parent
        elif len(kids) == 1:
            c = kids[0]
            rest_dir = (R_parent @ offsets[c].expand(batch + (3,)).unsqueeze(-1)).squeeze(-1)
            obs_dir = positions[..., c, :] - positions[..., j, :]
            Rw = rotation_between(rest_dir, obs_dir) @ R_parent
        else:
            src = torch.stack([offsets[c] for c in kids], dim=0).expand(batch + (len(kids), 3))
            dst = torch.stack([positions[..., c, :] - positions[..., j, :] for c in kids], dim=-2)
            Rw = _kabsch(src, dst)
        R_world[j] = Rw
        R_local[j] = Rw if p < 0 else R_parent.transpose(-1, -2) @ Rw
    return torch.stack(R_local, dim=-3), positions[..., 0, :]  # type: ignore[arg-type]
