"""Camera conditioning for camera-controlled video models, from humokit's OpenCV cameras.

humokit's cameras (:mod:`humokit.render.camera`, ``cameras.json`` written by
``humokit render`` and ``humokit dataset multiview``) are OpenCV pinholes:
camera axes x right, y down, z forward; ``X_cam = R X_world + t``
(world-to-camera, "w2c"); pixel centres at ``+0.5``. Video models want
cameras *relative to a reference* (the first view, or a moving camera's first
frame) in one of three forms, built here:

- :func:`relative_extrinsics`: 12 numbers per camera, the 3x4 ``[R | t]``
  flattened row by row (SynCamMaster / ReCamMaster). ``convention="c2w"``
  (default; what the adapter of :mod:`humokit.video.syncam` takes) gives
  ``T_ref_cam = T_world_ref^-1 T_world_cam``, i.e. the camera's axes and centre
  expressed in the reference camera's frame; ``"w2c"`` gives its inverse. The
  reference is exactly ``[I | 0]``. Translations are divided by the scene
  scale (default: the largest camera distance from the reference, so it
  becomes 1; or a given length in metres).
- :func:`plucker_cameractrl`: CameraCtrl's Plücker map ``[o x d, d]`` per
  pixel (6 channels), ``d`` the unit ray through the pixel centre, ``o`` the
  camera centre, both in the reference (first) camera's frame.
- :func:`raymap_sana`: ray map ``[d, o x d]`` in the same frame plus the
  normalised intrinsics ``(fx/W, fy/H, cx/W, cy/H)`` per camera (SANA-WM).

The inverses (:func:`absolute_from_relative`, :func:`cameras_from_rays`)
recover the cameras and make the conventions testable by round trips.

Glossary: ``E`` ``(..., 3, 4)`` world-to-camera ``[R | t]``; ``T_a_b``
``(4, 4)`` maps frame ``b`` coordinates to frame ``a``; "reference" = the
camera whose frame becomes the world.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np

from humokit.errors import FileFormatError, InputError
from humokit.render.camera import Camera, CameraTrajectory

Convention = Literal["c2w", "w2c"]


def _c2w(traj: CameraTrajectory) -> np.ndarray:
    """``(T, 4, 4)`` camera-to-world of every camera."""
    M = np.tile(np.eye(4), (len(traj), 1, 1))
    M[:, :3, :3] = np.swapaxes(traj.R, 1, 2)
    M[:, :3, 3] = traj.centers
    return M


def _flatten(views: CameraTrajectory | Sequence[CameraTrajectory]) -> tuple[list[CameraTrajectory], np.ndarray]:
    """Views as a list and all their ``(V*T, 4, 4)`` camera-to-world matrices (view-major)."""
    vs = [views] if isinstance(views, CameraTrajectory) else list(views)
    if not vs:
        raise InputError("cameras: no views")
    return vs, np.concatenate([_c2w(v) for v in vs])


def scene_scale(views: CameraTrajectory | Sequence[CameraTrajectory], reference: Camera | None = None) -> float:
    """Largest distance (metres) of any camera centre from the reference camera (view 0, frame 0); 1 if all coincide."""
    vs, M = _flatten(views)
    ref = vs[0][0] if reference is None else reference
    d = float(np.linalg.norm(M[:, :3, 3] - ref.center, axis=1).max())
    return d if d > 1e-9 else 1.0


def relative_extrinsics(
    views: CameraTrajectory | Sequence[CameraTrajectory],
    *,
    reference: Camera | None = None,
    convention: Convention = "c2w",
    scale: float | None = None,
) -> np.ndarray:
    """12-number relative extrinsics of every camera of every view.

    Args:
        views: one trajectory (a moving camera) or several (one per view), each
            with one camera per frame.
        reference: camera whose frame becomes the world (default: view 0's
            first camera, which then reads exactly ``[I | 0]``).
        convention: ``"c2w"`` (reference-from-camera, default) or ``"w2c"``.
        scale: metres per unit of the output translation (default
            :func:`scene_scale`: the farthest camera is at distance 1).
    Returns:
        ``(V, T, 12)`` float64 (``(T, 12)`` for a single trajectory):
        ``[R | t]`` row by row.
    """
    single = isinstance(views, CameraTrajectory)
    vs, M = _flatten(views)
    ref = vs[0][0] if reference is None else reference
    s = scene_scale(vs, ref) if scale is None else float(scale)
    if not s > 0:
        raise InputError(f"relative_extrinsics: scale must be positive, got {scale}")
    if convention not in ("c2w", "w2c"):
        raise InputError(f"relative_extrinsics: convention must be 'c2w' or 'w2c', got {convention!r}")
    rel = np.linalg.inv(ref.camera_to_world) @ M  # T_ref_cam
    if convention == "w2c":
        rel = np.linalg.inv(rel)
    rel[:, :3, 3] /= s
    out = rel[:, :3, :4].reshape(len(vs), len(vs[0]), 12)
    return out[0] if single else out


def absolute_from_relative(
    rel: np.ndarray,
    reference: Camera,
    *,
    convention: Convention = "c2w",
    scale: float = 1.0,
) -> CameraTrajectory:
    """Inverse of :func:`relative_extrinsics` for one view: ``(T, 12)`` back to world cameras with ``reference``'s intrinsics."""
    rel = np.asarray(rel, dtype=np.float64)
    if rel.ndim != 2 or rel.shape[1] != 12:
        raise InputError(f"absolute_from_relative: expected (T, 12), got {rel.shape}")
    T = np.tile(np.eye(4), (len(rel), 1, 1))
    T[:, :3, :4] = rel.reshape(-1, 3, 4)
    T[:, :3, 3] *= scale
    if convention == "w2c":
        T = np.linalg.inv(T)
    c2w = reference.camera_to_world @ T
    R = np.swapaxes(c2w[:, :3, :3], 1, 2)
    t = -np.einsum("tij,tj->ti", R, c2w[:, :3, 3])
    K = np.repeat(reference.K[None], len(rel), axis=0)
    return CameraTrajectory(K, R, t, reference.width, reference.height)


