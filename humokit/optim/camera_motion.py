"""Camera motion of a video from its background: per-frame rotation, parallax, "does the camera move?".

A hand-held or panning camera makes a static-camera fit read the camera's
turn as the body's travel (a pan of 10 degrees moves a person 3 m away by
half a metre). This module measures the camera's own motion from the
background and hands the fit what it needs to undo it.

Conventions (OpenCV camera axes, see :mod:`humokit.render.camera`):

- ``R[t]`` ``(3, 3)`` takes **reference-camera axes to frame-t camera axes**
  (``X_t = R[t] @ X_ref + tau[t]``); the reference is the chordal mean of
  all frames' orientations, so no frame is far from it.
- A bearing ``b = K^-1 (u, v, 1)`` seen in frame ``t`` is seen in the
  reference camera along ``R[t]^T b``: the infinite homography
  ``H_t = K R[t]^T K^-1`` maps frame ``t``'s pixels into the reference image
  (:func:`compensate_track`).

Steps (:func:`track_camera`): frames are downscaled (``max_side``, the cost is
a few ms per frame); corners (``cv2.goodFeaturesToTrack``) are found outside
the person masks (keypoint boxes grown by ``margin``) and followed with
pyramidal Lucas-Kanade, kept only when the backward track returns to within
``fb_px``. Each frame is measured against its **keyframe** (not the previous
frame), so drift grows only when a keyframe is replaced (too few tracks left
or more than ``keyframe_deg`` turned). Per keyframe pair: a robust
rotation-only fit (2-point RANSAC on bearings, then least squares on the
inliers); where the residual of the static background says the camera also
translates (``parallax`` above ``essential_px``) the essential matrix
(``cv2.findEssentialMat`` + ``recoverPose``, RANSAC, then Gauss-Newton on the
Sampson distance from the robust rotation) gives the rotation and the
direction of travel instead. A camera **moves** when it turns more than
``rotation_deg`` from its first frame or the background shows more than
``parallax_px`` of parallax on ``min_moving_frames`` frames; people moving in
front of a static camera are masked out or rejected by RANSAC.

After a fit in the reference camera, :func:`camera_centers` finds each
frame's camera centre from background tracks on the fitted ground (metric,
the fit knows the camera height) and :func:`apply_camera_motion` moves the
body by the camera's travel and builds the per-frame cameras.

Not modelled: zoom (a zooming camera reads as rotation and parallax) and
lens distortion. OpenCV (``cv2``) comes with MediaPipe (``humokit[recover]``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from humokit.errors import InputError, MissingDependencyError

if TYPE_CHECKING:
    from humokit.optim.fit import FitResult
    from humokit.optim.track import KeypointTrack
    from humokit.render.camera import Camera, CameraTrajectory


@dataclass(frozen=True)
class CameraMotionConfig:
    """Settings of :func:`track_camera`.

    Attributes:
        max_side: frames are downscaled to this longer side (pixels) first; the pixel
            thresholds below are at this size.
        max_features: corners per keyframe; min_distance: pixels between corners.
        margin: person boxes grow by this fraction of their size (and 4 px) before masking.
        fb_px: forward-backward Lucas-Kanade error above which a track is dropped.
        ransac_px: inlier threshold of the rotation and essential fits.
        min_points: fewest background tracks to measure a frame (others are interpolated).
        keyframe_fraction: a new keyframe when fewer than this fraction of its tracks survive.
        keyframe_deg: a new keyframe after this much rotation since the last one.
        rotation_deg: the camera "moves" when it turns more than this from its first frame.
        parallax_px: ... or when the static background shows more parallax than this (median
            residual of the rotation-only fit) on at least ``min_moving_frames`` frames.
        essential_px: background parallax above which a keyframe pair is solved with the essential
            matrix (rotation and direction of travel) rather than as a pure rotation.
        min_moving_frames: see ``parallax_px``.
        seed: RANSAC sampling seed.
    """

    max_side: int = 480
    max_features: int = 400
    min_distance: int = 8
    margin: float = 0.2
    fb_px: float = 1.0
    ransac_px: float = 1.0
    min_points: int = 15
    keyframe_fraction: float = 0.5
    keyframe_deg: float = 8.0
    rotation_deg: float = 1.0
    parallax_px: float = 1.0
    essential_px: float = 0.25
    min_moving_frames: int = 5
    seed: int = 0

    def __post_init__(self) -> None:
        if self.max_side < 64 or self.max_features < 8 or self.min_points < 5:
            raise InputError("camera motion: need max_side >= 64, max_features >= 8, min_points >= 5")
        if not (0.0 < self.keyframe_fraction < 1.0 and self.keyframe_deg > 0 and self.rotation_deg > 0
                and self.parallax_px > 0 and self.ransac_px > 0 and self.fb_px > 0 and self.margin >= 0):
            raise InputError("camera motion: thresholds must be positive (keyframe_fraction in (0, 1))")


@dataclass(frozen=True)
class CameraMotion:
    """Motion of a video's camera relative to a reference orientation.

    Attributes:
        rotations: ``(T, 3, 3)`` reference-camera axes -> frame-t camera axes.
        directions: ``(T, 3)`` unit direction of the camera's travel since its keyframe, in
            reference-camera axes, where parallax was measured (zeros elsewhere).
        parallax: ``(T,)`` median residual (pixels at ``scale``) of the static background
            after the rotation-only fit: 0 for a camera that only turns.
        inliers: ``(T,)`` background tracks that agreed with the frame's motion.
        measured: ``(T,)`` bool, frames with enough background to measure (others interpolated).
        keyframes: frame indices where a keyframe started.
        scale: working image size / video image size.
        moving: whether the camera moves (see module docstring); rotating, translating: why.
        config: settings used.
        K: ``(3, 3)`` intrinsics of the video (its own pixels) the rotations were measured with.
        K_work: ``(3, 3)`` the same at working size.
        matches: per frame, ``(keyframe index, pixels in the keyframe (N, 2), in this frame (N, 2))``
            of the background tracks that agreed (working pixels), or None (used by :func:`camera_centers`).
    """

    rotations: np.ndarray
    directions: np.ndarray
    parallax: np.ndarray
    inliers: np.ndarray
    measured: np.ndarray
    keyframes: tuple[int, ...]
    scale: float
    rotating: bool
    translating: bool
    config: CameraMotionConfig = field(default_factory=CameraMotionConfig)
    K: np.ndarray | None = None
    K_work: np.ndarray | None = None
    matches: tuple[tuple[int, np.ndarray, np.ndarray] | None, ...] = ()

    @property
    def num_frames(self) -> int:
        return int(self.rotations.shape[0])

    @property
    def moving(self) -> bool:
        return bool(self.rotating or self.translating)

    @property
    def angles_deg(self) -> np.ndarray:
        """``(T,)`` rotation of each frame's camera relative to the first frame's, degrees."""
        return rotation_angle_deg(np.einsum("tij,kj->tik", self.rotations, self.rotations[0]))

    @property
    def max_rotation_deg(self) -> float:
        return float(self.angles_deg.max()) if self.num_frames else 0.0

    @property
    def max_parallax_px(self) -> float:
        """Parallax (pixels of the working image) exceeded on ``min_moving_frames`` frames."""
        p = np.sort(self.parallax[self.measured])[::-1]
        k = min(self.config.min_moving_frames, len(p))
        return float(p[k - 1]) if k else 0.0

    def summary(self) -> str:
        """One line: ``moving (pan/shake 12.3 deg, parallax 4.1 px)`` or ``static (...)``."""
        what = "moving" if self.moving else "static"
        why = []
        if self.rotating:
            why.append("turns")
        if self.translating:
            why.append("travels")
        return (f"{what}{' (' + ' and '.join(why) + ')' if why else ''}: rotation up to {self.max_rotation_deg:.1f} deg, "
                f"background parallax {self.max_parallax_px:.1f} px, {int(self.measured.sum())}/{self.num_frames} frames "
                f"measured, {len(self.keyframes)} keyframes")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready summary and per-frame rotations (reference -> frame camera)."""
        return {
            "moving": self.moving, "rotating": self.rotating, "translating": self.translating,
            "max_rotation_deg": round(self.max_rotation_deg, 3), "max_parallax_px": round(self.max_parallax_px, 3),
            "frames_measured": int(self.measured.sum()), "keyframes": list(self.keyframes),
            "rotation_threshold_deg": self.config.rotation_deg, "parallax_threshold_px": self.config.parallax_px,
            "working_scale": round(self.scale, 6),
            "note": "rotations: reference camera axes -> frame camera axes (OpenCV axes)",
        }


