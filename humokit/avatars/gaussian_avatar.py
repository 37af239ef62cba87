"""Animatable 3D Gaussian avatars bound to a body mesh.

Representation (:class:`GaussianAvatar`): ``N`` Gaussians embedded in the
triangles of a :class:`~humokit.body.RestBody` (Anny by default, any
SMPL-family body works). Gaussian ``i`` lives on face ``f_i`` at barycentric
point ``b_i`` and carries, in that face's local frame ``R_f`` (columns: first
edge direction, normal x edge, unit normal):

- ``offsets`` ``(N, 3)`` metres (learnable displacement from the surface point),
- ``quats`` ``(N, 4)`` wxyz rotation relative to the face frame,
- ``log_scales`` ``(N, 3)`` log standard deviations, metres,
- ``opacity_logits`` ``(N,)``, ``sh`` ``(N, K, 3)`` real SH colour, degree 0..3,
  expressed in the **canonical** (rest pose) world frame.

Posing (:func:`pose_avatar`): the mesh is posed with linear blend skinning
(:func:`~humokit.body.pose_rest_body`); each Gaussian follows its
posed face: ``mean = sum_k b_ik v'_{f_i k} + R'_f (offset_i + delta_i(pose))``,
rotation ``R'_f R(q_i)``. With zero offsets the means are exactly on the posed
mesh. The SH colour is evaluated with the view direction rotated back into the
canonical frame (``R_f R'_f^T d``), so view-dependent colour moves with the
body. ``delta_i(pose)`` is an optional pose-dependent correction
(:class:`PoseCorrection`, a tiny MLP on joint rotations feeding a per-Gaussian
linear basis) for clothing.

Files (:func:`save_avatar` / :func:`load_avatar`), an avatar folder holds:

- ``avatar.ply``: the canonical (rest pose) Gaussians in the standard 3DGS
  layout (any 3DGS viewer shows the T-posed avatar);
- ``skinning.npz`` (see :data:`SKINNING_KEYS`): per-Gaussian ``weights``
  ``(N, 22)`` LBS weights on the canonical joints (barycentric blend of the
  vertex weights; for tools that skin the Gaussians directly with LBS),
  ``face_ids`` ``(N,)`` parent face, ``bary`` ``(N, 3)`` barycentrics, and the
  rest mesh needed to pose exactly as humokit does (``rest_vertices``,
  ``faces``, ``vertex_weights``, ``joints_rest``, ``R_rest_to_canonical``,
  ``skeleton_offsets``, ``parents``), plus the pose correction's weights;
- ``avatar.json``: body name, shape, counts, training summary.

Glossary: ``R_local`` ``(22, 3, 3)`` canonical local joint rotations,
``root`` ``(3,)`` pelvis position, metres (humokit world: Y up, +Z forward).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import torch

from humokit._io import atomic_path
from humokit._npz import read_npz
from humokit.body import RestBody, pose_rest_body
from humokit.errors import FileFormatError, InputError
from humokit.motion.skeleton import JOINT_NAMES, NUM_JOINTS, PARENTS, Skeleton
from humokit.render.camera import Camera
from humokit.render.gaussians import SH_C0, Gaussians, eval_sh, load_ply, quat_to_rotmat, rotmat_to_quat_wxyz, save_ply

SKINNING_VERSION = 1
SKINNING_KEYS = (
    "version", "weights", "face_ids", "bary", "rest_vertices", "faces", "vertex_weights", "joints_rest",
    "R_rest_to_canonical", "skeleton_offsets", "parents", "joint_names",
)  # fmt: skip


@dataclass(frozen=True)
class PoseCorrection:
    """Pose-dependent offsets: ``delta (N, 3) = basis (N, k, 3)^T tanh(W2 relu(W1 x + b1) + b2)``.

    ``x`` ``(21 * 6,)`` are the 6D rotations of joints 1..21 minus the identity's
    (zero in the rest pose). Offsets are in each Gaussian's face frame, metres.
    """

    W1: torch.Tensor
    b1: torch.Tensor
    W2: torch.Tensor
    b2: torch.Tensor
    basis: torch.Tensor

    @classmethod
    def init(cls, num_gaussians: int, *, latent: int = 16, hidden: int = 64, seed: int = 0) -> "PoseCorrection":
        gen = torch.Generator().manual_seed(seed)
        d = (NUM_JOINTS - 1) * 6
        return cls(
            W1=torch.randn(hidden, d, generator=gen) / math.sqrt(d), b1=torch.zeros(hidden),
            W2=torch.randn(latent, hidden, generator=gen) / math.sqrt(hidden), b2=torch.zeros(latent),
            basis=torch.zeros(num_gaussians, latent, 3),
        )

    def tensors(self) -> dict[str, torch.Tensor]:
        return {"W1": self.W1, "b1": self.b1, "W2": self.W2, "b2": self.b2, "basis": self.basis}

    def __call__(self, R_local: torch.Tensor) -> torch.Tensor:
        """``(N, 3)`` offsets for one pose ``R_local`` ``(22, 3, 3)``."""
        x = (R_local[1:, :, :2] - torch.eye(3, 2, dtype=R_local.dtype, device=R_local.device)).reshape(-1).to(self.W1.dtype)
        z = torch.tanh(self.W2 @ torch.relu(self.W1 @ x + self.b1) + self.b2)
        return torch.einsum("nkc,k->nc", self.basis, z)


@dataclass(frozen=True)
class GaussianAvatar:
    """Gaussians embedded in a rest body's triangles (see the module docstring).

    Attributes:
        rest: the rest body (mesh, skinning weights, skeleton), metres.
        face_ids: ``(N,)`` int64 parent face; bary: ``(N, 3)`` barycentrics.
        offsets: ``(N, 3)`` face-frame displacement, metres; quats: ``(N, 4)`` face-frame wxyz.
        log_scales: ``(N, 3)`` log std-devs, metres; opacity_logits: ``(N,)``;
        sh: ``(N, K, 3)`` canonical-frame SH (K = 1, 4, 9, 16).
        correction: optional :class:`PoseCorrection`.
        meta: JSON-able info (``body``, ``shape``, ``scale``, training summary).
    """

    rest: RestBody
    face_ids: torch.Tensor
    bary: torch.Tensor
    offsets: torch.Tensor
    quats: torch.Tensor
    log_scales: torch.Tensor
    opacity_logits: torch.Tensor
    sh: torch.Tensor
    correction: PoseCorrection | None = None
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        N = int(self.face_ids.shape[0])
        for name, shape in (("bary", (N, 3)), ("offsets", (N, 3)), ("quats", (N, 4)), ("log_scales", (N, 3)),
                            ("opacity_logits", (N,))):
            if tuple(getattr(self, name).shape) != shape:
                raise InputError(f"avatar: {name} must have shape {shape}, got {tuple(getattr(self, name).shape)}")
        if self.sh.ndim != 3 or self.sh.shape[0] != N or self.sh.shape[1] not in (1, 4, 9, 16) or self.sh.shape[2] != 3:
            raise InputError(f"avatar: sh must have shape (N, K, 3) with K in 1, 4, 9, 16; got {tuple(self.sh.shape)}")

    @property
    def num_gaussians(self) -> int:
        return int(self.face_ids.shape[0])

    @property
    def sh_degree(self) -> int:
        return int(round(math.sqrt(self.sh.shape[1]))) - 1

    @property
    def weights(self) -> torch.Tensor:
        """``(N, 22)`` per-Gaussian LBS weights (barycentric blend of the face's vertex weights)."""
        Wv = self.rest.weights.to(self.bary.dtype)
        return torch.einsum("nk,nkj->nj", self.bary, Wv[self.rest.faces[self.face_ids]])

    def to(self, device: torch.device | str) -> "GaussianAvatar":
        """The avatar (rest body included) on ``device``."""
        r = self.rest
        rest = replace(r, vertices=r.vertices.to(device), faces=r.faces.to(device), joints=r.joints.to(device),
                       weights=r.weights.to(device), R_rest_to_canonical=r.R_rest_to_canonical.to(device))
        c = self.correction
        if c is not None:
            c = PoseCorrection(**{k: v.to(device) for k, v in c.tensors().items()})
        return replace(self, rest=rest, face_ids=self.face_ids.to(device), bary=self.bary.to(device),
                       **{k: getattr(self, k).to(device) for k in _PARAMS}, correction=c)

    def detach(self) -> "GaussianAvatar":
        c = self.correction
        if c is not None:
            c = PoseCorrection(**{k: v.detach().clone() for k, v in c.tensors().items()})
        return replace(self, **{k: getattr(self, k).detach().clone() for k in _PARAMS}, correction=c)


_PARAMS = ("offsets", "quats", "log_scales", "opacity_logits", "sh")


# ---------------------------------------------------------------------------
# Construction


def face_frames(tri: torch.Tensor) -> torch.Tensor:
    """Orthonormal frames ``(..., 3, 3)`` of triangles ``(..., 3, 3)`` (vertex, xyz).

    Columns: unit first edge ``x``, ``y = n x x``, unit normal ``n`` (counter-clockwise faces point outward).
    """
    e0 = tri[..., 1, :] - tri[..., 0, :]
    n = torch.cross(e0, tri[..., 2, :] - tri[..., 0, :], dim=-1)
    n = n / n.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    x = e0 / e0.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    y = torch.cross(n, x, dim=-1)
    return torch.stack([x, y, n], dim=-1)


def sample_surface(
    vertices: torch.Tensor, faces: torch.Tensor, num: int | None = None, *, per_face: int = 1, seed: int = 0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Points on a mesh: ``per_face`` on every face, or ``num`` spread uniformly by area.

    Area sampling is systematic (stratified along the faces' cumulative area,
    seeded), so every region gets its share. One point per face sits at the
    centroid; several are seeded random barycentrics.

    Returns:
        ``(face_ids (N,) int64, bary (N, 3))``.
    """
    gen = torch.Generator().manual_seed(seed)
    F = faces.shape[0]
    if num is None:
        if per_face < 1:
            raise InputError(f"avatar: per_face must be >= 1, got {per_face}")
        fid = torch.arange(F).repeat_interleave(per_face)
        if per_face == 1:
            return fid, torch.full((F, 3), 1.0 / 3.0)
    else:
        if num < 1:
            raise InputError(f"avatar: num_gaussians must be >= 1, got {num}")
        tri = vertices[faces].double()
        area = 0.5 * torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=1).norm(dim=1)
        cdf = torch.cumsum(area, 0) / area.sum()
        u = (torch.arange(num, dtype=torch.float64) + torch.rand(num, generator=gen, dtype=torch.float64)) / num
        fid = torch.searchsorted(cdf, u).clamp_max(F - 1)
    r1, r2 = torch.rand(fid.numel(), generator=gen), torch.rand(fid.numel(), generator=gen)
    s = r1.sqrt()
    return fid, torch.stack([1 - s, s * (1 - r2), s * r2], dim=-1)


def init_avatar(
    rest: RestBody,
    *,
    num_gaussians: int | None = 12000,
    per_face: int = 1,
    sh_degree: int = 0,
    colors: torch.Tensor | np.ndarray | None = None,
    opacity: float = 0.95,
    thickness: float = 0.3,
    pose_correction: int = 0,
    seed: int = 0,
    meta: dict | None = None,
) -> GaussianAvatar:
    """A fresh avatar on a rest body.

    Args:
        rest: the body (e.g. ``create_body("anny").rest(shape)``).
        num_gaussians: Gaussians spread by area; ``None`` = ``per_face`` on every face.
        sh_degree: 0..3.
        colors: ``(V, 3)`` vertex colours in [0, 1] to start from (default grey).
        opacity: initial opacity; thickness: normal-axis scale relative to the in-plane scale.
        pose_correction: latent size of the :class:`PoseCorrection` (0 = none).
    Scale: in-plane std-dev = ``sqrt(mean area per Gaussian on that face)`` x 0.5 for
    area sampling, ``mean edge / (3 sqrt(per_face))`` per face (as gsplat examples do).
    """
    if sh_degree not in (0, 1, 2, 3):
        raise InputError(f"avatar: sh_degree must be 0..3, got {sh_degree}")
    V = rest.vertices.detach().to(torch.float32)
    Fc = rest.faces.to(torch.int64)
    fid, bary = sample_surface(V, Fc, num_gaussians, per_face=per_face, seed=seed)
    N = fid.numel()
    tri = V[Fc[fid]]
    if num_gaussians is None:
        edge = ((tri[:, 1] - tri[:, 0]).norm(dim=1) + (tri[:, 2] - tri[:, 1]).norm(dim=1)
                + (tri[:, 0] - tri[:, 2]).norm(dim=1)) / 3
        s_in = edge / (3 * math.sqrt(per_face))
    else:
        allt = V[Fc].double()
        total = 0.5 * torch.cross(allt[:, 1] - allt[:, 0], allt[:, 2] - allt[:, 0], dim=1).norm(dim=1).sum()
        s_in = torch.full((N,), 0.5 * math.sqrt(float(total) / N))
    s_in = s_in.clamp_min(1e-4)
    log_scales = torch.log(torch.stack([s_in, s_in, thickness * s_in], dim=1))
    if colors is None:
        rgb = torch.full((N, 3), 0.5)
    else:
        cv = torch.as_tensor(np.asarray(colors), dtype=torch.float32)
        if cv.shape != V.shape:
            raise InputError(f"avatar: colors must have shape {tuple(V.shape)}, got {tuple(cv.shape)}")
        rgb = torch.einsum("nk,nkc->nc", bary, cv[Fc[fid]])
    K = (sh_degree + 1) ** 2
    sh = torch.zeros(N, K, 3)
    sh[:, 0] = (rgb - 0.5) / SH_C0
    op = min(max(float(opacity), 1e-4), 1 - 1e-4)
    return GaussianAvatar(
        rest=rest, face_ids=fid, bary=bary.to(torch.float32), offsets=torch.zeros(N, 3),
        quats=torch.tensor([1.0, 0.0, 0.0, 0.0]).repeat(N, 1), log_scales=log_scales.to(torch.float32),
        opacity_logits=torch.full((N,), math.log(op / (1 - op))), sh=sh,
        correction=PoseCorrection.init(N, latent=pose_correction, seed=seed) if pose_correction > 0 else None,
        meta=dict(meta or {}),
    )


def scaled_rest(rest: RestBody, scale: float) -> RestBody:
    """The same body uniformly scaled about the origin (vertices, joints, bone offsets)."""
    s = float(scale)
    if not (math.isfinite(s) and s > 0):
        raise InputError(f"avatar: scale must be positive, got {scale}")
    return replace(rest, vertices=rest.vertices * s, joints=rest.joints * s, skeleton=rest.skeleton.scaled(s))


# ---------------------------------------------------------------------------
# Posing and rendering


@dataclass(frozen=True)
class PosedAvatar:
    """An avatar in one pose.

    Attributes:
        gaussians: world Gaussians (``sh`` still canonical: use :func:`avatar_colors`).
        R_view: ``(N, 3, 3)`` rotation taking posed-world directions to the canonical frame.
        normals: ``(N, 3)`` posed unit face normals.
        vertices: ``(V, 3)`` posed mesh.
    """

    gaussians: Gaussians
    R_view: torch.Tensor
    normals: torch.Tensor
    vertices: torch.Tensor


def check_pose(R_local: torch.Tensor, root: torch.Tensor) -> None:
    if tuple(R_local.shape) != (NUM_JOINTS, 3, 3):
        raise InputError(f"avatar: R_local must have shape (22, 3, 3), got {tuple(R_local.shape)}")
    if tuple(root.shape) != (3,):
        raise InputError(f"avatar: root must have shape (3,), got {tuple(root.shape)}")


def posed_mesh(rest: RestBody, R_local: torch.Tensor, root: torch.Tensor) -> torch.Tensor:
    """``(T, V, 3)`` LBS-posed rest mesh for ``R_local`` ``(T, 22, 3, 3)``, ``root`` ``(T, 3)`` (any device)."""
    from humokit.body.skinning import linear_blend_skinning, skinning_transforms
    from humokit.motion.skeleton import forward_kinematics

    dt, dev = R_local.dtype, R_local.device
    offsets = torch.as_tensor(rest.skeleton.offsets, dtype=dt, device=dev)
    joints, R_world = forward_kinematics(R_local, root.to(dt), offsets, PARENTS)
    A, b = skinning_transforms(R_world, joints, rest.joints.to(dt), rest.R_rest_to_canonical.to(dt))
    return linear_blend_skinning(rest.vertices, rest.weights, A, b)


def pose_avatar(avatar: GaussianAvatar, R_local: torch.Tensor, root: torch.Tensor) -> PosedAvatar:
    """Pose the avatar (differentiable in the avatar's tensors and the pose).

    Args:
        R_local: ``(22, 3, 3)`` canonical local rotations ([0] = pelvis global orientation).
        root: ``(3,)`` pelvis position, metres.
    """
    check_pose(R_local, root)
    dt, dev = avatar.offsets.dtype, avatar.offsets.device
    V = posed_mesh(avatar.rest, R_local[None].to(device=dev, dtype=dt), root[None].to(device=dev, dtype=dt))
    return pose_on_mesh(avatar, V[0], R_local)


def pose_on_mesh(avatar: GaussianAvatar, vertices: torch.Tensor, R_local: torch.Tensor | None = None) -> PosedAvatar:
    """Place the Gaussians on an already posed mesh ``vertices`` ``(V, 3)`` (same topology as the rest body)."""
    dt = avatar.offsets.dtype
    faces = avatar.rest.faces[avatar.face_ids]
    tri = vertices.to(dt)[faces]  # (N, 3, 3)
    R_face = face_frames(tri)
    R_face0 = face_frames(avatar.rest.vertices.to(dt)[faces])
    off = avatar.offsets
    if avatar.correction is not None and R_local is not None:
        off = off + avatar.correction(R_local.to(device=off.device, dtype=dt))
    means = torch.einsum("nk,nkc->nc", avatar.bary, tri) + (R_face @ off[..., None])[..., 0]
    Rg = R_face @ quat_to_rotmat(avatar.quats)
    g = Gaussians(means=means, quats=rotmat_to_quat_wxyz(Rg), scales=torch.exp(avatar.log_scales),
                  opacities=torch.sigmoid(avatar.opacity_logits), sh=avatar.sh)
    return PosedAvatar(gaussians=g, R_view=R_face0 @ R_face.transpose(1, 2), normals=R_face[..., 2], vertices=vertices)


def canonical_gaussians(avatar: GaussianAvatar) -> Gaussians:
    """The avatar in its rest pose as plain world Gaussians (what ``avatar.ply`` stores)."""
    return pose_on_mesh(avatar, avatar.rest.vertices).gaussians


def avatar_colors(posed: PosedAvatar, camera: Camera) -> torch.Tensor:
    """``(N, 3)`` RGB seen from ``camera`` (SH evaluated in the canonical frame)."""
    g = posed.gaussians
    if g.sh.shape[1] == 1:
        return torch.clamp_min(g.sh[:, 0] * SH_C0 + 0.5, 0.0)
    c = torch.as_tensor(camera.center, dtype=g.means.dtype, device=g.means.device)
    d = g.means - c
    d = d / d.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    d = (posed.R_view @ d[..., None])[..., 0]
    return torch.clamp_min(eval_sh(g.sh, d) + 0.5, 0.0)


@dataclass(frozen=True)
class AvatarRender:
    """rgb ``(H, W, 3)`` with background, alpha ``(H, W)``, depth ``(H, W)`` metres (0 = empty),
    means2d ``(N, 2)`` pixels (its ``.grad`` drives densification)."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor
    means2d: torch.Tensor


def backfacing(posed: PosedAvatar, camera: Camera, *, cos_limit: float = -0.3) -> torch.Tensor:
    """``(N,)`` bool: the Gaussian's face points away from the camera (cosine below ``cos_limit``)."""
    with torch.no_grad():
        c = torch.as_tensor(camera.center, dtype=posed.normals.dtype, device=posed.normals.device)
        d = c - posed.gaussians.means
        cos = (posed.normals * d).sum(-1) / d.norm(dim=-1).clamp_min(1e-9)
        return cos < cos_limit


def render_avatar(
    posed: PosedAvatar,
    camera: Camera,
    *,
    background: tuple[float, float, float] | torch.Tensor | None = None,
    cull_backfaces: bool = True,
    alpha_max: float = 0.99,
    backend: str = "auto",
) -> AvatarRender:
    """Splat a posed avatar.

    Back-ends: ``"torch"``: the pair-list rasterizer of
    :mod:`humokit.render.gaussians_fast` (CPU or GPU, differentiable);
    ``"gsplat"``: gsplat's CUDA kernels (``humokit[gsplat]``, tensors on CUDA);
    ``"auto"``: gsplat when the avatar is on CUDA and gsplat is installed.
    ``cull_backfaces`` (torch back-end) skips Gaussians on faces turned away
    from the camera (hidden behind the front of the closed body surface; ~2x faster).
    """
    from humokit.render.gaussians import has_gsplat, project_gaussians
    from humokit.render.gaussians_fast import splat

    g = posed.gaussians
    W, H = camera.width, camera.height
    dt, dev = g.means.dtype, g.means.device
    bg = torch.zeros(3, dtype=dt, device=dev) if background is None else torch.as_tensor(background, dtype=dt, device=dev)
    if backend not in ("auto", "torch", "gsplat"):
        raise InputError(f"render_avatar: unknown backend {backend!r}; use auto, torch or gsplat")
    if backend == "gsplat" or (backend == "auto" and g.means.is_cuda and has_gsplat()):
        return _render_gsplat(posed, camera, bg)
    p = project_gaussians(g, camera)
    if p.means2d.requires_grad:
        p.means2d.retain_grad()
    keep = ~backfacing(posed, camera) if cull_backfaces else None
    rgb, alpha, dsum = splat(p, avatar_colors(posed, camera), g.opacities, W, H, alpha_max=alpha_max, keep=keep)
    rgb = rgb + (1.0 - alpha)[..., None] * bg
    depth = torch.where(alpha > 0, dsum / alpha.clamp_min(1e-12), torch.zeros_like(dsum))
    return AvatarRender(rgb=rgb, alpha=alpha, depth=depth, means2d=p.means2d)


def _render_gsplat(posed: PosedAvatar, camera: Camera, bg: torch.Tensor) -> AvatarRender:
    """gsplat CUDA rasterization with colours precomputed in the canonical frame."""
    from humokit.errors import MissingDependencyError
    from humokit.render.gaussians import has_gsplat

    if not has_gsplat():
        raise MissingDependencyError("gsplat", "gsplat")
    g = posed.gaussians
    if not g.means.is_cuda:
        raise InputError("render_avatar: backend 'gsplat' needs the avatar on a CUDA device (avatar.to('cuda'))")
    from gsplat import rasterization

    dev = g.means.device
    viewmat = torch.as_tensor(camera.world_to_camera, dtype=torch.float32, device=dev)[None]
    K = torch.as_tensor(camera.K, dtype=torch.float32, device=dev)[None]
    colors = avatar_colors(posed, camera).float()
    rc, ra, meta = rasterization(g.means.float(), g.quats.float(), g.scales.float(), g.opacities.float(), colors,
                                 viewmat, K, camera.width, camera.height, backgrounds=bg.float()[None],
                                 render_mode="RGB+ED", packed=False)
    means2d = meta["means2d"]  # (1, N, 2) pixels
    if means2d.requires_grad:
        means2d.retain_grad()
    return AvatarRender(rgb=rc[0, ..., :3], alpha=ra[0, ..., 0], depth=rc[0, ..., 3], means2d=means2d)


# ---------------------------------------------------------------------------
# Motions


def check_motion(motion: object) -> None:
    """Raise :class:`InputError` unless ``motion`` is a canonical 22-joint humokit motion."""
    from humokit.motion.motion import Motion

    if not isinstance(motion, Motion):
        raise InputError(f"avatar: expected a humokit Motion, got {type(motion).__name__}")
    names = tuple(motion.skeleton.names)
    parents = tuple(int(p) for p in motion.skeleton.parents)
    if names != tuple(JOINT_NAMES) or parents != tuple(PARENTS):
        raise InputError(
            "avatar: the motion's skeleton is not humokit's canonical 22-joint body "
            f"(joints {names[:3]}...); retarget it first (humokit.motion.retarget)"
        )
    if motion.num_frames == 0:
        raise InputError("avatar: the motion has no frames")


def motion_root_scale(avatar: GaussianAvatar, motion: object) -> float:
    """Factor for the motion's root trajectory so the avatar's feet stay on its ground (pelvis height ratio)."""
    h_a = -avatar.rest.skeleton.floor_height()
    h_m = -motion.skeleton.floor_height()  # type: ignore[attr-defined]
    return float(h_a / h_m) if h_m > 1e-6 else 1.0


def motion_vertices(avatar: GaussianAvatar, motion: object, *, root_scale: float | str = "auto") -> torch.Tensor:
    """``(T, V, 3)`` posed avatar mesh for every frame of a canonical motion."""
    check_motion(motion)
    s = motion_root_scale(avatar, motion) if root_scale == "auto" else float(root_scale)
    R = torch.from_numpy(motion.rotations).to(torch.float32)  # type: ignore[attr-defined]
    root = torch.from_numpy(motion.root_position).to(torch.float32) * s  # type: ignore[attr-defined]
    with torch.no_grad():
        return pose_rest_body(avatar.rest, R, root).vertices


def posed_frames(avatar: GaussianAvatar, motion: object, *, root_scale: float | str = "auto") -> Iterator[PosedAvatar]:
    """The posed avatar for each frame of ``motion`` (no gradients)."""
    V = motion_vertices(avatar, motion, root_scale=root_scale)
    R = torch.from_numpy(motion.rotations).to(torch.float32)  # type: ignore[attr-defined]
    with torch.no_grad():
        for t in range(V.shape[0]):
            yield pose_on_mesh(avatar, V[t], R[t])


def avatar_splats_per_frame(avatar: GaussianAvatar, motion: object, *, every: int = 1) -> list:
    """Viewer splats (:class:`humokit.render.splats.GaussianSplats`) for frames ``0, every, 2 every, ...``.

    For ``humokit view --avatar DIR MOTION``: pass each to ``ViewerApp.add_splats``
    (colours are the degree-0 SH; world axes, metres).
    """
    from humokit.render.gaussians import covariances
    from humokit.render.splats import GaussianSplats

    if every < 1:
        raise InputError(f"avatar: every must be >= 1, got {every}")
    out = []
    rgb = torch.clamp(avatar.sh[:, 0] * SH_C0 + 0.5, 0.0, 1.0).detach().numpy().astype(np.float32)
    op = torch.sigmoid(avatar.opacity_logits).detach().numpy().astype(np.float32)[:, None]
    for t, pa in enumerate(posed_frames(avatar, motion)):
        if t % every:
            continue
        g = pa.gaussians
        out.append(GaussianSplats(centers=g.means.numpy().astype(np.float32),
                                  covariances=covariances(g.quats, g.scales).numpy().astype(np.float32),
                                  rgbs=rgb, opacities=op))
    return out


# ---------------------------------------------------------------------------
# Files


def save_avatar(avatar: GaussianAvatar, folder: str | Path) -> dict[str, Path]:
    """Write ``avatar.ply``, ``skinning.npz`` and ``avatar.json`` into ``folder`` (atomic per file)."""
    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    a = avatar.detach()
    save_ply(out / "avatar.ply", canonical_gaussians(a))
    rest = a.rest
    arrays = {
        "version": np.array(SKINNING_VERSION),
        "weights": a.weights.numpy().astype(np.float32),
        "face_ids": a.face_ids.numpy().astype(np.int64),
        "bary": a.bary.numpy().astype(np.float32),
        "rest_vertices": rest.vertices.detach().numpy().astype(np.float32),
        "faces": rest.faces.numpy().astype(np.int64),
        "vertex_weights": rest.weights.detach().numpy().astype(np.float32),
        "joints_rest": rest.joints.detach().numpy().astype(np.float32),
        "R_rest_to_canonical": rest.R_rest_to_canonical.detach().numpy().astype(np.float32),
        "skeleton_offsets": np.asarray(rest.skeleton.offsets, dtype=np.float64),
        "parents": np.asarray(rest.skeleton.parents, dtype=np.int64),
        "joint_names": np.array(list(rest.skeleton.names)),
    }
    if a.correction is not None:
        arrays.update({f"correction_{k}": v.numpy().astype(np.float32) for k, v in a.correction.tensors().items()})
    with atomic_path(out / "skinning.npz") as tmp:
        np.savez_compressed(tmp, **arrays)
    info = {
        "format": "humokit gaussian avatar", "version": SKINNING_VERSION,
        "num_gaussians": a.num_gaussians, "sh_degree": a.sh_degree,
        "pose_correction": a.correction is not None, **a.meta,
    }
    with atomic_path(out / "avatar.json") as tmp:
        tmp.write_text(json.dumps(info, indent=1, default=float))
    return {"ply": out / "avatar.ply", "skinning": out / "skinning.npz", "info": out / "avatar.json"}


def load_avatar(folder: str | Path) -> GaussianAvatar:
    """Read an avatar folder written by :func:`save_avatar`.

    Raises:
        FileFormatError: missing or inconsistent files.
    """
    d = Path(folder)
    for name in ("avatar.ply", "skinning.npz"):
        if not (d / name).exists():
            raise FileFormatError(d / name, "missing: not a humokit avatar folder (expected avatar.ply + skinning.npz)")
    g = load_ply(d / "avatar.ply")
    try:
        z = read_npz(d / "skinning.npz")
    except FileFormatError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise FileFormatError(d / "skinning.npz", f"unreadable ({exc})") from None
    missing = [k for k in SKINNING_KEYS if k not in z]
    if missing:
        raise FileFormatError(d / "skinning.npz", f"missing {', '.join(missing)}")
    if int(z["version"]) > SKINNING_VERSION:
        raise FileFormatError(d / "skinning.npz", f"version {int(z['version'])} is newer than this humokit")
    N = int(z["face_ids"].shape[0])
    if len(g) != N:
        raise FileFormatError(d / "skinning.npz", f"{N} Gaussians but avatar.ply has {len(g)}")
    f = lambda k: torch.from_numpy(np.ascontiguousarray(z[k])).to(torch.float32)  # noqa: E731
    skel = Skeleton(tuple(str(n) for n in z["joint_names"]), tuple(int(p) for p in z["parents"]),
                    np.asarray(z["skeleton_offsets"], dtype=np.float64))
    rest = RestBody(vertices=f("rest_vertices"), faces=torch.from_numpy(z["faces"]).to(torch.int64),
                    joints=f("joints_rest"), weights=f("vertex_weights"), R_rest_to_canonical=f("R_rest_to_canonical"),
                    skeleton=skel)
    fid = torch.from_numpy(z["face_ids"]).to(torch.int64)
    bary = f("bary")
    tri = rest.vertices[rest.faces[fid]]
    R0 = face_frames(tri)
    base = torch.einsum("nk,nkc->nc", bary, tri)
    offsets = (R0.transpose(1, 2) @ (g.means - base)[..., None])[..., 0]
    quats = rotmat_to_quat_wxyz(R0.transpose(1, 2).double() @ quat_to_rotmat(g.quats).double()).float()
    op = g.opacities.clamp(1e-6, 1 - 1e-6)
    corr = None
    if "correction_basis" in z:
        corr = PoseCorrection(**{k: f(f"correction_{k}") for k in ("W1", "b1", "W2", "b2", "basis")})
    meta = {}
    if (d / "avatar.json").exists():
        info = json.loads((d / "avatar.json").read_text())
        meta = {k: v for k, v in info.items() if k not in ("format", "version", "num_gaussians", "sh_degree", "pose_correction")}
    return GaussianAvatar(rest=rest, face_ids=fid, bary=bary, offsets=offsets, quats=quats,
                          log_scales=torch.log(g.scales), opacity_logits=torch.log(op / (1 - op)), sh=g.sh,
                          correction=corr, meta=meta)
