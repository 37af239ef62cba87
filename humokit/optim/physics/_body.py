"""Body geometry the physics code needs: foot soles, joint radii, segment masses, input checks.

Glossary: a foot joint's *sole height* is how far the joint sits above the
lowest point of the foot when the foot is flat on the ground (ankle ~8 cm,
toe joint ~2.3 cm for the default Anny body). ``sole`` arrays are ordered
like :data:`FOOT_JOINTS` / :attr:`Motion.contacts`: l_heel (ankle), l_toe,
r_heel (ankle), r_toe. A joint's *radius* is the distance from the joint to
the body surface below it, used when no mesh is given.

World convention: Y up, metres.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch

from humokit.errors import InputError
from humokit.motion.motion import Motion
from humokit.motion.plausibility import JOINT_RADII  # noqa: F401  (re-exported)
from humokit.motion.skeleton import FOOT_JOINTS, NUM_JOINTS, PARENTS, Skeleton, default_skeleton

FOOT = list(FOOT_JOINTS)  # (7, 10, 8, 11): l_ankle, l_foot, r_ankle, r_foot
CONTACT_NAMES = ("l_heel", "l_toe", "r_heel", "r_toe")
# Segment mass fractions (after de Leva 1996) spread over the 22 joints' segments:
# each joint owns the segment from it towards its child (trunk split along the spine).
MASS_FRACTIONS = np.array(
    [0.11, 0.142, 0.142, 0.10, 0.0433, 0.0433, 0.10, 0.010, 0.010, 0.090, 0.004,
     0.004, 0.020, 0.0, 0.0, 0.049, 0.0271, 0.0271, 0.0162, 0.0162, 0.0061, 0.0061]
)  # fmt: skip
MASS_FRACTIONS = MASS_FRACTIONS / MASS_FRACTIONS.sum()
HUMAN_DENSITY = 1010.0  # kg/m^3 (whole-body average, 1000-1050)
GRAVITY = 9.81


def sole_heights(skeleton: Skeleton | None = None) -> np.ndarray:
    """``(4,)`` sole heights (metres) of the foot joints: :meth:`Skeleton.sole_heights`."""
    return (skeleton or default_skeleton()).sole_heights()


@dataclass(frozen=True)
class BodyGeometry:
    """Per-joint geometry of a body, from its rest mesh or from defaults.

    Attributes:
        sole: ``(4,)`` sole heights of l_ankle, l_toe, r_ankle, r_toe, metres.
        radii: ``(22,)`` joint-to-surface distances, metres (foot joints: sole).
        masses: ``(22,)`` segment masses, kg.
        com_local: ``(22, 3)`` segment centre of mass relative to its joint,
            in the canonical T-pose frame, metres.
        source: ``"mesh"`` or ``"default"``.
    """

    sole: np.ndarray
    radii: np.ndarray
    masses: np.ndarray
    com_local: np.ndarray
    source: str

    @property
    def total_mass(self) -> float:
        return float(self.masses.sum())


def default_geometry(skeleton: Skeleton | None = None, total_mass: float = 70.0) -> BodyGeometry:
    """Geometry without a mesh: anthropometric masses placed half-way along each segment."""
    skel = skeleton or default_skeleton()
    sole = sole_heights(skel)
    radii = JOINT_RADII.copy()
    radii[FOOT] = sole
    com = np.zeros((NUM_JOINTS, 3))
    for j in range(NUM_JOINTS):
        kids = [c for c, p in enumerate(PARENTS) if p == j]
        if kids:
            com[j] = 0.5 * np.mean([skel.offsets[c] for c in kids], axis=0)
    return BodyGeometry(sole, radii, MASS_FRACTIONS * total_mass, com, "default")


def part_volumes(vertices: np.ndarray, faces: np.ndarray, labels: np.ndarray, num_parts: int = NUM_JOINTS) -> np.ndarray:
    """``(P,)`` volume (m^3) of each labelled part of a closed mesh.

    Each triangle belongs to the part most of its vertices belong to; a part's
    volume is the sum of signed tetrahedra from its triangles to the part's
    centroid (exact for a closed part, a good estimate for an open one); the
    parts are rescaled so they add up to the exact volume of the whole mesh.
    """
    v = np.asarray(vertices, dtype=np.float64)
    f = np.asarray(faces, dtype=np.int64)
    fl = labels[f]
    tri_label = np.where(fl[:, 1] == fl[:, 2], fl[:, 1], fl[:, 0])
    a, b, c = v[f[:, 0]], v[f[:, 1]], v[f[:, 2]]
    total = float(np.einsum("ij,ij->i", a, np.cross(b, c)).sum() / 6.0)
    vols = np.zeros(num_parts)
    for p in range(num_parts):
        sel = tri_label == p
        if not sel.any():
            continue
        ref = v[labels == p].mean(axis=0) if (labels == p).any() else a[sel].mean(axis=0)
        vols[p] = np.einsum("ij,ij->i", a[sel] - ref, np.cross(b[sel] - ref, c[sel] - ref)).sum() / 6.0
    vols = np.clip(vols, 0.0, None)
    if vols.sum() > 0 and total > 0:
        vols *= total / vols.sum()
    return vols


def tpose_mesh(rest: object) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rest body posed in the canonical T-pose at its rest root: ``(vertices, joints, faces)``."""
    from humokit.body import pose_rest_body

    R = torch.eye(3, dtype=torch.float32).expand(1, NUM_JOINTS, 3, 3).contiguous()
    root = torch.as_tensor(rest.skeleton.offsets[0:1], dtype=torch.float32)  # type: ignore[attr-defined]
    with torch.no_grad():
        out = pose_rest_body(rest, R, root)  # type: ignore[arg-type]
    return out.vertices[0].numpy().astype(np.float64), out.joints[0].numpy().astype(np.float64), rest.faces.numpy()  # type: ignore[attr-defined]