# ----------------------------------------------------------------------------- pure geometry


def rotation_angle_deg(R: np.ndarray) -> np.ndarray:
    """Angle of rotation matrices ``(..., 3, 3)`` in degrees."""
    c = (np.trace(R, axis1=-2, axis2=-1) - 1.0) / 2.0
    return np.degrees(np.arccos(np.clip(c, -1.0, 1.0)))


def _kabsch(src: np.ndarray, dst: np.ndarray, w: np.ndarray | None = None) -> np.ndarray:
    """Rotations ``(..., 3, 3)`` minimising ``sum w |R src - dst|^2`` over vectors ``(..., N, 3)``."""
    if w is not None:
        dst = dst * w[..., None]
    Hm = np.einsum("...ni,...nj->...ij", dst, src)
    U, _, Vt = np.linalg.svd(Hm)
    d = np.sign(np.linalg.det(U @ Vt))
    D = np.zeros(U.shape)
    D[..., 0, 0] = 1.0
    D[..., 1, 1] = 1.0
    D[..., 2, 2] = np.where(d == 0, 1.0, d)
    return U @ D @ Vt


def bearings(uv: np.ndarray, K: np.ndarray) -> np.ndarray:
    """Unit viewing directions ``(..., 3)`` (camera axes) of pixels ``uv (..., 2)``."""
    h = np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], axis=-1) @ np.linalg.inv(K).T
    return h / np.linalg.norm(h, axis=-1, keepdims=True)


