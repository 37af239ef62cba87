"""Synthetic ground truth for Gaussian avatars: a textured body filmed by a moving camera.

:func:`pattern_colors` paints a rest body: each body part gets its colour from
:data:`humokit.render.controls.PART_PALETTE`, crossed by white horizontal
stripes (rest-pose height, ``stripe_period`` metres, a third of each period)
and a darker band pattern around the limbs, so both low and high spatial
frequencies must be learned. :func:`synthetic_frames` poses the body with a
motion, films it with :func:`orbit_cameras` (a camera circling the moving
pelvis) and renders unlit albedo (``shade(..., ambient=1)``) with the mesh
rasterizer, giving :class:`~humokit.avatars.fit.AvatarFrames` with exact
poses, cameras and masks.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from humokit.body import RestBody, pose_rest_body
from humokit.errors import InputError
from humokit.render.camera import CameraTrajectory, look_at, spherical_eye


def pattern_colors(rest: RestBody, *, stripe_period: float = 0.1) -> np.ndarray:
    """``(V, 3)`` float32 colours in [0, 1]: part palette x stripes (see the module docstring)."""
    from humokit.render.controls import PART_PALETTE

    if stripe_period <= 0:
        raise InputError(f"pattern: stripe_period must be positive, got {stripe_period}")
    labels = rest.part_labels()
    base = PART_PALETTE[labels].astype(np.float32) / 255.0
    V = rest.vertices.detach().cpu().numpy()
    phase = (V[:, 1] / stripe_period) % 1.0
    white = (phase < 1.0 / 3.0)[:, None]
    ang = np.arctan2(V[:, 0], V[:, 2])
    dark = (np.sin(6 * ang + 8 * V[:, 1]) > 0.6)[:, None]
    col = np.where(white, 0.55 * base + 0.45, base)
    col = np.where(dark & ~white, 0.45 * col, col)
    return np.clip(col, 0.0, 1.0).astype(np.float32)


def orbit_cameras(
    targets: np.ndarray,
    *,
    size: int = 256,
    radius: float = 3.0,
    turns: float = 2.0,
    elevation: tuple[float, float] = (5.0, 25.0),
    fov_y: float = 40.0,
    start_azimuth: float = 0.0,
) -> CameraTrajectory:
    """One camera per target ``(T, 3)`` (metres): circling it ``turns`` times, elevation oscillating in a range."""
    T = targets.shape[0]
    cams = []
    for t in range(T):
        s = t / max(T, 1)
        az = start_azimuth + 360.0 * turns * s
        el = elevation[0] + (elevation[1] - elevation[0]) * 0.5 * (1 - math.cos(2 * math.pi * 3 * s))
        eye = spherical_eye(targets[t], radius, el, az)
        cams.append(look_at(eye, targets[t], fov_y=fov_y, width=size, height=size))
    return CameraTrajectory.from_cameras(cams)


def render_mesh_frames(
    rest: RestBody,
    colors: np.ndarray,
    R_local: np.ndarray,
    root: np.ndarray,
    cameras: CameraTrajectory,
    *,
    background: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> tuple[np.ndarray, np.ndarray]:
    """Unlit renders of the coloured body: ``(images (T, H, W, 3) uint8, masks (T, H, W) float32)``."""
    from humokit.render.raster import rasterize, shade

    R = torch.as_tensor(R_local, dtype=torch.float32)
    rt = torch.as_tensor(root, dtype=torch.float32)
    with torch.no_grad():
        V = pose_rest_body(rest, R, rt).vertices
    cv = torch.as_tensor(colors, dtype=torch.float32)
    imgs, masks = [], []
    for t in range(V.shape[0]):
        r = rasterize(V[t], rest.faces, cameras[t])
        s = shade(r, V[t], rest.faces, cameras[t], vertex_colors=cv, ambient=1.0, background=background)
        imgs.append((s.rgb.numpy() * 255).round().astype(np.uint8))
        masks.append(r.mask.numpy().astype(np.float32))
    return np.stack(imgs), np.stack(masks)


def synthetic_frames(
    rest: RestBody,
    motion: object,
    *,
    colors: np.ndarray | None = None,
    size: int = 256,
    turns: float = 2.0,
    radius: float = 3.0,
    start_azimuth: float = 0.0,
    background: tuple[float, float, float] = (0.0, 0.0, 0.0),
):  # -> AvatarFrames
    """Film ``rest`` (painted with :func:`pattern_colors` unless ``colors``) performing ``motion``."""
    from humokit.avatars.fit import AvatarFrames
    from humokit.avatars.gaussian_avatar import check_motion

    check_motion(motion)
    h_b = -rest.skeleton.floor_height()
    h_m = -motion.skeleton.floor_height()  # type: ignore[attr-defined]
    scale = h_b / h_m if h_m > 1e-6 else 1.0
    R = np.asarray(motion.rotations, dtype=np.float32)  # type: ignore[attr-defined]
    root = (np.asarray(motion.root_position, dtype=np.float64) * scale).astype(np.float32)  # type: ignore[attr-defined]
    cams = orbit_cameras(root.astype(np.float64), size=size, radius=radius, turns=turns, start_azimuth=start_azimuth)
    cols = pattern_colors(rest) if colors is None else colors
    imgs, masks = render_mesh_frames(rest, cols, R, root, cams, background=background)
    return AvatarFrames(imgs, masks, cams, R, root, background)