def mesh_geometry(rest: object, density: float = HUMAN_DENSITY) -> BodyGeometry:
    """Geometry of a :class:`~humokit.body.RestBody` from its T-posed mesh.

    Sole heights: foot joint height above the lowest vertex of its part;
    masses: part volume times ``density``; CoM: vertex centroid of the part.
    """
    verts, joints, faces = tpose_mesh(rest)
    labels = rest.part_labels()  # type: ignore[attr-defined]
    vols = part_volumes(verts, faces, labels)
    com = np.zeros((NUM_JOINTS, 3))
    radii = JOINT_RADII.copy()
    for j in range(NUM_JOINTS):
        sel = labels == j
        if sel.any():
            com[j] = verts[sel].mean(axis=0) - joints[j]
            radii[j] = max(joints[j, 1] - verts[sel, 1].min(), 0.0)
    sole = np.array([joints[j, 1] - verts[labels == j, 1].min() for j in FOOT])
    radii[FOOT] = sole
    return BodyGeometry(sole, radii, vols * density, com, "mesh")


_GEOM_CACHE: dict[tuple[int, str], BodyGeometry] = {}


def body_geometry(body: object | None, motion: Motion | None = None) -> BodyGeometry:
    """Geometry for a body model (its default / the motion's shape) or defaults for ``None``."""
    if body is None:
        return default_geometry(motion.skeleton if motion is not None else None)
    shape = body.shape_from_motion(motion) if motion is not None else body.default_shape()  # type: ignore[attr-defined]
    key = (id(body), repr(shape))
    if key not in _GEOM_CACHE:
        _GEOM_CACHE[key] = mesh_geometry(body.rest(shape))  # type: ignore[attr-defined]
    return _GEOM_CACHE[key]


def resolve_body(body: object | None) -> object | None:
    """``None``/``"none"`` -> None; a name -> :func:`create_body`; a BodyModel as is."""
    if body is None or body == "none":
        return None
    if isinstance(body, str):
        from humokit.body import create_body

        return create_body(body)
    if not hasattr(body, "forward") or not hasattr(body, "rest"):
        raise InputError(f"body must be a BodyModel, a body name or None, got {type(body).__name__}")
    return body


def as_joints(x: object, fps: float | None, what: str) -> tuple[np.ndarray, float]:
    """Validate ``(T, 22, 3)`` joints (array/tensor) or a Motion; return ``(float64 joints, fps)``."""
    if isinstance(x, Motion):
        if x.num_frames == 0:
            raise InputError(f"{what}: the motion has no frames")
        return x.joints().astype(np.float64), x.fps
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().numpy()
    arr = np.asarray(x, dtype=np.float64)
    check_joints(arr, what)
    if fps is None or not (np.isfinite(fps) and fps > 0):
        raise InputError(f"{what}: give fps (frames per second) with joint positions, got {fps}")
    return arr, float(fps)


def check_joints(arr: np.ndarray | torch.Tensor, what: str) -> None:
    """Raise :class:`InputError` unless ``arr`` is finite ``(T>0, 22, 3)``."""
    if arr.ndim != 3 or tuple(arr.shape[1:]) != (NUM_JOINTS, 3):
        raise InputError(f"{what}: expected joints of shape (T, {NUM_JOINTS}, 3), got {tuple(arr.shape)}")
    if arr.shape[0] == 0:
        raise InputError(f"{what}: the motion has no frames")
    finite = torch.isfinite(arr).all().item() if isinstance(arr, torch.Tensor) else np.isfinite(arr).all()
    if not finite:
        raise InputError(f"{what}: joint positions contain NaN or inf")


@lru_cache(maxsize=1)
def _bones() -> tuple[np.ndarray, np.ndarray]:
    child = np.array([j for j, p in enumerate(PARENTS) if p >= 0])
    return child, np.array([PARENTS[j] for j in child])


def bone_vectors(joints: np.ndarray) -> np.ndarray:
    """``(..., 21, 3)`` parent-to-child vectors of the 21 bones."""
    child, par = _bones()
    return joints[..., child, :] - joints[..., par, :]