def fit_rotation(b1: np.ndarray, b2: np.ndarray, *, threshold: float, iterations: int = 128,
                 rng: np.random.Generator | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Robust rotation ``R`` with ``b2 ~ R b1`` from unit bearings ``(N, 3)`` (a camera that only turns).

    2-point RANSAC (each hypothesis: the rotation taking two bearings and their
    cross product onto the matching ones), then least squares (Kabsch) on the
    inliers, twice. ``threshold``: inlier chord distance (radians, ~ pixels / focal).

    Returns:
        ``(R (3, 3), inlier mask (N,))``.
    """
    n = len(b1)
    if n < 2:
        raise InputError("fit_rotation: need at least 2 correspondences")
    rng = rng or np.random.default_rng(0)
    i = rng.integers(0, n, iterations)
    j = (i + rng.integers(1, n, iterations)) % n
    a1, a2 = b1[i], b1[j]
    c1, c2 = b2[i], b2[j]
    src = np.stack([a1, a2, np.cross(a1, a2)], axis=1)
    dst = np.stack([c1, c2, np.cross(c1, c2)], axis=1)
    Rh = _kabsch(src, dst)  # (M, 3, 3)
    res = np.linalg.norm(np.matmul(Rh, b1.T) - b2.T[None], axis=1)  # (M, N)
    score = (res < threshold).sum(1)
    R = Rh[int(np.argmax(score))]
    inl = np.linalg.norm(b1 @ R.T - b2, axis=-1) < threshold
    for _ in range(2):
        if inl.sum() < 2:
            break
        R = _kabsch(b1[inl], b2[inl])
        inl = np.linalg.norm(b1 @ R.T - b2, axis=-1) < threshold
    return R, inl


@dataclass(frozen=True)
class PairMotion:
    """Motion between a keyframe and a later frame (camera axes of the keyframe -> of the frame).

    Attributes:
        R: ``(3, 3)``; direction: ``(3,)`` unit travel of the camera centre in keyframe axes (zeros
            when no parallax was seen); parallax: median background residual of the rotation-only fit, pixels;
        inliers: tracks agreeing with the chosen model; essential: whether the essential matrix was used.
    """

    R: np.ndarray
    direction: np.ndarray
    parallax: float
    inliers: int
    essential: bool


def pair_motion(p1: np.ndarray, p2: np.ndarray, K: np.ndarray, cfg: CameraMotionConfig,
                rng: np.random.Generator | None = None) -> PairMotion:
    """Camera motion between two views from matched background pixels ``(N, 2)`` (intrinsics ``K``).

    Rotation-only fit first; when its residual on the background (essential
    inliers) exceeds ``cfg.essential_px`` the camera translates and the
    essential matrix gives the rotation and the direction of travel.
    """
    f = float(K[0, 0])
    b1, b2 = bearings(p1, K), bearings(p2, K)
    R, inl = fit_rotation(b1, b2, threshold=cfg.ransac_px / f, rng=rng)
    res_px = np.linalg.norm(b1 @ R.T - b2, axis=-1) * f
    parallax = float(np.median(res_px[inl])) if inl.any() else float(np.median(res_px))
    if len(p1) < 8:
        return PairMotion(R, np.zeros(3), parallax, int(inl.sum()), False)
    cv2 = _cv2()
    try:
        E, mask = cv2.findEssentialMat(p1.astype(np.float64), p2.astype(np.float64), K, method=cv2.RANSAC,
                                       prob=0.999, threshold=cfg.ransac_px)
    except cv2.error:
        E, mask = None, None
    if E is None or E.shape != (3, 3) or mask is None:
        return PairMotion(R, np.zeros(3), parallax, int(inl.sum()), False)
    e_inl = mask.ravel().astype(bool)
    if e_inl.sum() >= 8:
        parallax = float(np.median(res_px[e_inl]))
    if parallax <= cfg.essential_px or e_inl.sum() < max(8, inl.sum()):
        return PairMotion(R, np.zeros(3), parallax, int(inl.sum()), False)
    _, Re, te, mask2 = cv2.recoverPose(E, p1.astype(np.float64), p2.astype(np.float64), K, mask=mask.copy())
    if rotation_angle_deg(Re @ R.T) > 5.0 + 2.0 * rotation_angle_deg(R):  # a twisted decomposition
        return PairMotion(R, np.zeros(3), parallax, int(inl.sum()), False)
    te = te.ravel()
    Re, tr = refine_essential(b1[e_inl], b2[e_inl], R, te, f_scale=cfg.ransac_px / f)  # from the robust rotation
    te = tr if tr @ te >= 0 else -tr  # Sampson's distance does not see the sign: recoverPose's cheirality does
    direction = -(Re.T @ te)  # camera centre of the frame in keyframe axes (unit)
    return PairMotion(Re, direction / max(np.linalg.norm(direction), 1e-12), parallax, int(e_inl.sum()), True)


def _skew(t: np.ndarray) -> np.ndarray:
    return np.array([[0.0, -t[2], t[1]], [t[2], 0.0, -t[0]], [-t[1], t[0], 0.0]])


def sampson_residuals(b1: np.ndarray, b2: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """``(N,)`` Sampson distances (normalised image units) of bearings ``(N, 3)`` to the epipolar geometry ``E = [t]x R``."""
    x1 = b1 / b1[:, 2:3]
    x2 = b2 / b2[:, 2:3]
    E = _skew(t) @ R
    Ex1 = x1 @ E.T
    Etx2 = x2 @ E
    num = (x2 * Ex1).sum(-1)
    den = Ex1[:, 0] ** 2 + Ex1[:, 1] ** 2 + Etx2[:, 0] ** 2 + Etx2[:, 1] ** 2
    return num / np.sqrt(np.clip(den, 1e-18, None))


def _rodrigues(w: np.ndarray) -> np.ndarray:
    th = float(np.linalg.norm(w))
    if th < 1e-12:
        return np.eye(3) + _skew(w)
    k = _skew(w / th)
    return np.eye(3) + math.sin(th) * k + (1.0 - math.cos(th)) * (k @ k)


def refine_essential(b1: np.ndarray, b2: np.ndarray, R: np.ndarray, t: np.ndarray, *,
                     f_scale: float, iterations: int = 10) -> tuple[np.ndarray, np.ndarray]:
    """Rotation and unit translation (``X_2 = R X_1 + s t``) refined on inlier bearings ``(N, 3)``.

    Gauss-Newton on the Sampson distance with Huber weights (``f_scale``,
    normalised image units), 3 rotation and 2 tangent translation parameters
    (numeric Jacobian); ``R, t`` start it.
    """
    t = t / max(np.linalg.norm(t), 1e-12)
    if len(b1) < 6:
        return R, t
    for _ in range(iterations):
        a = np.cross(t, [1.0, 0.0, 0.0] if abs(t[0]) < 0.9 else [0.0, 1.0, 0.0])
        e1 = a / np.linalg.norm(a)
        e2 = np.cross(t, e1)

        def unpack(x: np.ndarray, R0: np.ndarray = R, t0: np.ndarray = t, e1: np.ndarray = e1,
                   e2: np.ndarray = e2) -> tuple[np.ndarray, np.ndarray]:
            tx = t0 + x[3] * e1 + x[4] * e2
            return _rodrigues(x[:3]) @ R0, tx / np.linalg.norm(tx)

        r0 = sampson_residuals(b1, b2, R, t)
        h = 1e-6
        J = np.stack([(sampson_residuals(b1, b2, *unpack(h * np.eye(5)[k])) - r0) / h for k in range(5)], axis=1)
        w = np.minimum(1.0, f_scale / np.maximum(np.abs(r0), 1e-12))  # Huber
        A = J.T @ (w[:, None] * J) + 1e-9 * np.eye(5)
        dx = -np.linalg.solve(A, J.T @ (w * r0))
        R, t = unpack(dx)
        if np.linalg.norm(dx) < 1e-9:
            break
    return R, t


def mean_rotation(R: np.ndarray) -> np.ndarray:
    """Chordal mean ``(3, 3)`` of rotations ``(T, 3, 3)``."""
    U, _, Vt = np.linalg.svd(np.asarray(R, dtype=np.float64).sum(0))
    return U @ np.diag([1.0, 1.0, np.sign(np.linalg.det(U @ Vt)) or 1.0]) @ Vt


# ----------------------------------------------------------------------------- image tracking


def _cv2():  # type: ignore[no-untyped-def]
    try:
        import cv2
    except ImportError:
        raise MissingDependencyError("OpenCV (camera motion)", "recover") from None
    return cv2


def box_mask(shape: tuple[int, int], boxes: np.ndarray, margin: float) -> np.ndarray:
    """``uint8 (H, W)`` mask, 255 on the background, 0 inside ``boxes (N, 4)`` (x0, y0, x1, y1) grown by ``margin``."""
    h, w = shape
    m = np.full((h, w), 255, np.uint8)
    for x0, y0, x1, y1 in np.asarray(boxes, dtype=np.float64).reshape(-1, 4):
        if not np.isfinite([x0, y0, x1, y1]).all():
            continue
        gx, gy = margin * (x1 - x0) + 4, margin * (y1 - y0) + 4
        a, b = int(max(0, math.floor(x0 - gx))), int(max(0, math.floor(y0 - gy)))
        c, d = int(min(w, math.ceil(x1 + gx))), int(min(h, math.ceil(y1 + gy)))
        if c > a and d > b:
            m[b:d, a:c] = 0
    return m


def track_camera(
    frames: Iterable[np.ndarray],
    K: np.ndarray,
    *,
    boxes: np.ndarray | None = None,
    config: CameraMotionConfig | None = None,
    scale: float = 1.0,
) -> CameraMotion:
    """Camera motion from frames already at working size.

    Args:
        frames: ``(H, W)`` grey or ``(H, W, 3)`` RGB uint8 images.
        K: ``(3, 3)`` intrinsics at that size.
        boxes: ``(T, N, 4)`` or ``(T, 4)`` person boxes (working pixels) to mask, NaN where none.
        config: settings.
        scale: working size / video size (recorded in the result).
    """
    cv2 = _cv2()
    cfg = config or CameraMotionConfig()
    rng = np.random.default_rng(cfg.seed)
    K = np.asarray(K, dtype=np.float64)
    Rs: list[np.ndarray] = []
    dirs: list[np.ndarray] = []
    par: list[float] = []
    inl: list[int] = []
    meas: list[bool] = []
    keyframes: list[int] = []
    matches: list[tuple[int, np.ndarray, np.ndarray] | None] = []
    prev = None
    kf_pts = cur_pts = None
    R_kf = np.eye(3)
    n_kf = 0
    lk = {"winSize": (21, 21), "maxLevel": 3, "criteria": (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 30, 0.01)}
    for t, img in enumerate(frames):
        gray = img if img.ndim == 2 else cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_RGB2GRAY)
        gray = np.ascontiguousarray(gray, dtype=np.uint8)
        mask = box_mask(gray.shape, boxes[t], cfg.margin) if boxes is not None and t < len(boxes) else None
        R_t = Rs[-1] if Rs else np.eye(3)
        pm: PairMotion | None = None
        if prev is not None and prev.shape != gray.shape:
            raise InputError(f"camera motion: frame {t} is {gray.shape[::-1]} pixels, the first {prev.shape[::-1]}")
        if prev is not None and cur_pts is not None and len(cur_pts):
            nxt, st, _ = cv2.calcOpticalFlowPyrLK(prev, gray, cur_pts.astype(np.float32), None, **lk)
            back, st2, _ = cv2.calcOpticalFlowPyrLK(gray, prev, nxt, None, **lk)
            ok = (st.ravel() == 1) & (st2.ravel() == 1) & (np.linalg.norm(back - cur_pts.astype(np.float32), axis=-1).ravel() < cfg.fb_px)
            nxt = nxt.reshape(-1, 2).astype(np.float64)
            h, w = gray.shape
            ok &= (nxt[:, 0] >= 0) & (nxt[:, 0] < w) & (nxt[:, 1] >= 0) & (nxt[:, 1] < h)
            if mask is not None:
                xi = np.clip(nxt[:, 0].astype(int), 0, w - 1)
                yi = np.clip(nxt[:, 1].astype(int), 0, h - 1)
                ok &= mask[yi, xi] > 0  # the person walked over it
            kf_pts, cur_pts = kf_pts[ok], nxt[ok]
            if len(cur_pts) >= cfg.min_points:
                pm = pair_motion(kf_pts, cur_pts, K, cfg, rng)
                R_t = pm.R @ R_kf
        Rs.append(R_t)
        matches.append((keyframes[-1], kf_pts.astype(np.float32), cur_pts.astype(np.float32)) if pm is not None else None)
        meas.append(pm is not None or t == 0)
        par.append(pm.parallax if pm is not None else 0.0)
        inl.append(pm.inliers if pm is not None else 0)
        dirs.append(R_kf.T @ pm.direction if pm is not None else np.zeros(3))
        turned = pm is not None and float(rotation_angle_deg(pm.R)) > cfg.keyframe_deg
        if cur_pts is None or len(cur_pts) < max(cfg.min_points, cfg.keyframe_fraction * n_kf) or turned:
            pts = cv2.goodFeaturesToTrack(gray, cfg.max_features, 0.01, cfg.min_distance, mask=mask)
            kf_pts = pts.reshape(-1, 2).astype(np.float64) if pts is not None else np.zeros((0, 2))
            cur_pts = kf_pts.copy()
            n_kf = len(kf_pts)
            R_kf = R_t
            keyframes.append(t)
        prev = gray
    if not Rs:
        raise InputError("camera motion: no frames")
    R = np.stack(Rs)
    measured = np.array(meas, dtype=bool)
    R = _fill_unmeasured(R, measured)
    parallax = np.array(par)
    cm0 = CameraMotion(R, np.stack(dirs), parallax, np.array(inl), measured, tuple(keyframes), float(scale),
                       False, False, cfg)
    rotating = cm0.max_rotation_deg > cfg.rotation_deg
    translating = cm0.max_parallax_px > cfg.parallax_px
    Rm = mean_rotation(R)
    R_ref = np.einsum("tij,kj->tik", R, Rm)  # re-centre: reference = mean orientation
    D = np.stack(dirs) @ Rm.T
    return CameraMotion(R_ref, D, parallax, np.array(inl), measured, tuple(keyframes), float(scale),
                        bool(rotating), bool(translating), cfg, None, K, tuple(matches))


def _fill_unmeasured(R: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Unmeasured frames take the nearest measured rotation before them (the first frame is the origin)."""
    out = R.copy()
    last = np.eye(3)
    for t in range(len(R)):
        if measured[t]:
            last = R[t]
        else:
            out[t] = last
    return out


def track_boxes(track: KeypointTrack, min_confidence: float = 0.3) -> np.ndarray:
    """``(T, 4)`` person box per frame (pixels) from a keypoint track; frames without a detection take the
    nearest detected frame's box (NaN when none)."""
    uv = np.where((track.confidence > min_confidence)[..., None], track.uv, np.nan)
    T = track.num_frames
    out = np.full((T, 4), np.nan)
    for t in range(T):
        p = uv[t][np.isfinite(uv[t]).all(-1)]
        if len(p) >= 3:
            out[t] = [p[:, 0].min(), p[:, 1].min(), p[:, 0].max(), p[:, 1].max()]
    good = np.isfinite(out).all(-1)
    if good.any() and not good.all():
        idx = np.flatnonzero(good)
        near = idx[np.abs(np.arange(T)[:, None] - idx[None]).argmin(1)]
        out[~good] = out[near[~good]]
    return out


def estimate_camera_motion(
    video: str | Path,
    track: KeypointTrack,
    *,
    focal: float | None = None,
    config: CameraMotionConfig | None = None,
    force: bool = False,
    boxes: np.ndarray | None = None,
) -> CameraMotion:
    """Camera motion of ``video`` (decoded again at the track's rate, downscaled), masking ``track``'s person.

    Args:
        video: the video the track came from.
        track: the person's keypoint track (its boxes are masked; its size and rate are used).
        focal: focal length in video pixels (default ``max(width, height)``, as the fit).
        force: report the camera as moving (turning) whatever was measured.
        boxes: ``(T, N, 4)`` boxes (video pixels, x0 y0 x1 y1, NaN where none) of every person to
            mask, e.g. all tracked people; default: ``track``'s person.
    """
    from humokit.optim.camera_model import intrinsics_matrix
    from humokit.optim.video import iter_frames

    cfg = config or CameraMotionConfig()
    W, H = track.width, track.height
    s = min(1.0, cfg.max_side / max(W, H))
    K = intrinsics_matrix(W, H, focal)
    Ks = np.diag([s, s, 1.0]) @ K
    boxes = (track_boxes(track) if boxes is None else np.asarray(boxes, dtype=np.float64)) * s

    def frames() -> Iterable[np.ndarray]:
        for t, _, img in iter_frames(video, fps=track.fps, max_side=cfg.max_side):
            if t >= track.num_frames:
                break
            yield img

    cm = track_camera(frames(), Ks, boxes=boxes, config=cfg, scale=s)
    if cm.num_frames < track.num_frames:  # a shorter decode: hold the last camera
        pad = track.num_frames - cm.num_frames
        cm = CameraMotion(np.concatenate([cm.rotations, np.repeat(cm.rotations[-1:], pad, 0)]),
                          np.concatenate([cm.directions, np.zeros((pad, 3))]), np.concatenate([cm.parallax, np.zeros(pad)]),
                          np.concatenate([cm.inliers, np.zeros(pad, int)]), np.concatenate([cm.measured, np.zeros(pad, bool)]),
                          cm.keyframes, cm.scale, cm.rotating, cm.translating, cm.config, None, cm.K_work,
                          cm.matches + (None,) * pad)
    from dataclasses import replace

    return replace(cm, K=K, rotating=cm.rotating or force)


# ----------------------------------------------------------------------------- using it in a recovery


def compensate_track(track: KeypointTrack, motion: CameraMotion) -> KeypointTrack:
    """The track as the reference camera would have seen it (camera rotation removed).

    Pixels go through the infinite homography ``K R[t]^T K^-1`` (``K`` of the
    video: ``max(w, h)`` focal unless ``focal`` was given to the estimate, see
    :func:`estimate_camera_motion`); the detector's camera-axis 3D landmarks
    turn by ``R[t]^T``. Pixels that would fall behind the reference camera
    become missing (confidence 0). The image size is kept (compensated pixels
    may lie outside it).
    """
    from dataclasses import replace

    if motion.num_frames != track.num_frames:
        raise InputError(f"camera motion has {motion.num_frames} frames, the track {track.num_frames}")
    K = motion.K if motion.K is not None else _default_K(track.width, track.height)
    Rt = motion.rotations.transpose(0, 2, 1)  # frame camera -> reference camera
    H = np.einsum("ij,tjk,kl->til", K, Rt, np.linalg.inv(K))
    uvh = np.concatenate([track.uv, np.ones(track.uv.shape[:-1] + (1,))], axis=-1)
    q = np.einsum("tij,tkj->tki", H, uvh)
    with np.errstate(divide="ignore", invalid="ignore"):
        uv = q[..., :2] / q[..., 2:3]
    bad = ~(q[..., 2] > 1e-6) | ~np.isfinite(uv).all(-1)
    uv[bad] = np.nan
    conf = np.where(bad, 0.0, track.confidence)
    world = None if track.world is None else np.einsum("tij,tkj->tki", Rt, track.world)
    return replace(track, uv=uv, confidence=conf, world=world)


def _default_K(width: int, height: int) -> np.ndarray:
    from humokit.optim.camera_model import intrinsics_matrix

    return intrinsics_matrix(width, height, None)


def camera_trajectory(camera: Camera, motion: CameraMotion, centers: np.ndarray | None = None) -> CameraTrajectory:
    """Per-frame world-to-camera cameras: the fitted reference ``camera`` turned by ``motion``.

    ``R_t = motion.rotations[t] @ camera.R``; centres ``centers (T, 3)`` (world,
    metres) or the reference camera's centre in every frame.
    """
    from humokit.render.camera import CameraTrajectory

    T = motion.num_frames
    R = np.einsum("tij,jk->tik", motion.rotations, camera.R)
    C = np.broadcast_to(camera.center, (T, 3)) if centers is None else np.asarray(centers, dtype=np.float64)
    t = -np.einsum("tij,tj->ti", R, C)
    return CameraTrajectory(np.broadcast_to(camera.K, (T, 3, 3)).copy(), R, t, camera.width, camera.height)


def camera_warning(motion: CameraMotion | None) -> str | None:
    """The summary's warning for a moving camera, or for one whose motion could mostly not be measured
    (None when it is static or was not measured at all); :func:`humokit.optim.recover.recovery_warnings`
    adds it to every recovery's ``warnings``."""
    if motion is None:
        return None
    unmeasured = 1.0 - float(motion.measured.mean()) if motion.num_frames else 0.0
    if not motion.moving:
        if unmeasured > 0.5:
            return (f"the camera's motion could not be measured on {100 * unmeasured:.0f}% of the frames "
                    "(too little background texture outside the person): taken as static")
        return None
    parts = []
    if motion.rotating:
        parts.append(f"turns up to {motion.max_rotation_deg:.1f} deg (removed: the body is fitted in the mean "
                     "camera's gravity-aligned world; per-frame cameras in the camera json)")
    if motion.translating:
        parts.append(f"travels (background parallax {motion.max_parallax_px:.1f} px; its travel, scaled by the "
                     "ground below it, is removed from the body's path)")
    return "the camera moves: it " + "; it ".join(parts)


def _centre_from_rays(X: np.ndarray, d: np.ndarray, threshold: float, rng: np.random.Generator,
                      iterations: int = 64) -> tuple[np.ndarray, np.ndarray] | None:
    """Camera centre ``C (3,)`` from which world points ``X (N, 3)`` are seen along unit world directions ``d (N, 3)``.

    Each point gives ``d x (X - C) = 0`` (two independent linear equations);
    2-point RANSAC (``threshold``: angle, radians), then least squares on the inliers.
    Returns ``(C, inliers)`` or None when fewer than 3 points agree.
    """
    n = len(X)
    if n < 3:
        return None

    def solve(idx: np.ndarray) -> np.ndarray:  # [d]x C = [d]x X
        S = _skew_batch(d[idx])
        return np.linalg.lstsq(S.reshape(-1, 3), np.einsum("nij,nj->ni", S, X[idx]).reshape(-1), rcond=None)[0]

    def angle(C: np.ndarray) -> np.ndarray:
        v = X - C
        v = v / np.linalg.norm(v, axis=-1, keepdims=True).clip(1e-12)
        return np.linalg.norm(v - d, axis=-1)

    best = None
    best_n = -1
    for _ in range(iterations):
        idx = rng.choice(n, 2, replace=False)
        C = solve(idx)
        k = int((angle(C) < threshold).sum())
        if k > best_n:
            best, best_n = C, k
    if best is None:
        return None
    inl = angle(best) < threshold
    for _ in range(2):
        if inl.sum() < 3:
            return None
        best = solve(np.flatnonzero(inl))
        inl = angle(best) < threshold
    return best, inl


def _skew_batch(v: np.ndarray) -> np.ndarray:
    z = np.zeros(len(v))
    return np.stack([np.stack([z, -v[:, 2], v[:, 1]], -1), np.stack([v[:, 2], z, -v[:, 0]], -1),
                     np.stack([-v[:, 1], v[:, 0], z], -1)], axis=1)


def camera_centers(motion: CameraMotion, camera: Camera, *, max_range: float = 20.0, min_depression_deg: float = 8.0,
                   threshold_px: float = 1.5, smooth: int = 2) -> np.ndarray | None:
    """Per-frame camera centres ``(T, 3)`` (world, metres) of a travelling camera, from the ground plane.

    The fit gives the reference ``camera`` (gravity, height above the ground
    ``y = 0``); with the measured rotations every frame's orientation is known.
    A background track seen in its keyframe is put on the ground (its ray from
    the keyframe's centre meets ``y = 0`` within ``max_range`` metres, at least
    ``min_depression_deg`` below the horizon: nearer the horizon a small error
    of the fitted gravity changes the distance a lot), and the
    frame's centre is where those ground points are seen along the frame's rays
    (2-point RANSAC; tracks on walls and people disagree and drop out). The
    first keyframe's centre is the reference camera's; later keyframes chain.
    The ground's known distance below the camera gives the metric scale.
    Returns None when the motion has no matches (e.g. built without images).
    """
    if not motion.matches or motion.K_work is None:
        return None
    rng = np.random.default_rng(motion.config.seed)
    T = motion.num_frames
    Kinv = np.linalg.inv(motion.K_work)
    Rw = np.einsum("tij,jk->tik", motion.rotations, camera.R)  # world -> frame camera
    C = np.full((T, 3), np.nan)
    C[0] = camera.center
    thr = threshold_px / float(motion.K_work[0, 0])
    for t in range(T):
        m = motion.matches[t]
        if m is None:
            continue
        k, p_kf, p_t = m
        Ck = C[k] if np.isfinite(C[k]).all() else camera.center
        d_kf = _unit(np.c_[p_kf, np.ones(len(p_kf))] @ Kinv.T @ Rw[k])  # world rays
        with np.errstate(divide="ignore", invalid="ignore"):
            s = -Ck[1] / d_kf[:, 1]
        ok = np.isfinite(s) & (s > 0) & (s < max_range) & (-d_kf[:, 1] > math.sin(math.radians(min_depression_deg)))
        if ok.sum() < 3:
            continue
        X = Ck + s[ok, None] * d_kf[ok]
        d_t = _unit(np.c_[p_t[ok], np.ones(int(ok.sum()))] @ Kinv.T @ Rw[t])
        sol = _centre_from_rays(X, d_t, thr, rng)
        if sol is not None:
            C[t] = sol[0]
    good = np.isfinite(C).all(-1)
    if not good.any():
        return None
    idx = np.arange(T)
    for i in range(3):
        C[~good, i] = np.interp(idx[~good], idx[good], C[good, i])
    if smooth > 0 and T > 2 * smooth + 1:
        pad = np.concatenate([np.repeat(C[:1], smooth, 0), C, np.repeat(C[-1:], smooth, 0)])
        C = np.stack([np.convolve(pad[:, i], np.ones(2 * smooth + 1) / (2 * smooth + 1), mode="valid") for i in range(3)], 1)
    return C


def _unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v, axis=-1, keepdims=True).clip(1e-12)


