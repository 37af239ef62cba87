"""What every exporter writes: a named T-pose rig animated with local rotations, plus an optional skinned mesh.

:func:`prepare_export` turns a canonical :class:`~humokit.motion.Motion` (and
optionally a body model) into a :class:`RiggedAnimation` and a
:class:`SkinnedMesh`:

- without a body the rig has the motion's own skeleton and root trajectory;
- with a body (``"anny"``, ``"smpl"``, ...) the rig has the body's T-posed
  skeleton (:attr:`RestBody.skeleton`) and the root trajectory scaled like
  :meth:`BodyModel.forward` (``root_scale="auto"``), so the exported joints are
  exactly ``body.forward(motion).joints``.

The mesh is baked into the T-pose (the rest mesh posed with identity
rotations, which applies ``R_rest_to_canonical``) and bound to the T-pose rig,
so exported bone-local rotations equal the canonical local rotations.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from humokit.errors import InputError
from humokit.export.rigs import RIGS, ExportRig
from humokit.motion.motion import Motion
from humokit.motion.skeleton import NUM_JOINTS, forward_kinematics

# One colour per canonical joint (RGB in [0, 1]) for optional part colouring.
_PART_PALETTE = np.array(
    [
        [0.85, 0.85, 0.80], [0.90, 0.45, 0.35], [0.35, 0.55, 0.90], [0.80, 0.80, 0.70],
        [0.95, 0.55, 0.45], [0.45, 0.65, 0.95], [0.75, 0.75, 0.65], [1.00, 0.65, 0.55],
        [0.55, 0.75, 1.00], [0.70, 0.70, 0.60], [1.00, 0.75, 0.65], [0.65, 0.85, 1.00],
        [0.90, 0.80, 0.60], [0.90, 0.55, 0.45], [0.45, 0.60, 0.90], [0.95, 0.85, 0.70],
        [0.95, 0.60, 0.50], [0.50, 0.70, 0.95], [1.00, 0.70, 0.60], [0.60, 0.80, 1.00],
        [1.00, 0.80, 0.70], [0.70, 0.85, 1.00],
    ]
)  # fmt: skip


@dataclass(frozen=True)
class RiggedAnimation:
    """A rig animated by local rotations (identity = rig rest T-pose).

    Attributes:
        rig: names, parents and rest offsets (metres).
        rotations: ``(T, J, 3, 3)`` float64 local rotations (root: global orientation).
        root_position: ``(T, 3)`` float64 root joint world position, metres.
        fps: frames per second.
    """

    rig: ExportRig
    rotations: np.ndarray
    root_position: np.ndarray
    fps: float

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    def joints(self) -> np.ndarray:
        """``(T, J, 3)`` world joint positions, metres (forward kinematics)."""
        import torch

        pos, _ = forward_kinematics(
            torch.from_numpy(self.rotations),
            torch.from_numpy(self.root_position),
            torch.from_numpy(self.rig.offsets),
            self.rig.parents,
        )
        return pos.numpy()


@dataclass(frozen=True)
class SkinnedMesh:
    """A mesh bound to a rig in its rest T-pose, 4 influences per vertex.

    Attributes:
        vertices: ``(V, 3)`` float32 bind-pose vertices, metres.
        faces: ``(F, 3)`` int64 triangles.
        joint_indices: ``(V, 4)`` int64 rig joint per influence.
        joint_weights: ``(V, 4)`` float32 weights, rows sum to 1.
        colors: ``(V, 4)`` float32 RGBA in [0, 1], or None.
        uv: ``(N, 2)`` float32 texture coordinates (glTF convention: origin
            top-left, v down), or None when the body has no texture layout.
        face_uv: ``(F, 3)`` int64 index into ``uv`` per triangle corner (with ``uv``).
    """

    vertices: np.ndarray
    faces: np.ndarray
    joint_indices: np.ndarray
    joint_weights: np.ndarray
    colors: np.ndarray | None = None
    uv: np.ndarray | None = None
    face_uv: np.ndarray | None = None


def scale_export(anim: RiggedAnimation, mesh: SkinnedMesh | None, scale: float) -> tuple[RiggedAnimation, SkinnedMesh | None]:
    """Multiply every length of an export (rig offsets, root trajectory, mesh vertices) by ``scale``.

    Rotations are unchanged, so the result is the same animation in other
    length units (``scale=100`` turns metres into centimetres).
    """
    s = float(scale)
    if not np.isfinite(s) or s <= 0:
        raise InputError(f"export: scale must be a positive number, got {scale!r}")
    if s == 1.0:
        return anim, mesh
    rig = ExportRig(anim.rig.names, anim.rig.parents, anim.rig.offsets * s)
    anim = replace(anim, rig=rig, root_position=anim.root_position * s)
    if mesh is not None:
        mesh = replace(mesh, vertices=(mesh.vertices.astype(np.float64) * s).astype(np.float32))
    return anim, mesh


def top4_weights(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the 4 largest weights per vertex and renormalise.

    Args:
        weights: ``(V, J)`` non-negative weights.
    Returns:
        ``(indices (V, 4) int64, weights (V, 4) float32)``; float32 rows sum
        to 1 up to rounding of a single ulp (the largest weight absorbs it);
        zero-weight slots point at joint 0.
    """
    w = np.asarray(weights, dtype=np.float64)
    idx = np.argsort(-w, axis=1, kind="stable")[:, :4]
    top = np.take_along_axis(w, idx, axis=1)
    top = top / np.clip(top.sum(1, keepdims=True), 1e-12, None)
    top32 = top.astype(np.float32)
    top32[:, 0] = (1.0 - top32[:, 1:].astype(np.float64).sum(1)).astype(np.float32)
    top32[top32 < 0] = 0.0
    idx[top32 == 0] = 0  # glTF wants unused influences to point at joint 0
    return idx.astype(np.int64), top32


