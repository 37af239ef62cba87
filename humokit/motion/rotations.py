"""Rotation conversions used across humokit (thin, batched wrappers around ``roma``).

Glossary (source-to-target names, as in fairmotion):

- ``rotmat``: rotation matrices, shape ``(..., 3, 3)``, acting on column vectors.
- ``rot6d``: continuous 6D representation (Zhou et al. 2019): the first two
  *columns* of the rotation matrix concatenated, shape ``(..., 6)``
  (``[R[:,0], R[:,1]]``, the layout HumanML3D uses).
- ``rotvec``: axis-angle, axis times angle in radians, shape ``(..., 3)``.
- ``quat``: unit quaternion, **xyzw** order (roma's), shape ``(..., 4)``.
- ``euler``: angles in radians with an explicit axis order string.

All functions accept any leading batch shape, torch tensors or numpy arrays
(numpy in, numpy out). torch and roma are imported on first use, and Euler
conversions of numpy arrays (BVH files) run on scipy without them, so reading
and writing files starts fast.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import torch


def _is_tensor(x: Any) -> bool:
    """True for a torch tensor (without importing torch when nothing has yet)."""
    mod = sys.modules.get("torch")
    return mod is not None and isinstance(x, mod.Tensor)


def _as_tensor(x: Any) -> tuple[torch.Tensor, bool]:
    import torch

    if isinstance(x, torch.Tensor):
        return x, False
    arr = np.asarray(x)
    dtype = torch.float64 if arr.dtype == np.float64 else torch.float32
    return torch.as_tensor(arr, dtype=dtype), True


def _back(x: torch.Tensor, was_numpy: bool) -> Any:
    return x.detach().cpu().numpy() if was_numpy else x


def rotmat_to_rot6d(R: Any) -> Any:
    """``(..., 3, 3)`` -> ``(..., 6)``: first two columns, column 0 first."""
    import torch
    t, np_in = _as_tensor(R)
    out = torch.cat([t[..., :, 0], t[..., :, 1]], dim=-1)
    return _back(out, np_in)


def rot6d_to_rotmat(d6: Any) -> Any:
    """``(..., 6)`` -> ``(..., 3, 3)`` by Gram-Schmidt (exact inverse on valid input)."""
    import torch
    import roma
    t, np_in = _as_tensor(d6)
    cols = torch.stack([t[..., 0:3], t[..., 3:6]], dim=-1)  # (..., 3, 2)
    return _back(roma.special_gramschmidt(cols), np_in)


def rotvec_to_rotmat(v: Any) -> Any:
    """Axis-angle ``(..., 3)`` (radians) -> ``(..., 3, 3)``."""
    import roma
    t, np_in = _as_tensor(v)
    return _back(roma.rotvec_to_rotmat(t), np_in)


def rotmat_to_rotvec(R: Any) -> Any:
    """``(..., 3, 3)`` -> axis-angle ``(..., 3)`` with angle in ``[0, pi]``."""
    import roma
    t, np_in = _as_tensor(R)
    return _back(roma.rotmat_to_rotvec(t), np_in)


def rotmat_to_quat(R: Any) -> Any:
    """``(..., 3, 3)`` -> unit quaternion xyzw ``(..., 4)``."""
    import roma
    t, np_in = _as_tensor(R)
    return _back(roma.rotmat_to_unitquat(t), np_in)


def quat_to_rotmat(q: Any) -> Any:
    """Unit quaternion xyzw ``(..., 4)`` -> ``(..., 3, 3)`` (normalised first)."""
    import roma
    t, np_in = _as_tensor(q)
    t = t / t.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return _back(roma.unitquat_to_rotmat(t), np_in)


def euler_to_rotmat(angles: Any, order: str, *, degrees: bool = False) -> Any:
    """Euler angles ``(..., 3)`` -> ``(..., 3, 3)``.

    ``order`` uses roma's convention: upper case for intrinsic rotations
    (``"ZXY"`` = rotate about Z, then the new X, then the new Y, i.e.
    ``R = Rz @ Rx @ Ry``, the BVH convention), lower case for extrinsic.
    """
    if not _is_tensor(angles) and _tait_bryan(order):
        return _euler_to_rotmat_np(np.asarray(angles), order, degrees)
    import roma
    t, np_in = _as_tensor(angles)
    R = roma.euler_to_rotmat(order, t, degrees=degrees)
    return _back(R, np_in)


def rotmat_to_euler(R: Any, order: str, *, degrees: bool = False) -> Any:
    """``(..., 3, 3)`` -> Euler angles ``(..., 3)`` in ``order`` (see :func:`euler_to_rotmat`)."""
    if not _is_tensor(R) and _tait_bryan(order):
        return _rotmat_to_euler_np(np.asarray(R), order, degrees)
    import roma
    t, np_in = _as_tensor(R)
    e = roma.rotmat_to_euler(order, t, degrees=degrees)
    return _back(e, np_in)


def _tait_bryan(order: str) -> bool:
    """True for three distinct axes all intrinsic (``"ZXY"``) or all extrinsic (``"zxy"``)."""
    return len(order) == 3 and len(set(order.lower())) == 3 and (order.isupper() or order.islower())


def _axis_rotmat(axis: int, a: np.ndarray) -> np.ndarray:
    """``(N,)`` angles -> ``(N, 3, 3)`` rotations about coordinate ``axis``."""
    c, s = np.cos(a), np.sin(a)
    R = np.zeros(a.shape + (3, 3))
    j, k = (axis + 1) % 3, (axis + 2) % 3
    R[:, axis, axis] = 1.0
    R[:, j, j], R[:, j, k], R[:, k, j], R[:, k, k] = c, -s, s, c
    return R


def _euler_to_rotmat_np(angles: np.ndarray, order: str, degrees: bool) -> np.ndarray:
    """Numpy twin of roma's ``euler_to_rotmat`` for Tait-Bryan orders (float64 maths, input float width out)."""
    ang = angles.reshape(-1, 3).astype(np.float64)
    if degrees:
        ang = np.deg2rad(ang)
    if order.islower():  # extrinsic xyz == intrinsic ZYX with the angles reversed
        order, ang = order[::-1].upper(), ang[:, ::-1]
    axes = ["XYZ".index(c) for c in order]
    R = _axis_rotmat(axes[0], ang[:, 0]) @ _axis_rotmat(axes[1], ang[:, 1]) @ _axis_rotmat(axes[2], ang[:, 2])
    dtype = np.float64 if angles.dtype == np.float64 else np.float32
    return R.reshape(angles.shape[:-1] + (3, 3)).astype(dtype)


