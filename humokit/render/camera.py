"""Pinhole cameras in one convention, camera layouts and ray maps.

Convention (OpenCV): camera axes **x right, y down, z forward** (the camera
looks along +z). ``R`` and ``t`` map world points to camera points,
``X_cam = R @ X_world + t`` (world-to-camera, a.k.a. extrinsics); the camera
centre in the world is ``C = -R^T t``. World axes are humokit's (Y up, +Z
forward, metres).

Image coordinates ``(u, v)`` are continuous pixels with the image's top-left
corner at ``(0, 0)``; the pixel with integer index ``(col, row)`` covers
``[col, col+1) x [row, row+1)`` and its centre is ``(col + 0.5, row + 0.5)``
(the convention of gsplat, OpenGL and most renderers; classic OpenCV puts the
centre at the integer, i.e. subtract 0.5 to get OpenCV pixel coordinates).
``u = fx * x / z + cx``, ``v = fy * y / z + cy``.

Glossary: ``K`` ``(3, 3)`` intrinsics; ``R`` ``(3, 3)``, ``t`` ``(3,)``
world-to-camera; ``E`` ``(3, 4)`` = ``[R | t]``; ``T_world_cam`` ``(4, 4)``
camera-to-world (its columns are the camera axes and centre in the world).
Other conventions: OpenGL/Blender cameras are x right, **y up, z backward**
(:func:`opencv_to_opengl`); Blender's world is Z up, -Y forward
(:func:`camera_to_world_blender`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch

from humokit.errors import InputError

# OpenCV camera axes -> OpenGL/Blender camera axes (flip y and z).
CV_TO_GL = np.diag([1.0, -1.0, -1.0])
# humokit world (Y up, +Z forward) -> Blender world (Z up, -Y forward): (x, y, z) -> (x, -z, y).
R_WORLD_TO_BLENDER = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0], [0.0, 1.0, 0.0]])
UP = np.array([0.0, 1.0, 0.0])


def _check_size(width: int, height: int) -> tuple[int, int]:
    if int(width) != width or int(height) != height or width <= 0 or height <= 0:
        raise InputError(f"camera: image size must be positive integers, got {width}x{height}")
    return int(width), int(height)


def intrinsics(fov_y_deg: float, width: int, height: int) -> np.ndarray:
    """``(3, 3)`` pinhole K with square pixels, vertical field of view in degrees, centred principal point."""
    width, height = _check_size(width, height)
    if not 0.0 < fov_y_deg < 180.0:
        raise InputError(f"camera: fov_y must be in (0, 180) degrees, got {fov_y_deg}")
    f = 0.5 * height / math.tan(math.radians(fov_y_deg) / 2)
    return np.array([[f, 0.0, width / 2], [0.0, f, height / 2], [0.0, 0.0, 1.0]])


def _check_krt(
    K: object, R: object, t: object, batch: tuple[int, ...], what: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validate intrinsics ``(*batch, 3, 3)``, rotations ``(*batch, 3, 3)`` and translations ``(*batch, 3)``."""
    K = np.asarray(K, dtype=np.float64)
    R = np.asarray(R, dtype=np.float64)
    t = np.asarray(t, dtype=np.float64)
    if K.shape != (*batch, 3, 3) or R.shape != (*batch, 3, 3) or t.shape != (*batch, 3):
        b = "T," if batch else ""
        raise InputError(f"{what}: K, R, t must be ({b}3,3), ({b}3,3), ({b}3,); got {K.shape}, {R.shape}, {t.shape}")
    if not (np.isfinite(K).all() and np.isfinite(R).all() and np.isfinite(t).all()):
        raise InputError(f"{what}: K, R or t contains NaN or inf")
    if R.size and (np.abs(R @ np.swapaxes(R, -1, -2) - np.eye(3)).max() > 1e-4 or (np.linalg.det(R) < 0).any()):
        raise InputError(f"{what}: R is not a rotation matrix")
    if K.size and ((K[..., 0, 0] <= 0).any() or (K[..., 1, 1] <= 0).any()):
        raise InputError(f"{what}: focal lengths must be positive")
    return K, R, t


