"""The :class:`BodyModel` interface and the skinned-mesh body shared by all back-ends.

A body model turns a canonical :class:`~humokit.motion.Motion` (22-joint
rotations + pelvis trajectory) into posed mesh vertices, in humokit's world
convention (Y up, +Z forward, metres). Back-ends:

- ``"anny"`` (default, free, ships in the ``anny`` wheel): :mod:`humokit.body.anny`.
- ``"smpl"``, ``"smplh"``, ``"smplx"`` through ``smplx`` when the user has the
  model files: :mod:`humokit.body.smpl`.

Body models are stateless with respect to pose (the fitting code owns
optimisable parameters); they hold only buffers.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass

import numpy as np
import torch

from humokit.body.skinning import linear_blend_skinning, skinning_transforms
from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.skeleton import NUM_JOINTS, PARENTS, Skeleton, forward_kinematics, inverse_kinematics


@dataclass(frozen=True)
class RestBody:
    """A body's rest (shaped, unposed) state.

    Attributes:
        vertices: ``(V, 3)`` rest mesh, metres, humokit world axes.
        faces: ``(F, 3)`` int64 triangle indices.
        joints: ``(22, 3)`` canonical joint positions on the rest mesh.
        weights: ``(V, 22)`` skinning weights on the canonical joints.
        R_rest_to_canonical: ``(22, 3, 3)`` world rotation per joint that turns
            the mesh's rest pose into the canonical T-pose (identity for SMPL).
        skeleton: canonical skeleton with this body's bone lengths, offsets
            expressed in the T-pose.
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    joints: torch.Tensor
    weights: torch.Tensor
    R_rest_to_canonical: torch.Tensor
    skeleton: Skeleton

    @property
    def num_vertices(self) -> int:
        return int(self.vertices.shape[0])

    def part_labels(self) -> np.ndarray:
        """``(V,)`` index of the canonical joint that dominates each vertex."""
        return self.weights.argmax(dim=1).cpu().numpy()


@dataclass(frozen=True)
class BodyOutput:
    """Posed body for T frames.

    Attributes:
        vertices: ``(T, V, 3)`` world-space vertices, metres.
        joints: ``(T, 22, 3)`` world joint positions of this body, metres.
        R_world: ``(T, 22, 3, 3)`` joint-to-world rotations (canonical frames).
        faces: ``(F, 3)`` triangles.
    """

    vertices: torch.Tensor
    joints: torch.Tensor
    R_world: torch.Tensor
    faces: torch.Tensor


def rest_alignment(joints_rest: np.ndarray, canonical: Skeleton) -> tuple[np.ndarray, Skeleton]:
    """Rotations turning a mesh's rest pose into the canonical T-pose, and the T-posed skeleton.

    Uses the analytic IK of the canonical tree: it finds world rotations
    ``A_j`` mapping canonical rest bone directions onto the mesh's rest
    directions (e.g. A-pose arms); ``C_j = A_j^T`` undoes them. The returned
    skeleton has the mesh's bone lengths laid out in canonical T-pose
    directions: ``o'_j = A_parent^T (r_j - r_parent)``.

    Args:
        joints_rest: ``(22, 3)`` joint positions of the mesh's rest pose.
        canonical: skeleton whose rest directions define the T-pose.
    Returns:
        ``(C (22, 3, 3), skeleton)``.
    """
    pos = torch.as_tensor(joints_rest, dtype=torch.float64)
    R_local, _ = inverse_kinematics(pos, torch.as_tensor(canonical.offsets), canonical.parents)
    _, A = forward_kinematics(R_local, pos[0], torch.as_tensor(canonical.offsets), canonical.parents)
    A = A.numpy()
    off = np.zeros((NUM_JOINTS, 3))
    off[0] = joints_rest[0]
    for j, p in enumerate(canonical.parents):
        if p >= 0:
            off[j] = A[p].T @ (joints_rest[j] - joints_rest[p])
    return np.transpose(A, (0, 2, 1)).copy(), canonical.with_offsets(off)


def pose_rest_body(
    rest: RestBody,
    R_local: torch.Tensor,
    root_position: torch.Tensor,
    *,
    chunk: int = 256,
) -> BodyOutput:
    """Pose a :class:`RestBody` with canonical rotations (differentiable).

    Args:
        R_local: ``(T, 22, 3, 3)`` canonical local rotations.
        root_position: ``(T, 3)`` pelvis positions, metres.
        chunk: frames skinned at a time (bounds memory for long motions).
    """
    offsets = torch.as_tensor(rest.skeleton.offsets, dtype=R_local.dtype, device=R_local.device)
    joints, R_world = forward_kinematics(R_local, root_position, offsets, PARENTS)
    C = rest.R_rest_to_canonical.to(R_local)
    verts = []
    for s in range(0, R_local.shape[0], chunk):
        A, b = skinning_transforms(R_world[s : s + chunk], joints[s : s + chunk], rest.joints.to(R_local.device), C)
        verts.append(linear_blend_skinning(rest.vertices.to(A.device), rest.weights.to(A.device), A, b))
    V = torch.cat(verts) if verts else torch.zeros((0, rest.num_vertices, 3), dtype=R_local.dtype)
    return BodyOutput(vertices=V, joints=joints, R_world=R_world, faces=rest.faces)


class BodyModel(abc.ABC):
    """A posable body mesh driven by canonical 22-joint motions."""

    name: str = "body"

    @abc.abstractmethod
    def rest(self, shape: object | None = None) -> RestBody:
        """The rest body for a shape (back-end specific: Anny phenotype dict, SMPL betas)."""

    def default_shape(self) -> object | None:
        return None

    def uv_layout(self) -> tuple[np.ndarray, np.ndarray] | None:
        """The body's texture layout, or None when the back-end ships none.

        Returns:
            ``(uv, face_uv)``: ``(N, 2)`` float32 texture coordinates in
            [0, 1] with glTF's convention (origin top-left, v down) and
            ``(F, 3)`` int64 uv index per triangle corner (same order as
            :attr:`RestBody.faces`; a vertex on a seam has several uvs).
        """
        return None

    def shape_from_motion(self, motion: Motion) -> object | None:
        """Shape to use for a motion when the caller gives none (e.g. its betas)."""
        return self.default_shape()

    def forward(
        self,
        motion: Motion,
        *,
        shape: object | None = None,
        root_scale: float | str = "auto",
    ) -> BodyOutput:
        """Pose the body with ``motion``.

        Args:
            motion: canonical motion.
            shape: back-end shape (None = the motion's betas or the default).
            root_scale: factor applied to the root trajectory; ``"auto"``
                scales by the ratio of this body's rest pelvis height to the
                motion skeleton's, so feet stay on the ground for a body of
                other proportions.
        """
        if motion.num_frames == 0:
            raise InputError("body: the motion has no frames")
        rest = self.rest(shape if shape is not None else self.shape_from_motion(motion))
        scale = self.root_scale_for(rest, motion) if root_scale == "auto" else float(root_scale)
        R = torch.from_numpy(motion.rotations)
        root = torch.from_numpy(motion.root_position) * scale
        return pose_rest_body(rest, R, root)

    @staticmethod
    def root_scale_for(rest: RestBody, motion: Motion) -> float:
        h_body = -rest.skeleton.floor_height()
        h_motion = -motion.skeleton.floor_height()
        return float(h_body / h_motion) if h_motion > 1e-6 else 1.0