def _rotmat_to_euler_np(R: np.ndarray, order: str, degrees: bool) -> np.ndarray:
    """Numpy twin of roma's ``rotmat_to_euler`` for Tait-Bryan orders; at gimbal lock the last angle is 0."""
    M = R.reshape(-1, 3, 3).astype(np.float64)
    extrinsic = order.islower()
    if extrinsic:
        order = order[::-1].upper()
    i, j, k = ("XYZ".index(c) for c in order)
    e = 1.0 if (j - i) % 3 == 1 else -1.0  # +1 for cyclic orders (XYZ, YZX, ZXY)
    cb = np.hypot(M[:, i, i], M[:, i, j])
    b = np.arctan2(e * M[:, i, k], cb)
    locked = cb < 1e-6
    a = np.where(locked, np.arctan2(e * M[:, k, j], M[:, j, j]), np.arctan2(-e * M[:, j, k], M[:, k, k]))
    c = np.where(locked, 0.0, np.arctan2(-e * M[:, i, j], M[:, i, i]))
    ang = np.stack([a, b, c], axis=1)
    if extrinsic:
        ang = ang[:, ::-1]
    if degrees:
        ang = np.rad2deg(ang)
    dtype = np.float64 if R.dtype == np.float64 else np.float32
    return ang.reshape(R.shape[:-2] + (3,)).astype(dtype)


def axis_angle(axis: str | np.ndarray, angle: float, *, degrees: bool = True) -> np.ndarray:
    """One rotation matrix about ``axis`` ('x', 'y', 'z' or a 3-vector) by ``angle``."""
    if isinstance(axis, str):
        vec = {"x": [1.0, 0, 0], "y": [0, 1.0, 0], "z": [0, 0, 1.0]}[axis.lower()]
    else:
        vec = np.asarray(axis, dtype=np.float64)
    vec = np.asarray(vec, dtype=np.float64)
    vec = vec / np.linalg.norm(vec)
    a = np.deg2rad(angle) if degrees else angle
    return rotvec_to_rotmat(vec * a)


def rotation_between(a: torch.Tensor, b: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    """Minimal rotation taking direction ``a`` to direction ``b``.

    Args:
        a, b: ``(..., 3)`` vectors (need not be unit).
    Returns:
        ``(..., 3, 3)`` rotation with ``R @ a_hat = b_hat``. Antiparallel inputs
        get a half-turn about an axis perpendicular to ``a``.
    """
    import torch
    import roma
    a = a / a.norm(dim=-1, keepdim=True).clamp_min(eps)
    b = b / b.norm(dim=-1, keepdim=True).clamp_min(eps)
    cross = torch.cross(a, b, dim=-1)
    dot = (a * b).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    sin = cross.norm(dim=-1, keepdim=True)
    angle = torch.atan2(sin, dot)
    axis = cross / sin.clamp_min(eps)
    # antiparallel: pick any axis perpendicular to a
    anti = (sin[..., 0] < 1e-6) & (dot[..., 0] < 0)
    if anti.any():
        helper = torch.zeros_like(a)
        helper[..., 0] = 1.0
        alt = torch.cross(a, helper, dim=-1)
        small = alt.norm(dim=-1, keepdim=True) < 1e-3
        helper2 = torch.zeros_like(a)
        helper2[..., 1] = 1.0
        alt = torch.where(small, torch.cross(a, helper2, dim=-1), alt)
        alt = alt / alt.norm(dim=-1, keepdim=True)
        axis = torch.where(anti[..., None], alt, axis)
    return roma.rotvec_to_rotmat(axis * angle)


def slerp_rotmat(R0: torch.Tensor, R1: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between rotation matrices.

    Args:
        R0, R1: ``(..., 3, 3)``.
        t: ``(...)`` weights in ``[0, 1]`` broadcastable to the batch shape.
    """
    import torch
    import roma
    q0 = roma.rotmat_to_unitquat(R0)
    q1 = roma.rotmat_to_unitquat(R1)
    # shortest path
    sign = torch.where((q0 * q1).sum(-1, keepdim=True) < 0, -1.0, 1.0).to(q1.dtype)
    q1 = q1 * sign
    dot = (q0 * q1).sum(-1, keepdim=True).clamp(-1.0, 1.0)
    theta = torch.acos(dot)
    t = t[..., None].to(q0.dtype)
    s = torch.sin(theta)
    lin = s < 1e-6
    w0 = torch.where(lin, 1 - t, torch.sin((1 - t) * theta) / s.clamp_min(1e-12))
    w1 = torch.where(lin, t, torch.sin(t * theta) / s.clamp_min(1e-12))
    q = w0 * q0 + w1 * q1
    q = q / q.norm(dim=-1, keepdim=True)
    return roma.unitquat_to_rotmat(q)