def _resolve_colors(colors: bool | np.ndarray | None, labels: np.ndarray, V: int) -> np.ndarray | None:
    if colors is None or colors is False:
        return None
    if colors is True:
        rgb = _PART_PALETTE[labels]
    else:
        rgb = np.asarray(colors, dtype=np.float64)
        if rgb.shape not in ((V, 3), (V, 4)) or not np.all(np.isfinite(rgb)):
            raise InputError(f"export: colors must have shape ({V}, 3) or ({V}, 4), got {rgb.shape}")
        if rgb.min() < 0 or rgb.max() > 1:
            raise InputError("export: colors must be in [0, 1]")
    if rgb.shape[1] == 3:
        rgb = np.concatenate([rgb, np.ones((V, 1))], axis=1)
    return rgb.astype(np.float32)


def prepare_export(
    motion: Motion,
    *,
    body: object | None = None,
    rig: str = "canonical",
    shape: object | None = None,
    with_mesh: bool = False,
    colors: bool | np.ndarray | None = None,
    mixamo_prefix: bool = True,
) -> tuple[RiggedAnimation, SkinnedMesh | None]:
    """Build the rig animation (and the skinned body mesh) an exporter writes.

    Args:
        motion: canonical motion with at least one frame.
        body: None (the motion's skeleton), a body name (``"anny"``,
            ``"smpl"``, ``"smplh"``, ``"smplx"``) or a ``BodyModel``. Defaults
            to ``"anny"`` when ``rig="anny"`` or ``with_mesh``.
        rig: ``"canonical"``, ``"anny"`` or ``"mixamo"`` bone names.
        shape: body shape (Anny phenotype dict / SMPL betas); None = the
            motion's betas or the body's default.
        with_mesh: also return the T-posed skinned mesh.
        colors: ``True`` for per-part vertex colours, a ``(V, 3|4)`` array, or None.
        mixamo_prefix: prefix Mixamo names with ``mixamorig:``.
    """
    if not isinstance(motion, Motion):
        raise InputError(f"export: expected a Motion, got {type(motion).__name__}")
    if motion.num_frames == 0:
        raise InputError("export: the motion has no frames")
    if rig not in RIGS:
        raise InputError(f"unknown rig {rig!r}: choose {', '.join(RIGS)}")
    if body is None and (rig == "anny" or with_mesh):
        body = "anny"
    R = motion.rotations.astype(np.float64)
    root = motion.root_position.astype(np.float64)
    if body is None:
        skeleton = motion.skeleton
        rest = None
    else:
        from humokit.body import BodyModel, create_body

        bm = create_body(body) if isinstance(body, str) else body
        if not isinstance(bm, BodyModel):
            raise InputError(f"export: body must be a name or a BodyModel, got {type(body).__name__}")
        if rig == "anny" and bm.name != "anny":
            raise InputError(f"rig 'anny' needs the Anny body, not {bm.name!r}")
        rest = bm.rest(shape if shape is not None else bm.shape_from_motion(motion))
        skeleton = rest.skeleton
        root = root * bm.root_scale_for(rest, motion)
    anim = RiggedAnimation(
        ExportRig.from_skeleton(skeleton, rig, mixamo_prefix=mixamo_prefix), R, root, float(motion.fps)
    )
    if not with_mesh or rest is None:
        return anim, None
    return anim, bake_tpose_mesh(rest, colors=colors, uv_layout=bm.uv_layout())


