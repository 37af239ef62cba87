"""Pure numpy helpers for the viewer: skinning bones, skeleton lines, contacts, cameras.

No viser here, so everything is testable without a server. World convention:
**Y up, +Z forward, metres**; quaternions are ``wxyz`` (viser's order).

Glossary: ``R_world`` ``(T, J, 3, 3)`` joint-to-world rotations of a posed
body; ``C`` ``(J, 3, 3)`` rotations taking the mesh's rest pose to the
canonical T-pose; ``r`` ``(J, 3)`` rest joint positions of the mesh.

Client-side skinning (three.js, viser ``add_mesh_skinned``) uses flat bones in
the mesh frame: a vertex bound to bone ``j`` goes to
``T_j(t) @ inv(T_j(bind)) @ v``. With the bind pose ``(I, r_j)`` and the
per-frame bone ``(R_world_j C_j, p_j)`` that is ``R_world_j C_j (v - r_j) + p_j``,
exactly humokit's LBS (:func:`humokit.body.skinning.skinning_transforms`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from humokit.errors import InputError
from humokit.motion.skeleton import PARENTS

CameraPreset = Literal["front", "side", "top", "follow", "three_quarter"]


def rotmat_to_wxyz(R: np.ndarray) -> np.ndarray:
    """Rotation matrices ``(..., 3, 3)`` to unit quaternions ``(..., 4)`` wxyz with w >= 0."""
    import roma
    import torch

    q = roma.rotmat_to_unitquat(torch.as_tensor(np.asarray(R, dtype=np.float64))).numpy()  # xyzw
    wxyz = np.concatenate([q[..., 3:], q[..., :3]], axis=-1)
    return np.where(wxyz[..., :1] < 0, -wxyz, wxyz)


def skinning_bones(R_world: np.ndarray, joints: np.ndarray, C: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-frame bone poses for client-side skinning.

    Args:
        R_world: ``(T, J, 3, 3)`` posed joint-to-world rotations.
        joints: ``(T, J, 3)`` posed joint positions, metres.
        C: ``(J, 3, 3)`` mesh-rest-to-canonical rotations, or None (identity).
    Returns:
        ``(wxyz (T, J, 4) float32, positions (T, J, 3) float32)``; bind with
        identity rotations at the rest joint positions.
    """
    R_world = np.asarray(R_world, dtype=np.float64)
    joints = np.asarray(joints, dtype=np.float64)
    if R_world.ndim != 4 or R_world.shape[-2:] != (3, 3) or joints.shape != R_world.shape[:-1]:
        raise InputError(f"skinning_bones: expected R_world (T,J,3,3) and joints (T,J,3), got {R_world.shape}, {joints.shape}")
    A = R_world if C is None else R_world @ np.asarray(C, dtype=np.float64)
    return rotmat_to_wxyz(A).astype(np.float32), joints.astype(np.float32)


def top4_weights(weights: np.ndarray) -> np.ndarray:
    """Keep each vertex's 4 largest skinning weights, renormalised (GPU skinning uses 4).

    Args:
        weights: ``(V, J)`` non-negative weights.
    Returns:
        ``(V, J)`` float32 with at most 4 non-zeros per row, rows summing to 1.
    """
    w = np.asarray(weights, dtype=np.float64)
    if w.ndim != 2:
        raise InputError(f"top4_weights: expected (V, J) weights, got {w.shape}")
    if w.shape[1] > 4:
        drop = np.argsort(w, axis=1)[:, :-4]
        w = w.copy()
        np.put_along_axis(w, drop, 0.0, axis=1)
    return (w / np.clip(w.sum(1, keepdims=True), 1e-12, None)).astype(np.float32)


