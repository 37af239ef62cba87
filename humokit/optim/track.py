"""One person's keypoint track through a video: selection, following, gap filling, smoothing.

One person's track comes from :func:`humokit.optim.people.detect_track`
(every person is tracked with stable identities and the ``person``-th in
prominence order is taken). :func:`reject_glitches` drops frames where the detector briefly
locked onto something else (a few frames whose torso or whole pose jumps away
from the robust local trend of the track, typically while its tracking
settles on a cluttered first frame), and :func:`reject_outlier_landmarks` single landmarks that
jump away from their own local trend for a frame or three. :func:`clean_track` then fills gaps by
interpolation (filled samples get a low confidence) and smooths with a confidence-weighted,
zero-phase one-euro filter, which removes jitter on slow motion while keeping
fast motion (its cutoff rises with speed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from humokit import _deprecated
from humokit.optim.keypoints import PersonKeypoints


@dataclass(frozen=True)
class KeypointTrack:
    """Landmarks of one person over a video sampled at a constant rate.

    Attributes:
        names: landmark names (columns of ``uv``).
        uv: ``(T, K, 2)`` pixels (NaN where never seen).
        confidence: ``(T, K)`` in [0, 1] (0 where missing).
        world: ``(T, K, 3)`` metric hip-centred landmarks in camera axes, or None.
        found: ``(T,)`` bool, the detector saw the person in that frame.
        fps: frames per second; width, height: image size in pixels.
        timings: seconds spent per stage (``decode``, ``detect``), for benchmarks.
        start: video frame of the first row (a track trimmed to where the person is reliably seen,
            :func:`humokit.optim.people.prepare_track`, starts later than the video).
    """

    names: tuple[str, ...]
    uv: np.ndarray
    confidence: np.ndarray
    world: np.ndarray | None
    found: np.ndarray
    fps: float
    width: int
    height: int
    timings: dict[str, float] = field(default_factory=dict)
    start: int = 0

    @property
    def num_frames(self) -> int:
        return int(self.uv.shape[0])

    def index(self, name: str) -> int:
        return self.names.index(name)

    def save(self, path: str | Path) -> None:
        """Write the track as ``.npz`` (atomic)."""
        from humokit._io import atomic_path

        with atomic_path(path) as tmp:
            np.savez_compressed(
                tmp, names=np.array(self.names), uv=self.uv, confidence=self.confidence,
                world=self.world if self.world is not None else np.zeros((0,)), found=self.found,
                fps=self.fps, width=self.width, height=self.height, start=self.start,
            )

    @classmethod
    def load(cls, path: str | Path) -> "KeypointTrack":
        d = np.load(path)
        world = d["world"] if d["world"].size else None
        return cls(tuple(str(n) for n in d["names"]), d["uv"], d["confidence"], world, d["found"].astype(bool),
                   float(d["fps"]), int(d["width"]), int(d["height"]), start=int(d["start"]) if "start" in d else 0)


def prominence(p: PersonKeypoints, width: int, height: int) -> float:
    """Ranking score: box size relative to the image minus distance of its centre from the image centre."""
    b = p.bbox()
    diag = math.hypot(width, height)
    size = math.sqrt(max(b[2] - b[0], 1.0) * max(b[3] - b[1], 1.0)) / diag
    c = np.array([(b[0] + b[2]) / 2 - width / 2, (b[1] + b[3]) / 2 - height / 2])
    return float(size - 0.5 * np.linalg.norm(c) / diag)


# ----------------------------------------------------------------------------- cleaning


def fill_gaps(values: np.ndarray, weight: np.ndarray, *, min_weight: float = 0.2) -> tuple[np.ndarray, np.ndarray]:
    """Linear interpolation over frames whose weight is below ``min_weight``.

    Args:
        values: ``(T, K, D)``; weight: ``(T, K)``.
    Returns:
        ``(filled (T, K, D), weight (T, K))``: filled samples keep their low
        weight (at most ``min_weight / 2``); leading/trailing gaps hold the
        nearest good value; a landmark never seen stays NaN with weight 0.
    """
    T, K, D = values.shape
    out = values.copy()
    w = weight.copy()
    t = np.arange(T)
    for k in range(K):
        good = (weight[:, k] >= min_weight) & np.isfinite(values[:, k]).all(-1)
        if good.all():
            continue
        if not good.any():
            w[:, k] = 0.0
            continue
        for d in range(D):
            out[~good, k, d] = np.interp(t[~good], t[good], values[good, k, d])
        w[~good, k] = np.minimum(np.nan_to_num(weight[~good, k]), min_weight / 2)
    return out, w


def one_euro(
    x: np.ndarray,
    weight: np.ndarray,
    fps: float,
    *,
    min_cutoff: float = 1.5,
    beta: float = 0.5,
    d_cutoff: float = 1.0,
) -> np.ndarray:
    """Confidence-weighted one-euro filter, run forward and backward and averaged (no lag).

    The smoothing factor of each sample is the one-euro ``alpha`` (cutoff =
    ``min_cutoff + beta * |speed|`` Hz) times the sample's weight, so a
    low-confidence sample moves the estimate little while fast, confident
    motion passes almost unfiltered.

    Args:
        x: ``(T, K, D)`` signal (units per frame; speed in units/s feeds the cutoff).
        weight: ``(T, K)`` in [0, 1].
    Returns:
        ``(T, K, D)`` smoothed signal.
    """
    if x.shape[0] < 3:
        return x.copy()
    w = np.clip(np.nan_to_num(weight), 0.0, 1.0)[..., None]

    def alpha(cutoff: np.ndarray) -> np.ndarray:
        tau = 1.0 / (2 * math.pi * cutoff)
        return 1.0 / (1.0 + tau * fps)

    def run(sig: np.ndarray, wt: np.ndarray) -> np.ndarray:
        out = np.empty_like(sig)
        prev = sig[0].copy()
        dprev = np.zeros_like(prev)
        out[0] = prev
        a_d = alpha(np.asarray(d_cutoff))
        for i in range(1, len(sig)):
            dx = (sig[i] - prev) * fps
            dprev = dprev + a_d * wt[i] * (dx - dprev)
            speed = np.linalg.norm(dprev, axis=-1, keepdims=True)
            a = alpha(min_cutoff + beta * speed) * np.maximum(wt[i], 0.05)
            prev = prev + a * (sig[i] - prev)
            out[i] = prev
        return out

    fwd = run(x, w)
    bwd = run(x[::-1], w[::-1])[::-1]
    return 0.5 * (fwd + bwd)


def _robust_lines(t: np.ndarray, y: np.ndarray, iters: int = 3, c: float = 4.685) -> np.ndarray:
    """Per column, a straight line through ``y (n, k, d)`` over times ``t (n,)``, robust to outliers.

    Least median of squares over the lines through every pair of samples
    (tolerates up to half the samples being outliers, wherever they are),
    refined by reweighted least squares with Tukey's biweight; returns the
    fitted values ``(n, k, d)``.
    """
    n = len(t)
    a, b = np.triu_indices(n, 1)
    slope = (y[b] - y[a]) / (t[b] - t[a])[:, None, None]  # (P, k, d)
    lines = y[a][None] + (t[:, None] - t[a][None])[..., None, None] * slope[None]  # (n, P, k, d)
    med = np.median(np.linalg.norm(y[:, None] - lines, axis=-1), axis=0)  # (P, k)
    best = med.argmin(0)  # (k,)
    fit = lines[:, best, np.arange(y.shape[1])]  # (n, k, d)
    for _ in range(iters):
        r = np.linalg.norm(y - fit, axis=-1)  # (n, k)
        u = r / (c * 1.4826 * np.median(r, axis=0) + 1e-6)
        w = np.where(u < 1.0, (1.0 - u**2) ** 2, 0.0)
        tw = w.sum(0).clip(1e-9)  # (k,)
        mt = (w * t[:, None]).sum(0) / tw
        my = (w[..., None] * y).sum(0) / tw[:, None]
        dt = t[:, None] - mt  # (n, k)
        sl = (w[..., None] * dt[..., None] * (y - my)).sum(0) / (w * dt**2).sum(0).clip(1e-9)[:, None]
        fit = my + dt[..., None] * sl
    return fit


_BODY_PARTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle", "heel", "foot_index")


def reject_glitches(track: KeypointTrack, *, window: int = 15, torso: float = 0.45, pose: float = 0.6) -> KeypointTrack:
    """Copy of ``track`` without frames where the detection jumped off the person for a moment.

    For each frame, robust straight lines (:func:`_robust_lines`) are fitted
    through the nearest ``window`` found frames of (a) the torso's centre and
    length (shoulders and hips) and (b) every body landmark (limbs and torso;
    all landmarks for detectors without those names); the frame is a glitch
    when its torso is more than ``torso`` torso lengths from its line, or the
    median landmark is more than ``pose`` torso lengths from its own (on the
    rendered clips of ``benchmarks/recover.py`` no clean frame reached either
    threshold, walks across the image included, while frames where MediaPipe
    had locked onto the cluttered background scored 0.7-1.6). Glitch frames
    (and one frame either side) are marked not found, with zero confidence,
    so :func:`clean_track` fills them from the frames around. Tracks without
    shoulder and hip landmarks, or with fewer than ``window`` found frames,
    are returned unchanged.
    """
    names = list(track.names)
    need = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    T = track.num_frames
    if any(n not in names for n in need) or T < window:
        return track
    S, H = [names.index(n) for n in need[:2]], [names.index(n) for n in need[2:]]
    uv = track.uv
    ok = track.found & np.isfinite(uv).all(-1).all(-1)
    if ok.sum() < window:
        return track
    centre = 0.25 * (uv[:, S].sum(1) + uv[:, H].sum(1))
    length = np.linalg.norm(uv[:, S].mean(1) - uv[:, H].mean(1), axis=-1)
    L = max(float(np.median(length[ok])), 1e-6)
    body = np.concatenate([centre, length[:, None]], -1)[:, None] / L  # (T, 1, 3)
    body_marks = [i for i, n in enumerate(names) if n.split("_", 1)[-1] in _BODY_PARTS] or list(range(len(names)))
    marks = uv[:, body_marks] / L  # (T, K', 2)
    good = np.nonzero(ok)[0]
    glitch = np.zeros(T, dtype=bool)
    for t in good:
        k = int(np.searchsorted(good, t))
        a = max(0, min(k - window // 2, len(good) - window))
        idx = good[a : a + window]
        i = k - a  # t's place in the window
        tt = idx.astype(np.float64)
        d_torso = np.linalg.norm(body[t, 0] - _robust_lines(tt, body[idx])[i, 0])
        d_pose = np.median(np.linalg.norm(marks[t] - _robust_lines(tt, marks[idx])[i], axis=-1))
        glitch[t] = d_torso > torso or d_pose > pose
    if not glitch.any():
        return track
    glitch = glitch | np.r_[glitch[1:], False] | np.r_[False, glitch[:-1]]
    conf = np.where(glitch[:, None], 0.0, track.confidence)
    return replace(track, confidence=conf, found=track.found & ~glitch)


def clean_track(track: KeypointTrack, *, min_cutoff: float = 5.0, beta: float = 5.0) -> KeypointTrack:
    """Gap-filled, confidence-weighted smoothed copy of ``track`` (see module docstring).

    2D landmarks are filtered in units of the person's median box height (so
    ``beta`` is resolution-free); world landmarks in metres. The filter is light: the fit has its own
    temporal terms, and on the val renders of ``benchmarks/recover.py`` (20 fps) the earlier cutoff of
    1.5 Hz (``beta`` 0.7) put the limbs' 2D landmarks 11.0 px from the projected truth on average (9.4 px
    with 5 Hz and ``beta`` 5; the detections themselves 7.0 px where present; a waving wrist 12.8 against
    2.0 px), and the recovered PA-MPJPE went 43.2 -> 38.7 mm, W-MPJPE 262 -> 225 mm and accel 14.7 -> 14.0
    (8 clips) with the lighter filter; filtering the 3D landmarks less too was part of that (keeping their
    old filter gave 39.0 / 236 / 13.9).
    """
    uv, w = fill_gaps(track.uv, track.confidence)
    boxes = [np.ptp(uv[t][track.confidence[t] > 0.3], axis=0) for t in range(track.num_frames)
             if (track.confidence[t] > 0.3).sum() >= 2]
    scale = float(np.median([b[1] for b in boxes])) if boxes else float(track.height)
    scale = max(scale, 1.0)
    fin = np.isfinite(uv).all(-1)
    uv_s = uv.copy()
    if fin.any():
        sm = one_euro(np.nan_to_num(uv) / scale, np.where(fin, w, 0.0), track.fps, min_cutoff=min_cutoff, beta=beta)
        uv_s = np.where(fin[..., None], sm * scale, np.nan)
    world = None
    if track.world is not None:
        wf, _ = fill_gaps(track.world, np.where(track.found[:, None], np.maximum(track.confidence, 0.25), 0.0))
        finw = np.isfinite(wf).all(-1)
        world = np.where(finw[..., None], one_euro(np.nan_to_num(wf), np.where(finw, w.clip(0.25), 0.0), track.fps,
                                                   min_cutoff=min_cutoff, beta=beta), np.nan)
    return replace(track, uv=uv_s, confidence=w, world=world)


def reject_outlier_landmarks(track: KeypointTrack, *, window: int = 9, limit: float = 1.4) -> KeypointTrack:
    """Copy of ``track`` with single landmarks the detector put far off for a moment set to confidence 0.

    Each body landmark's position relative to the mid-hip, in torso lengths, is compared with a robust
    straight line (:func:`_robust_lines`) through the nearest ``window`` found frames; a landmark more than
    ``limit`` torso lengths from its line is dropped in that frame (:func:`clean_track` fills it from the
    frames around). On the rendered val clips of ``benchmarks/recover.py`` every landmark above 1.3 torso
    lengths was 40-200 px off the truth (an ankle drawn at the knee while MediaPipe's tracking settles,
    a foot or wrist jumping for two or three frames), while correct landmarks stayed below 1.3, fast
    swings of wrists and feet included. Tracks without shoulders and hips, or with fewer than ``window``
    found frames, are returned unchanged.
    """
    names = list(track.names)
    need = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    if any(n not in names for n in need):
        return track
    S, H = [names.index(n) for n in need[:2]], [names.index(n) for n in need[2:]]
    uv = track.uv
    ok = track.found & np.isfinite(uv[:, S + H]).all(-1).all(-1)
    if ok.sum() < window:
        return track
    L = max(float(np.median(np.linalg.norm(uv[ok][:, S].mean(1) - uv[ok][:, H].mean(1), axis=-1))), 1e-6)
    marks = [i for i, n in enumerate(names) if n.split("_", 1)[-1] in _BODY_PARTS]
    rel = (uv[:, marks] - uv[:, H].mean(1, keepdims=True)) / L  # (T, K', 2)
    seen = np.isfinite(rel).all(-1) & (track.confidence[:, marks] > 0)
    rel = np.nan_to_num(rel)
    good = np.nonzero(ok)[0]
    drop = np.zeros((track.num_frames, len(marks)), dtype=bool)
    for t in good:
        k = int(np.searchsorted(good, t))
        a = max(0, min(k - window // 2, len(good) - window))
        idx = good[a : a + window]
        fit = _robust_lines(idx.astype(np.float64), rel[idx])[k - a]
        drop[t] = (np.linalg.norm(rel[t] - fit, axis=-1) > limit) & seen[t]
    if not drop.any():
        return track
    conf = track.confidence.copy()
    conf[:, marks] = np.where(drop, 0.0, conf[:, marks])
    return replace(track, confidence=conf)


# ----------------------------------------------------------------------------- left/right swaps

# Limb groups whose left/right labels a detector can swap independently (landmark name suffixes).
SWAP_GROUPS: dict[str, tuple[str, ...]] = {
    "legs": ("knee", "ankle", "heel", "foot_index"),
    "arms": ("elbow", "wrist", "pinky", "index", "thumb"),
    "torso": ("shoulder", "hip", "eye_inner", "eye", "eye_outer", "ear"),
}


def _swap_pairs(names: tuple[str, ...], parts: tuple[str, ...]) -> list[tuple[int, int]]:
    idx = {n: i for i, n in enumerate(names)}
    return [(idx[f"left_{p}"], idx[f"right_{p}"]) for p in parts if f"left_{p}" in idx and f"right_{p}" in idx]


def swap_states(
    x: np.ndarray,
    weight: np.ndarray,
    pairs: list[tuple[int, int]],
    *,
    tolerance: float,
    swap_cost: float = 0.5,
    cap: float = 25.0,
) -> np.ndarray:
    """Most likely per-frame swap state of one left/right landmark group (Viterbi over 2 states).

    The cost of a path is, per pair of consecutive frames, the confidence-weighted
    mean of ``min(|x_t - x_{t-1}|^2 / tolerance^2, cap)`` over the group's
    landmarks with each frame's labels taken as detected (state 0) or swapped
    (state 1), plus ``swap_cost`` per swapped frame (so ties keep the labels).
    A detector that swaps the labels on a few frames makes two big jumps that
    swapping those frames removes; limbs crossing each other cost about the same
    either way and are left alone.

    Args:
        x: ``(T, K, D)`` landmark positions (any units; e.g. relative to the
            body centre so that body motion cancels); NaN = missing.
        weight: ``(T, K)`` confidences in [0, 1].
        pairs: ``(left column, right column)`` of the group.
        tolerance: expected frame-to-frame motion of a landmark, units of ``x``.
    Returns:
        ``(T,)`` bool, True where the group's labels should be swapped.
    """
    T = x.shape[0]
    if T < 2 or not pairs:
        return np.zeros(T, dtype=bool)
    L = [a for a, _ in pairs]
    R = [b for _, b in pairs]
    cols = np.array(L + R)
    mirror = np.array(R + L)
    w = np.where(np.isfinite(x).all(-1), np.nan_to_num(weight), 0.0)
    xs = np.nan_to_num(x)
    # views[s]: (T, 2P, D) positions and weights of the group's columns under state s
    pos = (xs[:, cols], xs[:, mirror])
    wt = (w[:, cols], w[:, mirror])
    trans = np.zeros((T - 1, 2, 2))  # trans[t-1, a, b]: frame t-1 in state a -> frame t in state b
    for a in range(2):
        for b in range(2):
            d2 = ((pos[b][1:] - pos[a][:-1]) ** 2).sum(-1) / tolerance**2
            ww = np.minimum(wt[b][1:], wt[a][:-1])
            trans[:, a, b] = (ww * np.minimum(d2, cap)).sum(-1) / np.maximum(ww.sum(-1), 1e-6)
    unary = np.array([0.0, swap_cost])
    cost = unary.copy()
    back = np.zeros((T, 2), dtype=np.int64)
    for t in range(1, T):
        c = cost[:, None] + trans[t - 1]  # (a, b)
        back[t] = c.argmin(0)
        cost = c.min(0) + unary
    states = np.zeros(T, dtype=np.int64)
    states[-1] = int(cost.argmin())
    for t in range(T - 1, 0, -1):
        states[t - 1] = back[t, states[t]]
    return states.astype(bool)


def fix_swaps(
    track: KeypointTrack,
    *,
    groups: dict[str, tuple[str, ...]] | None = None,
    tolerance_2d: float = 0.05,
    tolerance_3d: float = 0.1,
    swap_cost: float = 1.0,
) -> KeypointTrack:
    """Undo per-frame left/right label swaps of the detector, for each limb group independently.

    Each group of :data:`SWAP_GROUPS` (legs, arms, torso+face) gets its own
    :func:`swap_states` path from the temporal continuity of its 2D landmarks
    (relative to the mid-hip, in units of the person's median height in
    pixels, ``tolerance_2d``) and, when present, of its 3D landmarks (metres,
    ``tolerance_3d``); the labels of the swapped frames are exchanged in
    ``uv``, ``confidence`` and ``world``.

    Returns:
        A corrected copy of ``track``.
    """
    groups = SWAP_GROUPS if groups is None else groups
    T = track.num_frames
    if T < 3:
        return track
    names = track.names
    conf = track.confidence
    good = conf > 0.3
    hts = [np.ptp(track.uv[t][good[t]][:, 1]) for t in range(T) if good[t].sum() >= 3]
    height = max(float(np.median(hts)) if hts else float(track.height) / 2, 8.0)
    centre = None
    if "left_hip" in names and "right_hip" in names:
        centre = 0.5 * (track.uv[:, names.index("left_hip")] + track.uv[:, names.index("right_hip")])
    uv = track.uv.copy()
    world = None if track.world is None else track.world.copy()
    conf = conf.copy()
    for gname, parts in groups.items():
        pairs = _swap_pairs(names, parts)
        if not pairs:
            continue
        # body-centred 2D (the torso group uses its own centroid: swapping keeps it)
        if gname == "torso" or centre is None:
            cols = [i for p in pairs for i in p]
            fin = np.isfinite(track.uv[:, cols]).all(-1, keepdims=True)
            c = (np.nan_to_num(track.uv[:, cols]) * fin).sum(1) / np.maximum(fin.sum(1), 1)
        else:
            c = centre
        x = (track.uv - c[:, None]) / (height * tolerance_2d)
        feats = [x]
        wts = [conf]
        if track.world is not None and np.isfinite(track.world).any():
            feats.append(track.world / tolerance_3d)
            wts.append(conf)
        X = np.concatenate(feats, axis=-1)
        # 2D and 3D stacked per landmark: a sample counts where both are finite
        sw = swap_states(X, conf, pairs, tolerance=1.0, swap_cost=swap_cost)
        if not sw.any():
            continue
        for a, b in pairs:
            for arr in (uv, conf) + ((world,) if world is not None else ()):
                tmp = arr[sw, a].copy()
                arr[sw, a] = arr[sw, b]
                arr[sw, b] = tmp
    return replace(track, uv=uv, confidence=conf, world=world)


def __getattr__(name: str) -> object:
    return _deprecated.moved_name(__name__, name)  # detect_track and follow_person moved to humokit.optim.people
