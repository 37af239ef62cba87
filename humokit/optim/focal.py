"""The camera's focal length when the user does not know it: from a person walking on flat ground.

An upright person walking on a flat ground is a calibration object (Lv, Zhao and
Nevatia, "Camera calibration from video of a walking human", PAMI 2006): the
lines from the feet to the shoulders meet at the vertical vanishing point, the
lines through the heads and through the feet of two frames meet on the horizon,
and the two fix the focal length (the horizon is the vanishing line of the
planes orthogonal to the vertical, ``l ~ K^-T K^-1 v``). :func:`calibrate_walk`
fits that geometry directly: a static camera of focal ``f``, pitch, roll and
height above the ground, and the person's ground position per frame, to the
image points of the heels and of the mid-shoulder (least squares; the person's
size only sets the unit of the camera height, so it need not be known).

How much the clip says about ``f`` is read from the fit's own covariance: a
person who stays at one distance, or a level camera (the vertical vanishing
point then lies at infinity and the horizon on the centre row), leaves it
unconstrained. :func:`estimate_focal` combines that measurement with a
field-of-view prior (log-normal around ``max(width, height)``, a 53 degree
horizontal view for a landscape image), so a clip without the cue keeps the
usual default and a clip with it moves towards its measured focal.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from humokit.optim.track import KeypointTrack

# field-of-view prior: log-normal around max(width, height) (53 deg horizontal for 4:3 / 16:9 landscape)
FOCAL_PRIOR_SIGMA = 0.5
# the walk model's own error floors the measurement's tolerance (val renders, focal max(w, h): +4, +5, +18 %)
MIN_WALK_SIGMA = 0.10


@dataclass(frozen=True)
class WalkCalibration:
    """A static camera measured from a walk: ``focal`` pixels, ``pitch``/``roll`` radians, ``height`` in units
    of the shoulder-over-heel height, ``sigma_log_focal`` (the fit's 1-sigma of ``log f``), ``rms_px`` residual,
    ``frames`` used."""

    focal: float
    pitch: float
    roll: float
    height: float
    sigma_log_focal: float
    rms_px: float
    frames: int


@dataclass(frozen=True)
class FocalEstimate:
    """The focal length used for a recovery.

    Attributes:
        focal: pixels.
        sigma: tolerance in log units (about the relative error).
        source: ``"given"`` (the user's), ``"walk"`` (the walk measurement moved it from the prior), or
            ``"prior"`` (``max(width, height)``: the clip does not constrain it).
        prior: the field-of-view prior's focal, pixels.
        walk: the walk measurement, None when the clip has none.
    """

    focal: float
    sigma: float
    source: str
    prior: float
    walk: WalkCalibration | None = None

    def to_dict(self) -> dict:
        out: dict = {"focal_px": round(self.focal, 2), "sigma_log": round(self.sigma, 4), "source": self.source,
                     "prior_px": round(self.prior, 2)}
        if self.walk is not None:
            w = self.walk
            out["walk"] = {"focal_px": round(w.focal, 2), "sigma_log": round(w.sigma_log_focal, 4),
                           "pitch_deg": round(math.degrees(w.pitch), 3), "roll_deg": round(math.degrees(w.roll), 3),
                           "rms_px": round(w.rms_px, 3), "frames": w.frames}
        return out


def _rotation(pitch: float, roll: float) -> np.ndarray:
    """World-to-camera rotation of :mod:`~humokit.optim.camera_model` (no yaw), numpy."""
    cp, sp, cr, sr = math.cos(pitch), math.sin(pitch), math.cos(roll), math.sin(roll)
    Rx = np.array([[1.0, 0.0, 0.0], [0.0, cp, -sp], [0.0, sp, cp]])
    Rz = np.array([[cr, -sr, 0.0], [sr, cr, 0.0], [0.0, 0.0, 1.0]])
    return Rz @ Rx @ np.diag([-1.0, -1.0, 1.0])


def calibrate_walk(foot: np.ndarray, top: np.ndarray, weight: np.ndarray, width: int, height: int, *,
                   focal0: float | None = None, min_spread: float = 0.12, min_frames: int = 12,
                   max_residual: float = 0.04, fix_roll: bool = True, lean: float = 0.3) -> WalkCalibration | None:
    """Focal, pitch, roll and height of a static camera from an upright person walking on flat ground.

    Model: world Y up, ground ``y = 0``, camera at ``(0, h, 0)`` with the rotation of
    :func:`~humokit.optim.camera_model.camera_rotation` and principal point at the image centre; frame ``t``
    has the person at ground point ``(x_t, 0, z_t)``, the ``foot`` point on the ground and the ``top`` point
    one unit above it (so ``h`` comes out in that unit). Solved by least squares over
    ``(log f, pitch, roll, h, x_t, log z_t)`` from a start at ``focal0`` (default ``max(width, height)``).

    Args:
        foot, top: ``(T, 2)`` pixels (e.g. mid-heels and mid-shoulders); NaN where unseen.
        weight: ``(T,)`` frame weights (0 = unused): upright frames should weigh most.
        min_spread: the person's image height must vary by at least this fraction (std / mean): a walk in
            depth; otherwise None.
        max_residual: RMS residual over the mean image height above which the model is rejected (None).
        fix_roll: hold the roll at 0 (a walk's lean across the image otherwise passes for roll).
        lean: bound (in units of the shoulder height) of the trunk's constant lean along the walking direction.
    Returns:
        :class:`WalkCalibration`, or None when the clip is not a walk in depth or the model does not fit.
    """
    from scipy.optimize import least_squares

    foot, top = np.asarray(foot, np.float64), np.asarray(top, np.float64)
    ok = (np.asarray(weight) > 0) & np.isfinite(foot).all(1) & np.isfinite(top).all(1)
    ok &= (foot[:, 1] - top[:, 1]) > 8.0  # upright: feet below the shoulders in the image
    if ok.sum() < min_frames:
        return None
    F, P, w = foot[ok], top[ok], np.sqrt(np.asarray(weight, np.float64)[ok])
    size = np.linalg.norm(F - P, axis=1)
    if size.std() / size.mean() < min_spread:
        return None
    f0 = float(focal0) if focal0 else float(max(width, height))
    cx, cy = width / 2.0, height / 2.0
    n = len(F)

    # start: pitch and height from the rows (small-angle model v_foot = v_h + h * (v_foot - v_top)),
    # positions from the foot's ray on that ground
    A = np.stack([np.ones(n), F[:, 1] - P[:, 1]], 1)
    a, b = np.linalg.lstsq(A * w[:, None], F[:, 1] * w, rcond=None)[0]
    p0 = math.atan((cy - a) / f0)
    h0 = float(b) if b > 0.2 else 2.0
    R0 = _rotation(p0, 0.0)
    rays = np.stack([(F[:, 0] - cx) / f0, (F[:, 1] - cy) / f0, np.ones(n)], 1) @ R0  # world directions
    down = np.clip(-rays[:, 1], 1e-3, None)
    ground = np.array([0.0, h0, 0.0]) + rays * (h0 / down)[:, None]
    z0 = np.clip(ground[:, 2], 0.3, 500.0)
    x0 = ground[:, 0]
    # walking direction per frame (from the start's ground path, smoothed): the trunk leans along it
    from scipy.ndimage import gaussian_filter1d

    gx, gz = gaussian_filter1d(x0, 3.0, mode="nearest"), gaussian_filter1d(z0, 3.0, mode="nearest")
    d = np.stack([np.gradient(gx), np.gradient(gz)], 1)
    d /= np.maximum(np.linalg.norm(d, axis=1, keepdims=True), 1e-9)
    heading = np.stack([d[:, 0], np.zeros(n), d[:, 1]], 1)

    def project(Xw: np.ndarray, f: float, R: np.ndarray, h: float) -> np.ndarray:
        Xc = (Xw - np.array([0.0, h, 0.0])) @ R.T
        z = np.maximum(Xc[:, 2], 1e-3)
        return np.stack([f * Xc[:, 0] / z + cx, f * Xc[:, 1] / z + cy], 1)

    def resid(q: np.ndarray) -> np.ndarray:
        f, p, r, h = math.exp(q[0]), q[1], q[2], q[3]
        x, z = q[4 : 4 + n], np.exp(q[4 + n : 4 + 2 * n])
        R = _rotation(p, r)
        g = np.stack([x, np.zeros(n), z], 1)
        e_foot = (project(g, f, R, h) - F) * w[:, None]
        e_top = (project(g + np.array([0.0, 1.0, 0.0]) + q[-1] * heading, f, R, h) - P) * w[:, None]
        return np.concatenate([e_foot.ravel(), e_top.ravel()])

    q0 = np.concatenate([[math.log(f0), p0, 0.0, h0], x0, np.log(z0), [0.0]])
    lo = np.concatenate([[math.log(0.2 * f0), -1.3, -0.6, 0.02], np.full(n, -np.inf), np.full(n, math.log(0.05)), [-lean]])
    hi = np.concatenate([[math.log(5.0 * f0), 1.3, 0.6, 100.0], np.full(n, np.inf), np.full(n, math.log(1e3)), [lean]])
    from scipy.sparse import lil_matrix

    sparsity = lil_matrix((4 * n, 5 + 2 * n), dtype=int)  # a frame's residuals see the camera and its own position
    sparsity[:, :4] = 1
    sparsity[2 * n :, -1] = 1
    for k in range(2):
        for c in range(2):
            rows = 2 * n * k + 2 * np.arange(n) + c
            sparsity[rows, 4 + np.arange(n)] = 1
            sparsity[rows, 4 + n + np.arange(n)] = 1
    if fix_roll:
        lo[2], hi[2], q0[2] = -1e-9, 1e-9, 0.0
    sol = least_squares(resid, np.clip(q0, lo + 1e-9, hi - 1e-9) if not fix_roll else q0, bounds=(lo, hi),
                        x_scale="jac", jac_sparsity=sparsity)
    res = sol.fun / np.repeat(np.concatenate([w, w]), 2)
    rms = float(np.sqrt(np.mean(res**2)))
    if not sol.success or rms > max_residual * float(size.mean()):
        return None
    J = sol.jac
    dof = max(len(sol.fun) - len(q0), 1)
    s2 = float((sol.fun**2).sum() / dof)
    try:
        J = J.toarray() if hasattr(J, "toarray") else J
        if fix_roll:
            J = np.delete(J, 2, axis=1)
        cov = np.linalg.pinv(J.T @ J) * s2
        sig = float(math.sqrt(max(cov[0, 0], 0.0)))
    except np.linalg.LinAlgError:
        sig = float("inf")
    return WalkCalibration(math.exp(sol.x[0]), float(sol.x[1]), float(sol.x[2]), float(sol.x[3]),
                           sig if math.isfinite(sig) else float("inf"), rms, n)


def walk_points(track: KeypointTrack, *, min_confidence: float = 0.5) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """``(foot (T, 2), top (T, 2), weight (T,))`` of a track: mid-heels, mid-shoulders, and a weight that is
    highest when the two ankles are together in the image (the upright mid-stance of a walk); None without
    those landmarks."""
    names = track.names
    need = ("left_heel", "right_heel", "left_shoulder", "right_shoulder", "left_ankle", "right_ankle")
    if any(n not in names for n in need):
        return None
    i = {n: names.index(n) for n in need}
    uv, c = track.uv, track.confidence
    foot = 0.5 * (uv[:, i["left_heel"]] + uv[:, i["right_heel"]])
    top = 0.5 * (uv[:, i["left_shoulder"]] + uv[:, i["right_shoulder"]])
    conf = c[:, [i[n] for n in need]].min(1)
    size = np.linalg.norm(foot - top, axis=1)
    gap = np.linalg.norm(uv[:, i["left_ankle"]] - uv[:, i["right_ankle"]], axis=1) / np.maximum(size, 1.0)
    w = np.where(track.found & (conf >= min_confidence) & np.isfinite(gap), 1.0 / (1.0 + (gap / 0.15) ** 2), 0.0)
    return foot, top, w


def estimate_focal(track: KeypointTrack, *, focal: float | None = None,
                   prior_sigma: float = FOCAL_PRIOR_SIGMA, min_sigma: float = MIN_WALK_SIGMA) -> FocalEstimate:
    """The focal length of a static camera for ``track`` (see the module docstring).

    ``focal`` given: returned as is (source ``"given"``). Otherwise the walk measurement
    (:func:`calibrate_walk` on :func:`walk_points`, tolerance at least ``min_sigma``) and the field-of-view
    prior ``N(log max(w, h), prior_sigma)`` are combined in log space.
    """
    prior = float(max(track.width, track.height))
    if focal is not None:
        return FocalEstimate(float(focal), 0.0, "given", prior)
    pts = walk_points(track)
    cal = calibrate_walk(*pts, track.width, track.height) if pts is not None else None
    if cal is None or not math.isfinite(cal.sigma_log_focal):
        return FocalEstimate(prior, prior_sigma, "prior", prior, cal)
    sw = max(cal.sigma_log_focal, min_sigma)
    wp, ww = 1.0 / prior_sigma**2, 1.0 / sw**2
    mu = (wp * math.log(prior) + ww * math.log(cal.focal)) / (wp + ww)
    sig = 1.0 / math.sqrt(wp + ww)
    source = "walk" if ww > wp else "prior"
    return FocalEstimate(math.exp(mu), sig, source, prior, cal)