@dataclass(frozen=True)
class Camera:
    """One pinhole camera (OpenCV convention, see module docstring).

    Attributes:
        K: ``(3, 3)`` intrinsics, pixels.
        R: ``(3, 3)`` world-to-camera rotation.
        t: ``(3,)`` world-to-camera translation, metres.
        width, height: image size in pixels.
    """

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        K, R, t = _check_krt(self.K, self.R, np.asarray(self.t).reshape(-1), (), "camera")
        w, h = _check_size(self.width, self.height)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "width", w)
        object.__setattr__(self, "height", h)

    @property
    def center(self) -> np.ndarray:
        """``(3,)`` camera centre in the world, metres."""
        return -self.R.T @ self.t

    @property
    def extrinsics(self) -> np.ndarray:
        """``(3, 4)`` world-to-camera ``[R | t]``."""
        return np.concatenate([self.R, self.t[:, None]], axis=1)

    @property
    def world_to_camera(self) -> np.ndarray:
        """``(4, 4)`` world-to-camera (gsplat's ``viewmat``)."""
        M = np.eye(4)
        M[:3, :4] = self.extrinsics
        return M

    @property
    def camera_to_world(self) -> np.ndarray:
        """``(4, 4)`` camera-to-world ``T_world_cam`` (OpenCV camera axes)."""
        M = np.eye(4)
        M[:3, :3] = self.R.T
        M[:3, 3] = self.center
        return M

    @property
    def fov_y(self) -> float:
        """Vertical field of view, degrees."""
        return math.degrees(2 * math.atan(0.5 * self.height / self.K[1, 1]))

    def resized(self, width: int, height: int) -> "Camera":
        """Same camera for another image size (intrinsics scaled)."""
        width, height = _check_size(width, height)
        S = np.diag([width / self.width, height / self.height, 1.0])
        return Camera(S @ self.K, self.R, self.t, width, height)

    def to_dict(self) -> dict[str, object]:
        """JSON-ready dict: K, 3x4 world-to-camera, 4x4 camera-to-world, size."""
        return {
            "width": self.width,
            "height": self.height,
            "K": self.K.tolist(),
            "world_to_camera": self.extrinsics.tolist(),
            "camera_to_world": self.camera_to_world.tolist(),
        }


@dataclass(frozen=True)
class CameraTrajectory:
    """Per-frame cameras sharing one image size.

    Attributes:
        K: ``(T, 3, 3)``; R: ``(T, 3, 3)``; t: ``(T, 3)`` (as in :class:`Camera`).
        width, height: image size in pixels.
    """

    K: np.ndarray
    R: np.ndarray
    t: np.ndarray
    width: int
    height: int

    def __post_init__(self) -> None:
        R0 = np.asarray(self.R)
        T = R0.shape[0] if R0.ndim == 3 else -1
        K, R, t = _check_krt(self.K, self.R, self.t, (T,), "camera trajectory")
        w, h = _check_size(self.width, self.height)
        object.__setattr__(self, "K", K)
        object.__setattr__(self, "R", R)
        object.__setattr__(self, "t", t)
        object.__setattr__(self, "width", w)
        object.__setattr__(self, "height", h)

    def __len__(self) -> int:
        return int(self.R.shape[0])

    def __getitem__(self, i: int) -> Camera:
        return Camera(self.K[i], self.R[i], self.t[i], self.width, self.height)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return (self[i] for i in range(len(self)))

    @classmethod
    def from_cameras(cls, cameras: Sequence[Camera]) -> "CameraTrajectory":
        if not cameras:
            raise InputError("camera trajectory: no cameras")
        w, h = cameras[0].width, cameras[0].height
        if any((c.width, c.height) != (w, h) for c in cameras):
            raise InputError("camera trajectory: all cameras must share one image size")
        return cls(np.stack([c.K for c in cameras]), np.stack([c.R for c in cameras]),
                   np.stack([c.t for c in cameras]), w, h)

    @classmethod
    def static(cls, camera: Camera, num_frames: int) -> "CameraTrajectory":
        """The same camera for ``num_frames`` frames."""
        return cls.from_cameras([camera] * int(num_frames))

    @property
    def centers(self) -> np.ndarray:
        """``(T, 3)`` camera centres, metres."""
        return -np.einsum("tji,tj->ti", self.R, self.t)

    def to_dicts(self) -> list[dict[str, object]]:
        return [c.to_dict() for c in self]


# ---------------------------------------------------------------------------
# Conversions