def bone_segments(joints: np.ndarray, parents: tuple[int, ...] = PARENTS) -> np.ndarray:
    """Line segments parent -> child for a skeleton overlay.

    Args:
        joints: ``(..., J, 3)`` joint positions.
    Returns:
        ``(..., J-1, 2, 3)`` segment end points (one per non-root joint).
    """
    joints = np.asarray(joints)
    child = [j for j, p in enumerate(parents) if p >= 0]
    par = [parents[j] for j in child]
    return np.stack([joints[..., par, :], joints[..., child, :]], axis=-2)


@dataclass(frozen=True)
class CameraPose:
    """A viewpoint: camera ``position`` and ``look_at`` target, metres, world frame."""

    position: np.ndarray
    look_at: np.ndarray


def camera_preset(
    preset: CameraPreset,
    points: np.ndarray,
    *,
    fov_deg: float = 50.0,
    margin: float = 1.25,
) -> CameraPose:
    """A camera that frames ``points`` from the front (+Z), side (+X), top or behind-follow.

    Args:
        preset: ``"front"`` looks at the body's face (camera on +Z),
            ``"side"`` from the body's left (+X), ``"top"`` from above,
            ``"follow"`` and ``"three_quarter"`` from the front-left, raised.
        points: ``(N, 3)`` points to frame (e.g. all joints of all frames).
        fov_deg: vertical field of view of the client camera.
        margin: extra room around the points.
    """
    pts = np.asarray(points, dtype=np.float64).reshape(-1, 3)
    if pts.shape[0] == 0 or not np.all(np.isfinite(pts)):
        raise InputError("camera_preset: need finite points to frame")
    lo, hi = pts.min(0), pts.max(0)
    centre = (lo + hi) / 2
    directions = {
        "front": np.array([0.0, 0.15, 1.0]),
        "side": np.array([1.0, 0.15, 0.0]),
        "top": np.array([0.0, 1.0, 0.05]),
        "follow": np.array([0.6, 0.3, 1.0]),
        "three_quarter": np.array([0.6, 0.3, 1.0]),
    }
    if preset not in directions:
        raise InputError(f"camera preset {preset!r}: choose front, side, top, follow or three_quarter")
    d = directions[preset] / np.linalg.norm(directions[preset])
    dist = fit_distance(pts, centre, d, fov_deg=fov_deg, margin=margin)
    return CameraPose(position=centre + dist * d, look_at=centre)


def fit_distance(points: np.ndarray, centre: np.ndarray, direction: np.ndarray, *, fov_deg: float,
                 margin: float = 1.1, min_distance: float = 1.0) -> float:
    """Distance along ``direction`` from ``centre`` at which a camera looking at ``centre`` sees every point.

    Exact pinhole fit: a point ``p`` at height ``y`` and side offset ``x`` in
    the camera's image plane and ``z`` towards the camera needs
    ``dist >= z + margin * max(|x|, |y|) / tan(fov / 2)`` (the vertical field
    of view is used sideways too, i.e. a square or wider window). Points near
    the camera therefore push it back, which a bounding sphere does not (the
    head of the nearest of several bodies was cut off).
    """
    d = np.asarray(direction, dtype=np.float64)
    d = d / np.linalg.norm(d)
    helper = np.array([0.0, 1.0, 0.0]) if abs(d[1]) < 0.99 else np.array([0.0, 0.0, -1.0])
    right = np.cross(helper, d)
    right /= np.linalg.norm(right)
    up = np.cross(d, right)
    rel = np.asarray(points, dtype=np.float64).reshape(-1, 3) - centre
    x, y, z = rel @ right, rel @ up, rel @ d
    t = np.tan(np.deg2rad(fov_deg) / 2)
    need = z + margin * np.maximum(np.abs(x), np.abs(y)) / t
    return float(max(need.max(), min_distance))


def timeline_frame(t: float, fps: float, num_frames: int, *, loop: bool) -> int:
    """Frame index shown at time ``t`` seconds for a clip of ``num_frames`` at ``fps``."""
    if num_frames <= 0:
        return 0
    i = int(np.floor(t * fps + 1e-6))
    return i % num_frames if loop else min(max(i, 0), num_frames - 1)
