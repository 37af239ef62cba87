"""The canonical :class:`Motion`: what every humokit component produces and consumes.

A motion is a sequence of poses of the 22-joint skeleton of
:mod:`humokit.motion.skeleton` in humokit's world convention (**Y up, +Z
forward, right-handed, metres**; left side of a rest-pose body on +X).

Per frame it holds the world position of the root (pelvis) joint and 22
rotation matrices (root: global orientation; others: relative to the parent,
rest pose = T-pose), stored as matrices so that interpolation and learning
use a continuous representation (:attr:`Motion.rot6d` gives the 6D form).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Literal

import numpy as np

from humokit._limits import fps_problem
from humokit.errors import InputError
from humokit.motion.rotations import rotmat_to_rot6d, slerp_rotmat
from humokit.motion.skeleton import (
    FOOT_JOINTS,
    MIRROR_INDEX,
    NUM_JOINTS,
    Skeleton,
    default_skeleton,
    forward_kinematics,
)

if TYPE_CHECKING:
    import torch

Gender = Literal["neutral", "male", "female"]
# Mirroring across the YZ plane (x -> -x).
_MIRROR = np.diag([-1.0, 1.0, 1.0])


def _check_rotations(R: np.ndarray, what: str) -> None:
    if R.ndim != 4 or R.shape[1:] != (NUM_JOINTS, 3, 3):
        raise InputError(f"{what}: rotations must have shape (T, {NUM_JOINTS}, 3, 3), got {R.shape}")
    if not np.all(np.isfinite(R)):
        raise InputError(f"{what}: rotations contain NaN or inf")
    if R.shape[0]:
        err = np.abs(np.einsum("...ji,...jk->...ik", R, R) - np.eye(3)).max()
        if err > 1e-3:
            raise InputError(f"{what}: rotations are not orthonormal (max |R^T R - I| = {err:.3g})")


@dataclass(frozen=True)
class Motion:
    """A skeletal motion in humokit's world convention.

    Attributes:
        rotations: ``(T, 22, 3, 3)`` float32 rotation matrices: index 0 is the
            global orientation of the pelvis, 1..21 are local joint rotations
            relative to the parent (identity = rest T-pose).
        root_position: ``(T, 3)`` world position of the pelvis joint, metres.
        fps: frames per second.
        skeleton: rest offsets (bone lengths) of the performer; the canonical
            neutral adult by default.
        betas: optional SMPL shape coefficients ``(B,)`` (kept for SMPL bodies
            and AMASS export).
        gender: body gender for SMPL-family models.
        contacts: optional ``(T, 4)`` bool foot contacts (l_heel, l_toe, r_heel, r_toe).
        meta: free-form string metadata (source file, text, ...).
    """

    rotations: np.ndarray
    root_position: np.ndarray
    fps: float
    skeleton: Skeleton = field(default_factory=default_skeleton)
    betas: np.ndarray | None = None
    gender: Gender = "neutral"
    contacts: np.ndarray | None = None
    meta: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        R = np.asarray(self.rotations, dtype=np.float32)
        t = np.asarray(self.root_position, dtype=np.float32)
        _check_rotations(R, "motion")
        if t.shape != (R.shape[0], 3):
            raise InputError(f"motion: root_position must have shape ({R.shape[0]}, 3), got {t.shape}")
        if not np.all(np.isfinite(t)):
            raise InputError("motion: root_position contains NaN or inf")
        problem = fps_problem(self.fps)
        if problem:
            raise InputError(f"motion: {problem}")
        if self.skeleton.num_joints != NUM_JOINTS:
            raise InputError(f"motion: skeleton must have {NUM_JOINTS} joints")
        if self.gender not in ("neutral", "male", "female"):
            raise InputError(f"motion: gender must be neutral, male or female, got {self.gender!r}")
        object.__setattr__(self, "rotations", R)
        object.__setattr__(self, "root_position", t)
        object.__setattr__(self, "fps", float(self.fps))
        if self.betas is not None:
            b = np.asarray(self.betas, dtype=np.float32).reshape(-1)
            if not np.all(np.isfinite(b)):
                raise InputError("motion: betas contain NaN or inf")
            object.__setattr__(self, "betas", b)
        if self.contacts is not None:
            c = np.asarray(self.contacts).astype(bool)
            if c.shape != (R.shape[0], 4):
                raise InputError(f"motion: contacts must have shape ({R.shape[0]}, 4), got {c.shape}")
            object.__setattr__(self, "contacts", c)

    # ------------------------------------------------------------------ basics
    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def __len__(self) -> int:
        return self.num_frames

    @property
    def duration(self) -> float:
        """Seconds covered by the frames (``num_frames / fps``)."""
        return self.num_frames / self.fps

    @property
    def rot6d(self) -> np.ndarray:
        """``(T, 22, 6)`` continuous 6D rotations (first two matrix columns)."""
        return rotmat_to_rot6d(self.rotations)

    @classmethod
    def rest(cls, num_frames: int = 1, fps: float = 30.0, skeleton: Skeleton | None = None) -> "Motion":
        """A motion standing in the rest T-pose with feet on the ground (y = 0)."""
        skel = skeleton or default_skeleton()
        R = np.broadcast_to(np.eye(3, dtype=np.float32), (num_frames, NUM_JOINTS, 3, 3)).copy()
        root = np.zeros((num_frames, 3), dtype=np.float32)
        root[:, 1] = -skel.floor_height()
        return cls(R, root, fps, skeleton=skel)

    def joints(self) -> np.ndarray:
        """``(T, 22, 3)`` world joint positions in metres (forward kinematics)."""
        pos, _ = self.fk()
        return pos.numpy()

    def fk(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Forward kinematics: ``(positions (T,22,3), R_world (T,22,3,3))`` as float32 tensors."""
        import torch

        return forward_kinematics(
            torch.from_numpy(self.rotations),
            torch.from_numpy(self.root_position),
            torch.from_numpy(self.skeleton.offsets.astype(np.float32)),
            self.skeleton.parents,
        )

    def replace(self, **changes: object) -> "Motion":
        return replace(self, **changes)  # type: ignore[arg-type]

    # ------------------------------------------------------------ operations
    def __getitem__(self, index: slice) -> "Motion":
        if not isinstance(index, slice):
            raise InputError("motion: index with a slice, e.g. motion[10:50]")
        return self.slice(index.start, index.stop, index.step)

    def slice(self, start: int | None = None, stop: int | None = None, step: int | None = None) -> "Motion":
        """Frames ``start:stop:step``; a step > 1 divides the fps."""
        sl = slice(start, stop, step)
        c = None if self.contacts is None else self.contacts[sl]
        return replace(
            self,
            rotations=self.rotations[sl],
            root_position=self.root_position[sl],
            fps=self.fps / (step or 1),
            contacts=c,
        )

    def resample(self, fps: float) -> "Motion":
        """Resample to ``fps`` over the same time span: slerp rotations, lerp root.

        Frame ``i`` of the result is at time ``i / fps``; the last frame is at or
        before the last input frame's time.
        """
        if not (np.isfinite(fps) and fps > 0):
            raise InputError(f"resample: fps must be positive, got {fps}")
        T = self.num_frames
        if T == 0:
            return replace(self, fps=float(fps))
        t_end = (T - 1) / self.fps
        n = int(np.floor(t_end * fps + 1e-6)) + 1
        src = np.arange(n) * (self.fps / fps)
        i0 = np.clip(np.floor(src).astype(int), 0, T - 1)
        i1 = np.clip(i0 + 1, 0, T - 1)
        w = (src - i0).astype(np.float32)
        import torch

        R = torch.from_numpy(self.rotations)
        Rn = slerp_rotmat(R[i0], R[i1], torch.from_numpy(w)[:, None].expand(n, NUM_JOINTS))
        root = (1 - w)[:, None] * self.root_position[i0] + w[:, None] * self.root_position[i1]
        contacts = None
        if self.contacts is not None:
            contacts = self.contacts[np.clip(np.round(src).astype(int), 0, T - 1)]
        return replace(self, rotations=Rn.numpy(), root_position=root, fps=float(fps), contacts=contacts)

    def concat(self, *others: "Motion") -> "Motion":
        """Append ``others`` (same fps) after this motion; skeleton and shape of ``self`` are kept."""
        for o in others:
            if abs(o.fps - self.fps) > 1e-6:
                raise InputError(f"concat: fps differ ({self.fps} vs {o.fps}); resample first")
        allm = (self, *others)
        contacts = None
        if all(m.contacts is not None for m in allm):
            contacts = np.concatenate([m.contacts for m in allm])  # type: ignore[misc]
        return replace(
            self,
            rotations=np.concatenate([m.rotations for m in allm]),
            root_position=np.concatenate([m.root_position for m in allm]),
            contacts=contacts,
        )

    def mirror(self) -> "Motion":
        """Left/right mirror across the YZ plane (x -> -x), swapping left and right joints.

        Rotations are conjugated by the reflection ``M = diag(-1, 1, 1)``
        (``R' = M R M``) and re-indexed by :data:`MIRROR_INDEX`; the skeleton's
        offsets are mirrored too, so joint positions of the result are exactly
        the mirrored positions of the input. Applying it twice is the identity.
        """
        M = _MIRROR.astype(np.float32)
        idx = list(MIRROR_INDEX)
        R = M @ self.rotations[:, idx] @ M
        root = self.root_position * np.array([-1.0, 1.0, 1.0], dtype=np.float32)
        off = self.skeleton.offsets[idx] * np.array([-1.0, 1.0, 1.0])
        contacts = None if self.contacts is None else self.contacts[:, [2, 3, 0, 1]]
        return replace(
            self,
            rotations=R,
            root_position=root,
            skeleton=self.skeleton.with_offsets(off),
            contacts=contacts,
        )

    def to_ground(self) -> "Motion":
        """Shift vertically so the lowest foot sole over the whole clip is at y = 0.

        Soles are the foot joints minus :meth:`Skeleton.sole_heights`, so a body
        mesh stands on the ground rather than sinking by the joints' depth in the foot.
        """
        if self.num_frames == 0:
            return self
        feet = self.joints()[:, list(FOOT_JOINTS), 1] - self.skeleton.sole_heights()
        y_min = float(feet.min())
        return replace(self, root_position=self.root_position - np.array([0, y_min, 0], dtype=np.float32))

    # ------------------------------------------------------------------- I/O
    def save(self, path: str) -> None:
        """Write an ``.npz`` with humokit keys and AMASS keys (see :mod:`humokit.motion._npz`)."""
        from humokit.motion._npz import save_npz

        save_npz(self, path)

    @classmethod
    def load(cls, path: str) -> "Motion":
        """Read an ``.npz`` written by humokit or an AMASS-style file."""
        from humokit.motion._npz import load_npz

        return load_npz(path, Motion)