def opencv_to_opengl(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """OpenGL view and projection matrices for a camera.

    Returns:
        ``(view (4, 4), proj (4, 4))``: ``view`` is world-to-camera with GL
        camera axes (x right, y up, z backward); ``proj`` maps to clip space
        with near 0.01 m, far 100 m and the same principal point as ``K``.
    """
    view = np.eye(4)
    view[:3, :3] = CV_TO_GL @ camera.R
    view[:3, 3] = CV_TO_GL @ camera.t
    n, f = 0.01, 100.0
    W, H = camera.width, camera.height
    fx, fy, cx, cy = camera.K[0, 0], camera.K[1, 1], camera.K[0, 2], camera.K[1, 2]
    proj = np.array([
        [2 * fx / W, 0.0, 1.0 - 2 * cx / W, 0.0],
        [0.0, 2 * fy / H, 2 * cy / H - 1.0, 0.0],
        [0.0, 0.0, -(f + n) / (f - n), -2 * f * n / (f - n)],
        [0.0, 0.0, -1.0, 0.0],
    ])
    return view, proj


def camera_to_world_opengl(camera: Camera) -> np.ndarray:
    """``(4, 4)`` camera-to-world with OpenGL camera axes (x right, y up, z back), humokit world."""
    M = camera.camera_to_world.copy()
    M[:3, :3] = M[:3, :3] @ CV_TO_GL
    return M


def camera_to_world_blender(camera: Camera) -> np.ndarray:
    """``(4, 4)`` Blender ``matrix_world`` of the camera (Z-up world, camera looks down its -Z)."""
    M = camera_to_world_opengl(camera)
    out = np.eye(4)
    out[:3, :3] = R_WORLD_TO_BLENDER @ M[:3, :3]
    out[:3, 3] = R_WORLD_TO_BLENDER @ M[:3, 3]
    return out


# ---------------------------------------------------------------------------
# Placement


def look_at(
    eye: Sequence[float] | np.ndarray,
    target: Sequence[float] | np.ndarray,
    *,
    up: Sequence[float] | np.ndarray = (0.0, 1.0, 0.0),
    fov_y: float = 45.0,
    width: int = 512,
    height: int = 512,
) -> Camera:
    """A camera at ``eye`` (metres) looking at ``target`` with image-up along ``up``."""
    eye = np.asarray(eye, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    up = np.asarray(up, dtype=np.float64)
    if not (np.isfinite(eye).all() and np.isfinite(target).all()):
        raise InputError("look_at: eye or target is not finite")
    z = target - eye
    if np.linalg.norm(z) < 1e-9:
        raise InputError("look_at: eye and target coincide")
    z = z / np.linalg.norm(z)
    x = np.cross(z, up)
    if np.linalg.norm(x) < 1e-6:  # looking along up: pick any perpendicular
        x = np.cross(z, np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0]))
    x = x / np.linalg.norm(x)
    y = np.cross(z, x)
    R = np.stack([x, y, z])
    return Camera(intrinsics(fov_y, width, height), R, -R @ eye, width, height)


def spherical_eye(target: np.ndarray, radius: float, elevation_deg: float, azimuth_deg: float) -> np.ndarray:
    """Point at ``radius`` from ``target``; azimuth 0 = on +Z (in front of a body facing +Z), 90 = on +X (its left); elevation up from the XZ plane."""
    el, az = math.radians(elevation_deg), math.radians(azimuth_deg)
    d = np.array([math.cos(el) * math.sin(az), math.sin(el), math.cos(el) * math.cos(az)])
    return np.asarray(target, dtype=np.float64) + radius * d


def ring_cameras(
    num: int,
    target: Sequence[float] | np.ndarray,
    *,
    radius: float = 3.0,
    elevation: float = 10.0,
    start_azimuth: float = 0.0,
    fov_y: float = 45.0,
    width: int = 512,
    height: int = 512,
) -> list[Camera]:
    """``num`` cameras evenly spaced in azimuth around ``target`` (degrees, metres)."""
    if num < 1:
        raise InputError(f"ring_cameras: need at least one camera, got {num}")
    t = np.asarray(target, dtype=np.float64)
    return [
        look_at(spherical_eye(t, radius, elevation, start_azimuth + 360.0 * i / num), t,
                fov_y=fov_y, width=width, height=height)
        for i in range(num)
    ]


def orbit(
    num: int,
    target: Sequence[float] | np.ndarray,
    *,
    radius: float = 3.0,
    elevation: float = 10.0,
    start_azimuth: float = 0.0,
    degrees: float = 360.0,
    fov_y: float = 45.0,
    width: int = 512,
    height: int = 512,
) -> CameraTrajectory:
    """A moving camera orbiting ``target`` by ``degrees`` over ``num`` frames."""
    if num < 1:
        raise InputError(f"orbit: need at least one frame, got {num}")
    t = np.asarray(target, dtype=np.float64)
    steps = np.linspace(0.0, degrees, num, endpoint=degrees % 360.0 != 0.0 or num == 1)
    if degrees % 360.0 == 0.0 and num > 1:
        steps = np.arange(num) * degrees / num
    return CameraTrajectory.from_cameras([
        look_at(spherical_eye(t, radius, elevation, start_azimuth + a), t, fov_y=fov_y, width=width, height=height)
        for a in steps
    ])


