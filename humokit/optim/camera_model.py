"""The static, gravity-aligned camera of a recovered scene, and small geometric solvers.

World frame of a recovery: humokit axes (Y up, +Z forward, metres), ground
plane ``y = 0``. The camera has no yaw (its optical axis projected on the
ground is world +Z); it is described by ``pitch`` (radians, > 0 looking
down), ``roll`` (radians) and its centre ``C`` in the world. Its
world-to-camera rotation (OpenCV camera axes, see
:mod:`humokit.render.camera`) is ``R = Rz(roll) @ Rx(pitch) @ diag(-1, -1, 1)``,
so world up expressed in camera axes is ``(sin r cos p, -cos r cos p, -sin p)``.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from humokit.render.camera import Camera

_BASE = np.diag([-1.0, -1.0, 1.0])


def camera_rotation(pitch: torch.Tensor, roll: torch.Tensor) -> torch.Tensor:
    """World-to-camera rotation ``(3, 3)`` for scalar tensors ``pitch``, ``roll`` (radians), differentiable."""
    cp, sp, cr, sr = torch.cos(pitch), torch.sin(pitch), torch.cos(roll), torch.sin(roll)
    one, zero = torch.ones_like(cp), torch.zeros_like(cp)
    Rx = torch.stack([torch.stack([one, zero, zero]), torch.stack([zero, cp, -sp]), torch.stack([zero, sp, cp])])
    Rz = torch.stack([torch.stack([cr, -sr, zero]), torch.stack([sr, cr, zero]), torch.stack([zero, zero, one])])
    return Rz @ Rx @ torch.as_tensor(_BASE, dtype=cp.dtype)


def pitch_roll_from_up(up_cam: np.ndarray) -> tuple[float, float]:
    """``(pitch, roll)`` radians of a camera that sees world up along ``up_cam`` ``(3,)`` (camera axes)."""
    u = np.asarray(up_cam, dtype=np.float64)
    u = u / max(np.linalg.norm(u), 1e-12)
    return float(math.asin(float(np.clip(-u[2], -1.0, 1.0)))), float(math.atan2(u[0], -u[1]))


def intrinsics_matrix(width: int, height: int, focal: float | None = None) -> np.ndarray:
    """``(3, 3)`` K with focal ``focal`` pixels (default ``max(width, height)``) and centred principal point."""
    f = float(focal) if focal else float(max(width, height))
    return np.array([[f, 0.0, width / 2.0], [0.0, f, height / 2.0], [0.0, 0.0, 1.0]])


def make_camera(K: np.ndarray, pitch: float, roll: float, center: np.ndarray, width: int, height: int) -> Camera:
    """The :class:`~humokit.render.camera.Camera` for these parameters."""
    R = camera_rotation(torch.tensor(float(pitch), dtype=torch.float64), torch.tensor(float(roll), dtype=torch.float64)).numpy()
    C = np.asarray(center, dtype=np.float64)
    return Camera(K, R, -R @ C, width, height)


def project_torch(X_world: torch.Tensor, R: torch.Tensor, C: torch.Tensor, K: torch.Tensor, min_depth: float = 0.05) -> torch.Tensor:
    """Pixels ``(..., 2)`` of world points ``(..., 3)``; depth clamped to ``min_depth`` metres (keeps gradients finite)."""
    Xc = (X_world - C) @ R.T
    z = Xc[..., 2:3].clamp_min(min_depth)
    return torch.cat([K[0, 0] * Xc[..., 0:1] / z + K[0, 2], K[1, 1] * Xc[..., 1:2] / z + K[1, 2]], dim=-1)


def solve_translation(points: np.ndarray, uv: np.ndarray, weight: np.ndarray, K: np.ndarray, min_depth: float = 0.3) -> np.ndarray:
    """Per-frame translation placing body-relative 3D points so they project onto ``uv``.

    Solves the linear perspective equations ``(u - cx) (Z + tz) = fx (X + tx)``
    (and the same for v) by weighted least squares.

    Args:
        points: ``(T, K, 3)`` camera-axis points relative to the body, metres.
        uv: ``(T, K, 2)`` pixels; weight: ``(T, K)``.
    Returns:
        ``(T, 3)`` translations (camera axes, metres); depth at least ``min_depth``.
        Frames with too little support copy their neighbours.
    """
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    T = points.shape[0]
    out = np.full((T, 3), np.nan)
    for t in range(T):
        w = np.nan_to_num(weight[t])
        ok = (w > 0.05) & np.isfinite(uv[t]).all(-1) & np.isfinite(points[t]).all(-1)
        if ok.sum() < 3:
            continue
        X, Y, Z = points[t, ok, 0], points[t, ok, 1], points[t, ok, 2]
        du, dv = uv[t, ok, 0] - cx, uv[t, ok, 1] - cy
        n = int(ok.sum())
        A = np.zeros((2 * n, 3))
        b = np.zeros(2 * n)
        A[:n, 0], A[:n, 2], b[:n] = fx, -du, du * Z - fx * X
        A[n:, 1], A[n:, 2], b[n:] = fy, -dv, dv * Z - fy * Y
        sw = np.sqrt(np.concatenate([w[ok], w[ok]]))
        sol, *_ = np.linalg.lstsq(A * sw[:, None], b * sw, rcond=None)
        sol[2] = max(sol[2], min_depth)
        out[t] = sol
    good = np.isfinite(out).all(-1)
    if not good.any():
        out[:] = [0.0, 0.0, 3.0]
        return out
    idx = np.arange(T)
    for d in range(3):
        out[~good, d] = np.interp(idx[~good], idx[good], out[good, d])
    return out


def horizon_from_walk(
    v_foot: np.ndarray,
    v_top: np.ndarray,
    weight: np.ndarray,
    K: np.ndarray,
    top_height: float,
    *,
    min_spread: float = 0.12,
    max_residual: float = 0.03,
) -> tuple[float, float] | None:
    """Camera pitch and height from an upright person seen at several distances on a flat ground.

    An upright body point ``top_height`` metres above the ground (e.g. the mid-shoulder) and the foot on the
    ground, at forward distance ``D`` from a camera ``h`` metres high pitched by ``p``, project to image rows
    ``v = cy + f tan(atan(y / D) - p)`` with ``y = h`` (foot) and ``y = h - top_height`` (top), whatever the
    column. Over frames where the person's image size changes (a walk in depth), the rows of both points fix
    ``p`` and ``h``: a least-squares fit over ``(p, h, D_t)``, started from the linear model
    ``v_foot = v_horizon + (h / top_height) (v_foot - v_top)``.

    Args:
        v_foot, v_top: ``(T,)`` image rows (pixels) of the ground point and the upright point.
        weight: ``(T,)`` frame weights (0 = unused).
        K: ``(3, 3)`` intrinsics.
        min_spread: the person's image height must vary by at least this fraction (std / mean).
        max_residual: the fit's RMS row residual, as a fraction of the mean image height, must stay below this.
    Returns:
        ``(pitch radians, camera height metres)`` or None when the clip does not constrain them (a person who
        stays at one distance, bending poses, a poor fit).
    """
    from scipy.optimize import least_squares

    f, cy = float(K[1, 1]), float(K[1, 2])
    ok = (weight > 0) & np.isfinite(v_foot) & np.isfinite(v_top) & (v_foot - v_top > 4.0)
    if ok.sum() < 10:
        return None
    vf, vt, w = v_foot[ok], v_top[ok], np.sqrt(weight[ok])
    dv = vf - vt
    if dv.std() / dv.mean() < min_spread:
        return None
    A = np.stack([np.ones_like(dv), dv], 1)
    a, b = np.linalg.lstsq(A * w[:, None], vf * w, rcond=None)[0]
    if not b > 0:
        return None
    p0 = math.atan((cy - a) / f)
    h0 = b * top_height
    D0 = np.clip(f * h0 / np.maximum(vf - a, 1.0), 0.5, 500.0)

    def resid(x: np.ndarray) -> np.ndarray:
        p, h, D = x[0], x[1], x[2:]
        pf = cy + f * np.tan(np.arctan(h / D) - p)
        pt = cy + f * np.tan(np.arctan((h - top_height) / D) - p)
        return np.concatenate([(pf - vf) * w, (pt - vt) * w])

    x0 = np.concatenate([[p0, max(h0, 0.1)], D0])
    lo = np.concatenate([[-1.2, 0.05], np.full(len(D0), 0.3)])
    hi = np.concatenate([[1.2, 100.0], np.full(len(D0), 1000.0)])
    sol = least_squares(resid, np.clip(x0, lo + 1e-6, hi - 1e-6), bounds=(lo, hi))
    rms = float(np.sqrt(np.mean((sol.fun / np.concatenate([w, w])) ** 2)))
    if not sol.success or rms > max_residual * float(dv.mean()):
        return None
    return float(sol.x[0]), float(sol.x[1])
