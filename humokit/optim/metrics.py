"""Accuracy and plausibility metrics for recovered motion (all lengths in millimetres on output).

Definitions (joint positions ``(T, J, 3)`` metres):

- **MPJPE**: mean joint error after aligning the pelvis (joint 0) per frame.
- **PA-MPJPE**: mean joint error after a per-frame similarity (Procrustes) alignment.
- **W-MPJPE**: world-frame error over a segment after one similarity transform
  fitted on the segment's first two frames (as in TRAM/WHAM), evaluated on
  segments of ``segment`` frames.
- **WA-MPJPE**: world-frame error after one similarity transform fitted on the
  whole clip (as in TRAM/WHAM): the path's shape and the articulation, without
  the two-frame alignment's amplification of the first frames' orientation error.
- **acceleration error**: mean norm of the difference of second finite
  differences, mm/frame^2 (as in HMR-style video benchmarks).
- **foot skating**: the physics module's definition
  (:func:`humokit.optim.physics.metrics.skate`, as PhysDiff): per pair of
  consecutive frames, the mean horizontal displacement of the foot joints
  whose sole is within 1 cm of the ground ``y = 0`` in both frames, averaged
  over all pairs, mm.
- **jitter**: mean norm of the third finite difference of joints x fps^3, m/s^3
  (smoothness without ground truth).
"""

from __future__ import annotations

import numpy as np


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """``(s, R (3, 3), t (3,))`` minimising ``||s R src + t - dst||`` for point sets ``(N, 3)`` (Umeyama)."""
    mu_s, mu_d = src.mean(0), dst.mean(0)
    a, b = src - mu_s, dst - mu_d
    U, S, Vt = np.linalg.svd(b.T @ a)
    D = np.eye(3)
    D[2, 2] = np.sign(np.linalg.det(U @ Vt)) or 1.0
    R = U @ D @ Vt
    var = (a**2).sum()
    s = float((S * np.diag(D)).sum() / var) if var > 1e-12 else 1.0
    return s, R, mu_d - s * R @ mu_s


def mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Pelvis-aligned mean per-joint position error, mm."""
    p = pred - pred[:, :1]
    g = gt - gt[:, :1]
    return float(np.linalg.norm(p - g, axis=-1).mean() * 1000)


def pa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """Per-frame Procrustes-aligned (similarity) mean per-joint error, mm."""
    errs = []
    for p, g in zip(pred, gt):
        s, R, t = similarity_transform(p, g)
        errs.append(np.linalg.norm(s * p @ R.T + t - g, axis=-1).mean())
    return float(np.mean(errs) * 1000)


def w_mpjpe(pred: np.ndarray, gt: np.ndarray, *, segment: int = 100) -> float:
    """World MPJPE over ``segment``-frame chunks, each aligned on its first two frames, mm."""
    errs = []
    T = len(pred)
    for s0 in range(0, T, segment):
        p, g = pred[s0 : s0 + segment], gt[s0 : s0 + segment]
        if len(p) < 2:
            continue
        s, R, t = similarity_transform(p[:2].reshape(-1, 3), g[:2].reshape(-1, 3))
        errs.append(np.linalg.norm(s * p @ R.T + t - g, axis=-1).mean(-1))
    return float(np.concatenate(errs).mean() * 1000) if errs else float("nan")


def wa_mpjpe(pred: np.ndarray, gt: np.ndarray) -> float:
    """World MPJPE after one similarity alignment of the whole clip (TRAM/WHAM's WA-MPJPE), mm."""
    s, R, t = similarity_transform(pred.reshape(-1, 3), gt.reshape(-1, 3))
    return float(np.linalg.norm(s * pred @ R.T + t - gt, axis=-1).mean() * 1000)


def first_frames_turn(pred: np.ndarray, gt: np.ndarray) -> float:
    """Angle (degrees) between the rotation of W-MPJPE's two-frame alignment and that of the whole-clip
    alignment: how far the first two frames' body orientation disagrees with the path (it turns the whole
    path in W-MPJPE)."""
    _, R2, _ = similarity_transform(pred[:2].reshape(-1, 3), gt[:2].reshape(-1, 3))
    _, Ra, _ = similarity_transform(pred.reshape(-1, 3), gt.reshape(-1, 3))
    c = (np.trace(R2 @ Ra.T) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(c, -1.0, 1.0))))


def accel_error(pred: np.ndarray, gt: np.ndarray) -> float:
    """Mean acceleration error of pelvis-relative joints, mm/frame^2."""
    if len(pred) < 3:
        return float("nan")
    p = pred - pred[:, :1]
    g = gt - gt[:, :1]
    ap = p[2:] - 2 * p[1:-1] + p[:-2]
    ag = g[2:] - 2 * g[1:-1] + g[:-2]
    return float(np.linalg.norm(ap - ag, axis=-1).mean() * 1000)


def foot_skate(joints: np.ndarray, sole: np.ndarray | None = None, *, contact_height: float = 0.01) -> float:
    """PhysDiff foot skating of ``joints (T, 22, 3)`` (metres, Y up, ground y = 0), mm.

    Args:
        sole: ``(4,)`` sole heights of l_ankle, l_foot, r_ankle, r_foot (default:
            the canonical skeleton's, :meth:`Skeleton.sole_heights`).
        contact_height: a foot joint is on the ground when its sole is below this, metres.
    """
    from humokit.motion.skeleton import default_skeleton
    from humokit.optim.physics.metrics import skate

    s = default_skeleton().sole_heights() if sole is None else np.asarray(sole, dtype=np.float64)
    return skate(np.asarray(joints, dtype=np.float64), s, contact_height=contact_height)[0]


def jitter(joints: np.ndarray, fps: float) -> float:
    """Mean third-difference magnitude of joints, m/s^3."""
    if len(joints) < 4:
        return 0.0
    j = joints[3:] - 3 * joints[2:-1] + 3 * joints[1:-2] - joints[:-3]
    return float(np.linalg.norm(j, axis=-1).mean() * fps**3)