def hemisphere_cameras(
    num: int,
    target: Sequence[float] | np.ndarray,
    *,
    radius: tuple[float, float] = (2.5, 3.5),
    elevation: tuple[float, float] = (0.0, 45.0),
    azimuth: tuple[float, float] = (-180.0, 180.0),
    seed: int = 0,
    fov_y: float = 45.0,
    width: int = 512,
    height: int = 512,
) -> list[Camera]:
    """``num`` cameras sampled on a hemisphere shell around ``target`` (seeded, reproducible).

    Radius (metres), elevation and azimuth (degrees) are drawn uniformly from
    their ranges; azimuths are stratified so views spread around the body.
    """
    if num < 1:
        raise InputError(f"hemisphere_cameras: need at least one camera, got {num}")
    for name, (lo, hi) in (("radius", radius), ("elevation", elevation), ("azimuth", azimuth)):
        if hi < lo:
            raise InputError(f"hemisphere_cameras: {name} range ({lo}, {hi}) is reversed")
    if radius[0] <= 0:
        raise InputError("hemisphere_cameras: radius must be positive")
    rng = np.random.default_rng(seed)
    t = np.asarray(target, dtype=np.float64)
    strata = (np.arange(num) + rng.uniform(size=num)) / num
    az = azimuth[0] + (azimuth[1] - azimuth[0]) * strata
    el = rng.uniform(*elevation, size=num)
    r = rng.uniform(*radius, size=num)
    return [look_at(spherical_eye(t, r[i], el[i], az[i]), t, fov_y=fov_y, width=width, height=height) for i in range(num)]


def _rot_y_cam(angle_rad: float) -> np.ndarray:
    c, s = math.cos(angle_rad), math.sin(angle_rad)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def moving_trajectory(
    kind: Literal["dolly", "pan", "orbit", "static"],
    camera: Camera,
    num_frames: int,
    *,
    amount: float | None = None,
    target: Sequence[float] | np.ndarray | None = None,
) -> CameraTrajectory:
    """A camera move starting at ``camera``.

    Args:
        kind: ``"dolly"`` moves along the optical axis by ``amount`` metres
            (default 1.0, positive = towards the scene); ``"pan"`` turns about
            the camera's vertical axis by ``amount`` degrees (default 30,
            positive = to the right); ``"orbit"`` circles ``target`` (default:
            the point 3 m ahead) by ``amount`` degrees (default 90) about the
            world up axis; ``"static"`` repeats the camera.
        num_frames: number of cameras.
    """
    if num_frames < 1:
        raise InputError(f"moving_trajectory: need at least one frame, got {num_frames}")
    s = np.linspace(0.0, 1.0, num_frames)
    cams = []
    if kind == "static":
        return CameraTrajectory.static(camera, num_frames)
    if kind == "dolly":
        a = 1.0 if amount is None else float(amount)
        for si in s:
            cams.append(Camera(camera.K, camera.R, camera.t - np.array([0.0, 0.0, a * si]), camera.width, camera.height))
    elif kind == "pan":
        a = math.radians(30.0 if amount is None else float(amount))
        for si in s:
            Rc = _rot_y_cam(a * si).T  # turning right = rotating the scene left in camera space
            cams.append(Camera(camera.K, Rc @ camera.R, Rc @ camera.t, camera.width, camera.height))
    elif kind == "orbit":
        a = math.radians(90.0 if amount is None else float(amount))
        tgt = camera.center + 3.0 * camera.R[2] if target is None else np.asarray(target, dtype=np.float64)
        for si in s:
            c, sn = math.cos(a * si), math.sin(a * si)
            Ry = np.array([[c, 0.0, sn], [0.0, 1.0, 0.0], [-sn, 0.0, c]])  # world rotation about +Y through tgt
            R_new = camera.R @ Ry.T
            C_new = tgt + Ry @ (camera.center - tgt)
            cams.append(Camera(camera.K, R_new, -R_new @ C_new, camera.width, camera.height))
    else:
        raise InputError(f"moving_trajectory: unknown kind {kind!r}; use dolly, pan, orbit or static")
    return CameraTrajectory.from_cameras(cams)