def apply_camera_motion(fit: FitResult, motion: CameraMotion, *, travel: bool | None = None,
                        min_travel: float = 0.15, start: int = 0) -> tuple[FitResult, CameraTrajectory]:
    """A fit made in the reference camera (turns removed) -> the world motion and the per-frame cameras.

    The camera centres come from the ground (:func:`camera_centers`); when the
    camera travels (``travel``; default: it was found to travel,
    ``motion.translating``, or its centre moves more than ``min_travel``
    metres) the body is moved by the camera's travel since the reference (a
    static-camera fit sees the body displaced by minus that travel);
    otherwise every frame keeps the reference centre. ``start``: the video
    frame of the fit's first frame (a track trimmed to its reliable span);
    the returned cameras cover the fit's frames.
    """
    from dataclasses import replace

    from humokit.render.camera import CameraTrajectory

    n = fit.motion.num_frames
    if start < 0 or start + n > motion.num_frames:
        raise InputError(f"camera motion has {motion.num_frames} frames, the fit covers {start}..{start + n}")
    centers = camera_centers(motion, fit.camera) if travel is not False else None
    if centers is not None and travel is None:
        moved = float(np.linalg.norm(centers - fit.camera.center, axis=-1).max())
        if not (motion.translating or moved > min_travel):
            centers = None
    if centers is not None:
        shift = (centers[start:start + n] - fit.camera.center).astype(np.float32)
        m = fit.motion
        fit = replace(fit, motion=m.replace(root_position=m.root_position + shift))
    traj = camera_trajectory(fit.camera, motion, centers)
    sl = slice(start, start + n)
    return fit, CameraTrajectory(traj.K[sl], traj.R[sl], traj.t[sl], traj.width, traj.height)