def bake_tpose_mesh(
    rest: object,
    *,
    colors: bool | np.ndarray | None = None,
    uv_layout: tuple[np.ndarray, np.ndarray] | None = None,
) -> SkinnedMesh:
    """Pose a ``RestBody`` into its skeleton's T-pose and keep the top-4 skinning weights.

    The rest root stays where it is (``rest.skeleton.offsets[0]``), so the mesh
    binds to the rig's rest pose (:meth:`ExportRig.rest_positions`).
    ``uv_layout`` is the body's ``(uv, face_uv)`` (:meth:`BodyModel.uv_layout`).
    """
    import torch

    from humokit.body import pose_rest_body

    eye = torch.eye(3, dtype=torch.float64).expand(1, NUM_JOINTS, 3, 3)
    root0 = torch.as_tensor(rest.skeleton.offsets[0], dtype=torch.float64)[None]  # type: ignore[attr-defined]
    rest64 = rest.__class__(  # type: ignore[attr-defined]
        vertices=rest.vertices.double(),  # type: ignore[attr-defined]
        faces=rest.faces,  # type: ignore[attr-defined]
        joints=rest.joints.double(),  # type: ignore[attr-defined]
        weights=rest.weights.double(),  # type: ignore[attr-defined]
        R_rest_to_canonical=rest.R_rest_to_canonical.double(),  # type: ignore[attr-defined]
        skeleton=rest.skeleton,  # type: ignore[attr-defined]
    )
    with torch.no_grad():
        verts = pose_rest_body(rest64, eye, root0).vertices[0].numpy()
    weights = rest.weights.double().numpy()  # type: ignore[attr-defined]
    idx, w = top4_weights(weights)
    cols = _resolve_colors(colors, weights.argmax(1), verts.shape[0])
    faces = rest.faces.numpy().astype(np.int64)  # type: ignore[attr-defined]
    uv = face_uv = None
    if uv_layout is not None:
        uv, face_uv = (np.asarray(a) for a in uv_layout)
        if face_uv.shape != faces.shape or face_uv.min() < 0 or face_uv.max() >= uv.shape[0]:
            raise InputError(f"export: uv layout {face_uv.shape} does not match the body's {faces.shape} faces")
        uv, face_uv = uv.astype(np.float32), face_uv.astype(np.int64)
    return SkinnedMesh(verts.astype(np.float32), faces, idx, w, cols, uv, face_uv)