def add_handheld_noise(
    traj: CameraTrajectory,
    *,
    translation_std: float = 0.01,
    rotation_std_deg: float = 0.5,
    smooth: int = 5,
    seed: int = 0,
) -> CameraTrajectory:
    """Add smooth random shake (metres, degrees; moving-average window ``smooth`` frames) to camera poses."""
    from humokit.motion.rotations import rotvec_to_rotmat

    rng = np.random.default_rng(seed)
    T = len(traj)
    k = max(1, int(smooth))

    def smooth_noise(std: float) -> np.ndarray:
        n = rng.normal(size=(T + k - 1, 3))
        kernel = np.ones(k) / math.sqrt(k)
        return std * np.stack([np.convolve(n[:, i], kernel, mode="valid") for i in range(3)], axis=1)

    dt = smooth_noise(translation_std)
    dr = smooth_noise(math.radians(rotation_std_deg))
    dR = np.asarray(rotvec_to_rotmat(dr), dtype=np.float64)
    C = traj.centers + dt
    R = np.einsum("tij,tjk->tik", dR, traj.R)
    return CameraTrajectory(traj.K, R, -np.einsum("tij,tj->ti", R, C), traj.width, traj.height)


def relative_to_reference(
    traj: CameraTrajectory,
    reference: Camera | int = 0,
    *,
    normalize_scale: bool = False,
) -> CameraTrajectory:
    """Express extrinsics relative to a reference camera (it becomes ``[I | 0]``).

    ``E_i' = E_i @ E_ref^{-1}`` so world points are now in the reference camera's
    frame. With ``normalize_scale`` the translations are divided by the largest
    camera distance from the reference (so it becomes 1), as camera-controlled
    video models often expect.
    """
    ref = traj[reference] if isinstance(reference, int) else reference
    R = np.einsum("tij,kj->tik", traj.R, ref.R)
    t = traj.t - np.einsum("tij,j->ti", R, ref.t)
    if normalize_scale:
        C = -np.einsum("tji,tj->ti", R, t)
        s = np.linalg.norm(C, axis=1).max()
        if s > 1e-9:
            t = t / s
    return CameraTrajectory(traj.K, R, t, traj.width, traj.height)


# ---------------------------------------------------------------------------
# Projection and rays


def project(camera: Camera, points: np.ndarray | torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    """Project world points.

    Args:
        points: ``(..., 3)`` world points, metres.
    Returns:
        ``(uv (..., 2) pixels, depth (...,) metres along camera z)``; points
        with depth <= 0 get NaN ``uv``.
    """
    X = np.asarray(points.detach().cpu().numpy() if isinstance(points, torch.Tensor) else points, dtype=np.float64)
    if X.shape[-1] != 3:
        raise InputError(f"project: points must have shape (..., 3), got {X.shape}")
    Xc = X @ camera.R.T + camera.t
    z = Xc[..., 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = (Xc @ camera.K.T)[..., :2] / z[..., None]
    uv[z <= 0] = np.nan
    return uv, z


def unproject(camera: Camera, uv: np.ndarray, depth: np.ndarray) -> np.ndarray:
    """World points ``(..., 3)`` at pixels ``uv`` ``(..., 2)`` and camera-z ``depth`` ``(...,)`` metres."""
    uv = np.asarray(uv, dtype=np.float64)
    depth = np.asarray(depth, dtype=np.float64)
    ones = np.ones(uv.shape[:-1] + (1,))
    rays = np.concatenate([uv, ones], axis=-1) @ np.linalg.inv(camera.K).T
    Xc = rays * depth[..., None]
    return (Xc - camera.t) @ camera.R


def pixel_rays(camera: Camera) -> tuple[np.ndarray, np.ndarray]:
    """Unit world ray directions through every pixel centre and the ray origin.

    Returns:
        ``(d (H, W, 3) unit, o (3,) camera centre)``.
    """
    W, H = camera.width, camera.height
    u, v = np.meshgrid(np.arange(W) + 0.5, np.arange(H) + 0.5)
    rays = np.stack([u, v, np.ones_like(u)], axis=-1) @ np.linalg.inv(camera.K).T @ camera.R
    return rays / np.linalg.norm(rays, axis=-1, keepdims=True), camera.center


def plucker_rays(camera: Camera) -> np.ndarray:
    """``(6, H, W)`` float32 Plücker ray map ``(d, o x d)``: unit world direction and moment."""
    d, o = pixel_rays(camera)
    m = np.cross(np.broadcast_to(o, d.shape), d)
    return np.concatenate([d, m], axis=-1).transpose(2, 0, 1).astype(np.float32)


def fit_distance(radius: float, camera_fov_y: float, width: int, height: int, margin: float = 1.15) -> float:
    """Distance at which a sphere of ``radius`` metres fills the narrower field of view (with ``margin``)."""
    half_y = math.radians(camera_fov_y) / 2
    half_x = math.atan(math.tan(half_y) * width / height)
    half = min(half_x, half_y)
    return margin * radius / math.sin(half)