def _rays(traj: CameraTrajectory, reference: Camera | None) -> tuple[np.ndarray, np.ndarray]:
    """Unit ray directions ``(T, H, W, 3)`` through pixel centres and origins ``(T, 3)`` in the reference frame."""
    ref = traj[0] if reference is None else reference
    T_ref_cam = np.linalg.inv(ref.camera_to_world) @ _c2w(traj)
    W, H = traj.width, traj.height
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    pix = np.stack([u, v, np.ones_like(u)], axis=-1)  # (H, W, 3)
    d_cam = np.einsum("tij,hwj->thwi", np.linalg.inv(traj.K), pix)
    d = np.einsum("tij,thwj->thwi", T_ref_cam[:, :3, :3], d_cam)
    d /= np.linalg.norm(d, axis=-1, keepdims=True)
    return d, T_ref_cam[:, :3, 3]


def plucker_cameractrl(traj: CameraTrajectory, *, reference: Camera | None = None) -> np.ndarray:
    """CameraCtrl's Plücker map: ``(T, 6, H, W)`` float32, channels ``[o x d, d]``.

    ``d``: unit direction through each pixel centre ``(col + 0.5, row + 0.5)``;
    ``o``: camera centre; both in the reference camera's frame (default: the
    trajectory's first camera, whose ``o`` is then 0). Translation is not
    rescaled (metres).
    """
    d, o = _rays(traj, reference)
    m = np.cross(np.broadcast_to(o[:, None, None], d.shape), d)
    return np.concatenate([m, d], axis=-1).transpose(0, 3, 1, 2).astype(np.float32)


@dataclass(frozen=True)
class RayMap:
    """SANA-WM style camera input.

    Attributes:
        rays: ``(T, 6, H, W)`` float32, channels ``[d, o x d]`` in the first camera's frame.
        intrinsics: ``(T, 4)`` float32 ``(fx / W, fy / H, cx / W, cy / H)``.
    """

    rays: np.ndarray
    intrinsics: np.ndarray


def raymap_sana(traj: CameraTrajectory, *, reference: Camera | None = None) -> RayMap:
    """Ray map ``[d, o x d]`` (see :func:`plucker_cameractrl` for ``d``, ``o``) plus normalised intrinsics."""
    d, o = _rays(traj, reference)
    m = np.cross(np.broadcast_to(o[:, None, None], d.shape), d)
    rays = np.concatenate([d, m], axis=-1).transpose(0, 3, 1, 2).astype(np.float32)
    K = traj.K
    intr = np.stack([K[:, 0, 0] / traj.width, K[:, 1, 1] / traj.height,
                     K[:, 0, 2] / traj.width, K[:, 1, 2] / traj.height], axis=1)
    return RayMap(rays, intr.astype(np.float32))


def cameras_from_rays(
    rays: np.ndarray,
    *,
    layout: Literal["cameractrl", "sana"] = "cameractrl",
) -> CameraTrajectory:
    """Recover pinhole cameras (in the rays' frame) from Plücker / ray maps ``(T, 6, H, W)``.

    Origins come from the moments (least squares on ``[d]_x o = -m``), and
    ``K`` and ``R`` from a direct linear fit of ``d ~ R^T K^-1 [u, v, 1]`` over
    the pixel centres followed by an RQ decomposition.
    """
    import scipy.linalg

    rays = np.asarray(rays, dtype=np.float64)
    if rays.ndim != 4 or rays.shape[1] != 6:
        raise InputError(f"cameras_from_rays: expected (T, 6, H, W), got {rays.shape}")
    T, _, H, W = rays.shape
    m, d = (rays[:, :3], rays[:, 3:]) if layout == "cameractrl" else (rays[:, 3:], rays[:, :3])
    d = d.reshape(T, 3, -1).transpose(0, 2, 1)  # (T, N, 3)
    m = m.reshape(T, 3, -1).transpose(0, 2, 1)
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    p = np.stack([u.ravel(), v.ravel(), np.ones(u.size)], axis=1)  # (N, 3)
    Ks, Rs, ts = [], [], []
    for i in range(T):
        di = d[i] / np.linalg.norm(d[i], axis=1, keepdims=True)
        # A = -[d]_x, so A o = o x d = m
        A = np.zeros((len(di), 3, 3))
        A[:, 0, 1], A[:, 0, 2], A[:, 1, 0] = di[:, 2], -di[:, 1], -di[:, 2]
        A[:, 1, 2], A[:, 2, 0], A[:, 2, 1] = di[:, 0], di[:, 1], -di[:, 0]
        o = np.linalg.lstsq(A.reshape(-1, 3), m[i].reshape(-1), rcond=None)[0]
        # d x (M p) = 0 for M = R_c2w K^-1: linear in vec(M)
        rows = np.einsum("nab,nc->nabc", A, p).reshape(-1, 9)  # A M p with M row-major
        M = np.linalg.svd(rows)[2][-1].reshape(3, 3)
        if np.einsum("ni,ni->n", (p @ M.T), di).mean() < 0:
            M = -M
        Kinv_R = np.linalg.inv(M)  # = K R_w2c (up to scale)
        K, R = scipy.linalg.rq(Kinv_R)
        S = np.diag(np.sign(np.diag(K)))
        K, R = K @ S, S @ R
        K = K / K[2, 2]
        Ks.append(K)
        Rs.append(R)
        ts.append(-R @ o)
    return CameraTrajectory(np.stack(Ks), np.stack(Rs), np.stack(ts), W, H)


# ---------------------------------------------------------------------------
# cameras.json


def load_views(path: str | Path) -> list[CameraTrajectory]:
    """Every view's trajectory from a ``cameras.json`` written by ``humokit render`` or ``humokit dataset multiview``.

    Accepts the multi-view file (``{"views": {"view_00": [frames...]}}``), a
    single view's file (``{"frames": [...]}``) and a list of cameras (each
    ``{K, world_to_camera, width, height}``, one static view each).
    """
    p = Path(path)
    try:
        data = json.loads(p.read_text())
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except (OSError, ValueError) as exc:
        raise FileFormatError(p, f"not a JSON cameras file ({exc})") from None

    def traj(frames: list[dict]) -> CameraTrajectory:
        try:
            K = np.array([f["K"] for f in frames], dtype=np.float64)
            E = np.array([f["world_to_camera"] for f in frames], dtype=np.float64)
            w, h = int(frames[0]["width"]), int(frames[0]["height"])
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise FileFormatError(p, f"camera entries need K, world_to_camera, width, height ({exc})") from None
        if E.shape[1:] == (4, 4):
            E = E[:, :3]
        if E.ndim != 3 or E.shape[1:] != (3, 4):
            raise FileFormatError(p, f"world_to_camera must be 3x4 per camera, got {E.shape[1:]}")
        return CameraTrajectory(K, E[:, :, :3], E[:, :, 3], w, h)

    try:
        if isinstance(data, dict) and isinstance(data.get("views"), dict):
            views = [traj(data["views"][k]) for k in sorted(data["views"])]
        elif isinstance(data, dict) and isinstance(data.get("frames"), list):
            views = [traj(data["frames"])]
        elif isinstance(data, list):
            views = [traj([c]) for c in data]
        else:
            raise FileFormatError(p, "expected 'views', 'frames' or a list of cameras")
    except InputError as exc:
        if isinstance(exc, FileFormatError):
            raise
        raise FileFormatError(p, str(exc)) from None
    if not views or any(len(v) == 0 for v in views):
        raise FileFormatError(p, "no cameras")
    return views


def latent_frame_cameras(num_frames: int, temporal_stride: int = 4) -> np.ndarray:
    """Video frame index of each latent frame of a ``1 + stride*k`` clip: ``0, stride, 2*stride, ...``."""
    if num_frames < 1 or (num_frames - 1) % temporal_stride:
        raise InputError(f"{num_frames} frames: a clip must have 1 + {temporal_stride}k frames")
    return np.arange(0, num_frames, temporal_stride)


def adapter_cameras(
    views: Sequence[CameraTrajectory],
    num_frames: int,
    *,
    temporal_stride: int = 4,
    scale: float | None = None,
) -> np.ndarray:
    """The adapter's camera input: ``(V, F_latent, 12)`` float32 relative c2w, one 3x4 per latent frame.

    A view with a single camera is static (repeated); a view with
    ``num_frames`` cameras is sampled at every ``temporal_stride``-th frame.
    """
    idx = latent_frame_cameras(num_frames, temporal_stride)
    full = []
    for v in views:
        if len(v) == 1:
            full.append(CameraTrajectory.static(v[0], len(idx)))
        elif len(v) >= num_frames:
            full.append(CameraTrajectory(v.K[idx], v.R[idx], v.t[idx], v.width, v.height))
        else:
            raise InputError(f"cameras: a view has {len(v)} cameras; need 1 (static) or {num_frames} (one per frame)")
    return relative_extrinsics(full, scale=scale).astype(np.float32)
