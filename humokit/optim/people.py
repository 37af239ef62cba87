"""Every person in a video: tracking with stable identities, reliable spans, dropouts, partial bodies.

:class:`PeopleTracker` is the association core (pure numpy, no video): each
frame it takes the candidate detections and assigns them to its tracks with
the Hungarian algorithm (:func:`scipy.optimize.linear_sum_assignment`) on a
cost that adds

- box overlap with the track's **constant-velocity prediction** (``1 - IoU``),
- **pose** distance: median landmark distance to the predicted landmarks, in
  units of the person's box height,
- **appearance**: Bhattacharyya distance between hue-saturation histograms of
  the torso (:func:`torso_histogram`) and the track's running histogram,

inside a gate on the centre distance (which widens while a track is unseen,
so a person hidden for a moment by another is picked up again where their
motion carries them) and on the box size. Two people crossing with similar
boxes keep their identities: the occluded one coasts on its velocity, and
the one in front matches its own prediction, pose and clothes better.

:func:`detect_people` runs it on a video: each track is followed by the
detector's tracking mode inside its predicted box (one temporal state per
person, :meth:`~humokit.optim.keypoints.KeypointDetector.track`), and a
full-image multi-person detection runs every few frames, whenever a track
went unseen, and whenever two predicted boxes overlap. A candidate that the
tracking mode of person A returned but that the assignment gave to person B
resets A's tracking state (the detector had slid onto B).

Per track, :func:`reliable_span` gives the frames between the first and last
**run** of detections (a lone detection is not a start: nothing before a
reliable run is fabricated from it), :func:`dropouts` the gaps inside, and
:func:`body_visibility` / :func:`hold_unseen_limbs` the parts of the body that
the image never shows (close-ups, people cut by the frame edge): they are
flagged and held at a neutral pose instead of following the detector's guess.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from tqdm import tqdm

from humokit.errors import InputError
from humokit.optim.keypoints import KeypointDetector, PersonKeypoints, _grow, _iou
from humokit.optim.track import KeypointTrack, prominence

_TORSO = ("left_shoulder", "right_shoulder", "right_hip", "left_hip")

# Limb groups checked for visibility (landmark names); "legs" of a close-up, "head" of someone cut at the top.
BODY_PARTS: dict[str, tuple[str, ...]] = {
    "head": ("nose", "left_eye", "right_eye", "left_ear", "right_ear"),
    "torso": ("left_shoulder", "right_shoulder", "left_hip", "right_hip"),
    "left_arm": ("left_elbow", "left_wrist"),
    "right_arm": ("right_elbow", "right_wrist"),
    "left_leg": ("left_knee", "left_ankle", "left_heel", "left_foot_index"),
    "right_leg": ("right_knee", "right_ankle", "right_heel", "right_foot_index"),
}


# ----------------------------------------------------------------------------- appearance


def torso_histogram(image: np.ndarray, person: PersonKeypoints, names: tuple[str, ...], *,
                    bins: tuple[int, int] = (12, 3), min_conf: float = 0.5) -> np.ndarray | None:
    """Normalised hue-saturation histogram of the clothes on a person's torso.

    The torso is the box of the shoulders and hips shrunk to its central
    part (so arms and background count little). Hue x saturation bins cover
    saturated pixels (soft binning, hue wrapping around); dark or grey pixels
    go into ``bins[1]`` extra value bins.

    Args:
        image: ``(H, W, 3)`` uint8 RGB.
        person: landmarks in pixels of ``image``; names: their names.
    Returns:
        ``(bins[0] * bins[1] + bins[1],)`` float64 summing to 1, or None
        when the torso landmarks are not confidently seen or the box is tiny.
    """
    if any(n not in names for n in _TORSO):
        return None
    idx = [names.index(n) for n in _TORSO]
    if (person.confidence[idx] < min_conf).any() or not np.isfinite(person.uv[idx]).all():
        return None
    pts = person.uv[idx]
    x0, y0 = pts.min(0)
    x1, y1 = pts.max(0)
    w, h = x1 - x0, y1 - y0
    x0, x1 = x0 + 0.2 * w, x1 - 0.2 * w
    y0, y1 = y0 + 0.15 * h, y1 - 0.1 * h
    H, W = image.shape[:2]
    xa, xb = int(max(0, math.floor(x0))), int(min(W, math.ceil(x1)))
    ya, yb = int(max(0, math.floor(y0))), int(min(H, math.ceil(y1)))
    if xb - xa < 3 or yb - ya < 3:
        return None
    patch = image[ya:yb, xa:xb].reshape(-1, 3).astype(np.float64) / 255.0
    step = max(1, len(patch) // 4000)
    patch = patch[::step]
    mx, mn = patch.max(1), patch.min(1)
    sat = np.where(mx > 1e-6, (mx - mn) / np.maximum(mx, 1e-6), 0.0)
    r, g, b = patch.T
    d = np.maximum(mx - mn, 1e-9)
    hue = np.where(mx == r, ((g - b) / d) % 6, np.where(mx == g, (b - r) / d + 2, (r - g) / d + 4)) / 6.0
    nh, ns = bins
    chroma = (sat > 0.2) & (mx > 0.15)
    hist = np.zeros(nh * ns + ns)
    # soft (linear) binning: hue wraps around (red sits at both ends), saturation and value clip
    hp = hue[chroma] * nh - 0.5
    h0 = np.floor(hp)
    wh = hp - h0
    sp = np.clip((sat[chroma] - 0.2) / 0.8 * ns - 0.5, 0.0, ns - 1.0)
    s0 = np.minimum(np.floor(sp), ns - 2) if ns > 1 else np.zeros_like(sp)
    ws = sp - s0 if ns > 1 else np.zeros_like(sp)
    for dh, wgt_h in ((0, 1 - wh), (1, wh)):
        for ds, wgt_s in ((0, 1 - ws), (1, ws)):
            if ns == 1 and ds == 1:
                continue
            idx = ((h0 + dh).astype(int) % nh) * ns + (s0 + ds).astype(int)
            np.add.at(hist, idx, wgt_h * wgt_s)
    vp = np.clip(mx[~chroma] * ns - 0.5, 0.0, ns - 1.0)
    v0 = np.minimum(np.floor(vp), max(ns - 2, 0))
    wv = vp - v0
    np.add.at(hist, nh * ns + v0.astype(int), 1 - wv)
    np.add.at(hist, nh * ns + np.minimum(v0.astype(int) + 1, ns - 1), wv)
    return hist / max(hist.sum(), 1e-9)


def bhattacharyya(a: np.ndarray, b: np.ndarray) -> float:
    """Distance in [0, 1] between two normalised histograms (0 = identical)."""
    return float(math.sqrt(max(0.0, 1.0 - float(np.sqrt(a * b).sum()))))


# ----------------------------------------------------------------------------- association


MIN_FOLLOW_PX = 24.0  # px: smaller predicted people get no tracking graph (MediaPipe finds nobody that small)


@dataclass(frozen=True)
class TrackerConfig:
    """Settings of :class:`PeopleTracker`.

    Attributes:
        w_iou, w_pose, w_appearance: weights of the three assignment costs (each in about [0, 1]).
        max_cost: assignments costing more are refused (the candidate may start a new track).
        gate: largest centre distance from the prediction, in box heights, for a track seen last frame;
            it grows by ``gate_growth`` per second unseen.
        min_hits: detections before a new track counts (confirmed); shorter tracks are dropped.
        max_age_s: a track unseen longer than this is closed (a person returning later is a new track).
        appearance_rate: how fast the track's histogram follows new detections (exponential average).
        min_conf: landmark confidence that counts as seen (boxes, pose cost).
    """

    w_iou: float = 1.0
    w_pose: float = 1.0
    w_appearance: float = 1.5
    max_cost: float = 2.0
    gate: float = 0.6
    gate_growth: float = 1.0
    min_hits: int = 3
    max_age_s: float = 2.0
    appearance_rate: float = 0.1
    min_conf: float = 0.5

    def __post_init__(self) -> None:
        if min(self.w_iou, self.w_pose, self.w_appearance) < 0 or self.max_cost <= 0 or self.gate <= 0:
            raise InputError("tracker: weights must be >= 0, max_cost and gate > 0")
        if self.min_hits < 1 or self.max_age_s < 0 or not 0 < self.appearance_rate <= 1:
            raise InputError("tracker: need min_hits >= 1, max_age_s >= 0, 0 < appearance_rate <= 1")


@dataclass(frozen=True)
class Candidate:
    """One detected person in one frame, ready for association.

    Attributes:
        keypoints: the landmarks; hist: torso colour histogram or None;
        source: key of the track whose tracking mode produced it, or None (full-image detection).
    """

    keypoints: PersonKeypoints
    hist: np.ndarray | None = None
    source: int | None = None


def _box(p: PersonKeypoints, min_conf: float) -> np.ndarray:
    return p.bbox(min_conf)


@dataclass
class _Track:
    key: int
    box: np.ndarray  # (4,) last seen box
    uv: np.ndarray  # (K, 2) last seen landmarks
    conf: np.ndarray  # (K,)
    last: int  # frame last seen
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(2))  # box centre, px/frame
    hist: np.ndarray | None = None
    hits: int = 1
    rows: dict[int, PersonKeypoints] = field(default_factory=dict)
    closed: bool = False

    def predict(self, t: int) -> tuple[np.ndarray, np.ndarray]:
        """Predicted ``(box (4,), landmarks (K, 2))`` at frame ``t`` (constant velocity)."""
        d = self.velocity * (t - self.last)
        return self.box + np.r_[d, d], self.uv + d

    @property
    def height(self) -> float:
        return float(max(self.box[3] - self.box[1], self.box[2] - self.box[0], 1.0))


class PeopleTracker:
    """Online multi-person association: candidates per frame in, identities out (see module docstring).

    Use: per frame ``t`` (increasing), :meth:`predictions` for the tracking
    regions, then :meth:`update` with the frame's candidates; at the end
    :meth:`tracks`.
    """

    def __init__(self, fps: float, config: TrackerConfig | None = None) -> None:
        if not (math.isfinite(fps) and fps > 0):
            raise InputError(f"tracker: fps must be positive, got {fps}")
        self.fps = float(fps)
        self.cfg = config or TrackerConfig()
        self._tracks: list[_Track] = []
        self._next = 0

    def active(self, t: int) -> list[_Track]:
        """Tracks not closed at frame ``t``."""
        max_age = max(1, round(self.cfg.max_age_s * self.fps))
        for tr in self._tracks:
            if not tr.closed and t - tr.last > max_age:
                tr.closed = True
        return [tr for tr in self._tracks if not tr.closed]

    def predictions(self, t: int) -> dict[int, np.ndarray]:
        """``{key: predicted box (4,)}`` of the active tracks at frame ``t``."""
        return {tr.key: tr.predict(t)[0] for tr in self.active(t)}

    def most_followed(self, t: int, limit: int, *, min_size: float = MIN_FOLLOW_PX) -> list[int]:
        """Keys of at most ``limit`` active tracks worth a tracking graph at frame ``t``: predicted boxes of at
        least ``min_size`` px, seen most recently first, then most often, then largest."""
        live = [tr for tr in self.active(t) if tr.height >= min_size]
        live.sort(key=lambda tr: (t - tr.last, -tr.hits, -tr.height))
        return [tr.key for tr in live[: max(0, int(limit))]]

    def cost(self, tr: _Track, c: Candidate, t: int) -> float:
        """Assignment cost of candidate ``c`` to track ``tr`` at frame ``t`` (inf outside the gate)."""
        cfg = self.cfg
        pbox, puv = tr.predict(t)
        box = _box(c.keypoints, cfg.min_conf)
        h = tr.height
        gap_s = (t - tr.last) / self.fps
        centre = 0.5 * (box[:2] + box[2:]) - 0.5 * (pbox[:2] + pbox[2:])
        if np.linalg.norm(centre) > (cfg.gate + cfg.gate_growth * max(gap_s - 1.0 / self.fps, 0.0)) * h:
            return math.inf
        size = max(box[3] - box[1], box[2] - box[0], 1.0)
        if not 0.5 < size / h < 2.0:
            return math.inf
        cost = cfg.w_iou * (1.0 - _iou(pbox, box))
        both = (tr.conf >= cfg.min_conf) & (c.keypoints.confidence >= cfg.min_conf)
        both &= np.isfinite(puv).all(-1) & np.isfinite(c.keypoints.uv).all(-1)
        if both.sum() >= 3:
            d = np.median(np.linalg.norm(puv[both] - c.keypoints.uv[both], axis=-1)) / h
            cost += cfg.w_pose * min(d / 0.25, 2.0)
        else:
            cost += cfg.w_pose * 0.5
        if tr.hist is not None and c.hist is not None:
            cost += cfg.w_appearance * bhattacharyya(tr.hist, c.hist)
        return float(cost)

    def update(self, t: int, candidates: list[Candidate]) -> dict[int, int]:
        """Assign frame ``t``'s candidates; unmatched ones start tracks. Returns ``{candidate index: key}``."""
        from scipy.optimize import linear_sum_assignment

        act = self.active(t)
        out: dict[int, int] = {}
        if act and candidates:
            C = np.array([[self.cost(tr, c, t) for c in candidates] for tr in act])
            big = 1e6
            rows, cols = linear_sum_assignment(np.where(np.isfinite(C), C, big))
            for r, k in zip(rows, cols):
                if C[r, k] <= self.cfg.max_cost:
                    self._assign(act[r], candidates[k], t)
                    out[int(k)] = act[r].key
        for k, c in enumerate(candidates):
            if k in out:
                continue
            # a second candidate on an already-matched person (the detector found them twice) is no new person
            box = _box(c.keypoints, self.cfg.min_conf)
            if any(_iou(box, _box(candidates[j].keypoints, self.cfg.min_conf)) > 0.5 for j in out):
                continue
            tr = _Track(self._next, box, c.keypoints.uv.copy(), c.keypoints.confidence.copy(), t, hist=c.hist)
            tr.rows[t] = c.keypoints
            self._tracks.append(tr)
            out[k] = tr.key
            self._next += 1
        return out

    def claim(self, t: int, key: int, candidate: Candidate) -> bool:
        """Give ``candidate`` to the active track ``key`` if it passes its gate and ``max_cost``
        (a second look for a person the frame's assignment left without a detection)."""
        tr = next((x for x in self.active(t) if x.key == key), None)
        if tr is None or tr.last == t or self.cost(tr, candidate, t) > self.cfg.max_cost:
            return False
        self._assign(tr, candidate, t)
        return True

    def _assign(self, tr: _Track, c: Candidate, t: int) -> None:
        box = _box(c.keypoints, self.cfg.min_conf)
        dt = max(t - tr.last, 1)
        v = (0.5 * (box[:2] + box[2:]) - 0.5 * (tr.box[:2] + tr.box[2:])) / dt
        tr.velocity = v if tr.hits == 1 else 0.6 * tr.velocity + 0.4 * v
        tr.box = box
        seen = c.keypoints.confidence >= self.cfg.min_conf
        tr.uv = np.where(seen[:, None], c.keypoints.uv, tr.uv + v * dt)
        tr.conf = np.maximum(c.keypoints.confidence, 0.5 * tr.conf)
        tr.last = t
        tr.hits += 1
        if c.hist is not None:
            a = self.cfg.appearance_rate if tr.hist is not None and tr.hits > 3 else 1.0 / tr.hits
            tr.hist = c.hist if tr.hist is None else (1 - a) * tr.hist + a * c.hist
        tr.rows[t] = c.keypoints

    def tracks(self) -> list[dict[int, PersonKeypoints]]:
        """Per confirmed track (at least ``min_hits`` detections), ``{frame: landmarks}``, in order of creation."""
        return [tr.rows for tr in self._tracks if len(tr.rows) >= self.cfg.min_hits]


def to_keypoint_track(rows: dict[int, PersonKeypoints], num_frames: int, names: tuple[str, ...], fps: float,
                      width: int, height: int) -> KeypointTrack:
    """A whole-video :class:`KeypointTrack` (found where ``rows`` has the frame) from one person's detections."""
    ref = next(iter(rows.values()))
    K = ref.uv.shape[0]
    uv = np.full((num_frames, K, 2), np.nan)
    conf = np.zeros((num_frames, K))
    world = np.full((num_frames, K, 3), np.nan) if ref.world is not None else None
    found = np.zeros(num_frames, dtype=bool)
    for t, p in rows.items():
        uv[t], conf[t], found[t] = p.uv, p.confidence, True
        if world is not None and p.world is not None:
            world[t] = p.world
    return KeypointTrack(names or tuple(f"kp{i}" for i in range(K)), uv, conf, world, found, float(fps), int(width),
                         int(height))


def rank_people(tracks: list[KeypointTrack]) -> list[int]:
    """Order of ``tracks`` for naming: those seen on the first frame with anyone, most prominent first
    (:func:`~humokit.optim.track.prominence`), then the others by first appearance."""
    if not tracks:
        return []
    firsts = [int(np.argmax(tr.found)) for tr in tracks]
    t0 = min(firsts)

    def key(i: int) -> tuple[int, float]:
        tr = tracks[i]
        if firsts[i] != t0:
            return (firsts[i], 0.0)
        p = PersonKeypoints(tr.uv[t0], tr.confidence[t0])
        return (t0, -prominence(p, tr.width, tr.height))

    return sorted(range(len(tracks)), key=key)


def _dedupe(cands: list[Candidate], min_conf: float) -> list[Candidate]:
    """Drop candidates that repeat an earlier one (box IoU > 0.6 or landmarks within 5 % of the box)."""
    out: list[Candidate] = []
    for c in cands:
        b = _box(c.keypoints, min_conf)
        h = max(b[3] - b[1], b[2] - b[0], 1.0)
        dup = False
        for o in out:
            if _iou(b, _box(o.keypoints, min_conf)) > 0.6:
                dup = True
            else:
                d = np.nanmedian(np.linalg.norm(o.keypoints.uv - c.keypoints.uv, axis=-1))
                dup = bool(d < 0.05 * h)
            if dup:
                break
        if not dup:
            out.append(c)
    return out


@dataclass(frozen=True)
class PeopleTracks:
    """Every person of a video, as whole-video keypoint tracks.

    Attributes:
        tracks: one :class:`KeypointTrack` per person (``found`` where seen), in :func:`rank_people` order.
        timings: seconds per stage (``decode``, ``detect``, ``associate``).
    """

    tracks: list[KeypointTrack]
    timings: dict[str, float] = field(default_factory=dict)


def _second_look(image: np.ndarray, detector: KeypointDetector, box: np.ndarray,
                 others: list[np.ndarray]) -> Candidate | None:
    """Detect one person inside ``box`` (grown) with the ``others``' boxes painted grey."""
    H, W = image.shape[:2]
    roi = _grow(box, 1.4, W, H, square=True)
    x0, y0, x1, y1 = (int(round(float(v))) for v in roi)
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(W, x1), min(H, y1)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return None
    crop = image[y0:y1, x0:x1].copy()
    for o in others:
        a0, b0 = int(max(o[0] - x0, 0)), int(max(o[1] - y0, 0))
        a1, b1 = int(min(o[2] - x0, x1 - x0)), int(min(o[3] - y0, y1 - y0))
        if a1 > a0 and b1 > b0:
            crop[b0:b1, a0:a1] = 127
    found = detector.detect(crop, max_people=1)
    return Candidate(found[0].scaled(1.0, 1.0, x0, y0)) if found else None


def follow_people(
    frames: Iterable[tuple[int, float, np.ndarray]],
    detector: KeypointDetector,
    *,
    fps: float,
    max_people: int = 6,
    detect_every: int | None = None,
    config: TrackerConfig | None = None,
    total: int | None = None,
    progress: bool = True,
) -> PeopleTracks:
    """Detect and track every person in ``frames`` (from :func:`~humokit.optim.video.iter_frames`).

    Args:
        max_people: most people a full-image detection looks for.
        detect_every: frames between full-image detections when every track
            is followed (default: about 4 per second).
        config: association settings.
    Raises:
        InputError: the video has no frames, or nobody is found in any frame.
    """
    if max_people < 1:
        raise InputError(f"max_people must be >= 1, got {max_people}")
    every = detect_every if detect_every is not None else max(1, round(fps / 4))
    tracker = PeopleTracker(fps, config)
    cfg = tracker.cfg
    names = tuple(detector.landmark_names)
    detector.reset()
    T = 0
    W = H = 0
    t_decode = t_detect = t_assoc = 0.0
    followed: set[int] = set()
    it = iter(frames)
    bar = tqdm(total=total, desc="keypoints", unit="frame", **({} if progress else {"disable": True}))
    while True:
        t0 = time.perf_counter()
        try:
            _, _, img = next(it)
        except StopIteration:
            break
        t1 = time.perf_counter()
        t_decode += t1 - t0
        H, W = img.shape[:2]
        t = T
        preds = tracker.predictions(t)
        follow = tracker.most_followed(t, max_people)  # one tracking graph each; spurious tracks get none
        for key in followed - set(follow):
            detector.forget(key)
        followed &= set(follow)
        cands: list[Candidate] = []
        lost = False
        for key in follow:
            c = detector.track(img, _grow(preds[key], 1.6, W, H, square=True), key=key)
            followed.add(key)
            if c is None:
                lost = True
            else:
                cands.append(Candidate(c, source=key))
        boxes = [preds[k] for k in follow]
        crowded = any(_iou(_grow(a, 1.2, W, H), _grow(b, 1.2, W, H)) > 0 for i, a in enumerate(boxes) for b in boxes[i + 1:])
        if not follow or lost or crowded or t % every == 0:
            cands += [Candidate(p) for p in detector.detect(img, max_people=max_people)]
        t2 = time.perf_counter()
        t_detect += t2 - t1
        cands = _dedupe(cands, cfg.min_conf)
        cands = [replace(c, hist=torso_histogram(img, c.keypoints, names)) for c in cands]
        got = tracker.update(t, cands)
        for k, c in enumerate(cands):
            if c.source is not None and got.get(k) != c.source:
                detector.forget(c.source)  # its tracking state slid onto someone else: re-seed it
                followed.discard(c.source)
        t_assoc += time.perf_counter() - t2
        # second look for people the frame left unseen while others are near: hide the others and detect again
        missed = [k for k in follow if k not in got.values()]
        if missed and len(got) > 0:
            t3 = time.perf_counter()
            others = [_box(cands[k].keypoints, cfg.min_conf) for k in got]
            for key in missed:
                c = _second_look(img, detector, preds[key], others)
                if c is not None:
                    c = replace(c, hist=torso_histogram(img, c.keypoints, names))
                    tracker.claim(t, key, c)
            t_detect += time.perf_counter() - t3
        T += 1
        bar.update(1)
    bar.close()
    if T == 0:
        raise InputError("the video has no frames")
    rows = tracker.tracks()
    if not rows:
        raise InputError("no person found in the video")
    tracks = stitch_tracks([to_keypoint_track(r, T, names, fps, W, H) for r in rows],
                           gate=cfg.gate, gate_growth=cfg.gate_growth)
    order = rank_people(tracks)
    timings = {"decode": t_decode, "detect": t_detect, "associate": t_assoc}
    return PeopleTracks([replace(tracks[i], timings=dict(timings)) for i in order], timings)


def _centre_and_size(track: KeypointTrack, t: int, min_conf: float = 0.5) -> tuple[np.ndarray, float] | None:
    """Box centre ``(2,)`` and size (larger side, px) of the landmarks seen in frame ``t``, or None."""
    seen = (track.confidence[t] >= min_conf) & np.isfinite(track.uv[t]).all(-1)
    if seen.sum() < 3:
        return None
    uv = track.uv[t][seen]
    lo, hi = uv.min(0), uv.max(0)
    return 0.5 * (lo + hi), float(max(hi[1] - lo[1], hi[0] - lo[0], 1.0))


def stitch_tracks(tracks: list[KeypointTrack], *, max_gap_s: float = 1.0, gate: float = 0.6,
                  gate_growth: float = 1.0, history: int = 6) -> list[KeypointTrack]:
    """Join tracks that are one person lost for a moment (hidden by another while paths cross).

    Track ``b`` continues track ``a`` when it starts after ``a``'s last detection, within ``max_gap_s``
    seconds, its first box centre lies within ``gate + gate_growth * gap`` (seconds) box sizes of ``a``'s
    last centre carried forward at ``a``'s velocity (a straight line through its last ``history``
    detections), and the two boxes' sizes are within a factor 1.5. The closest pairs join first; the rest
    stay apart.
    """
    tracks = list(tracks)
    if len(tracks) < 2:
        return tracks
    fps = tracks[0].fps
    while True:
        best: tuple[float, int, int] | None = None
        for i, a in enumerate(tracks):
            fa = np.nonzero(a.found)[0]
            if len(fa) == 0:
                continue
            tail = [(t, _centre_and_size(a, int(t))) for t in fa[-history:]]
            tail = [(t, cs) for t, cs in tail if cs is not None]
            if not tail:
                continue
            t_last, (c_last, h) = tail[-1]
            if len(tail) >= 2:
                tt = np.array([t for t, _ in tail], dtype=np.float64)
                cc = np.stack([cs[0] for _, cs in tail])
                v = np.polyfit(tt, cc, 1)[0]
            else:
                v = np.zeros(2)
            for j, b in enumerate(tracks):
                fb = np.nonzero(b.found)[0]
                if j == i or len(fb) == 0 or fb[0] <= fa[-1] or (fb[0] - fa[-1]) / fps > max_gap_s:
                    continue
                first = next(((int(t), cs) for t in fb[:history] if (cs := _centre_and_size(b, int(t))) is not None), None)
                if first is None:
                    continue
                t_first, head = first
                gap = t_first - int(t_last)
                d = float(np.linalg.norm(head[0] - (c_last + v * gap))) / h
                if d > gate + gate_growth * gap / fps or not 1 / 1.5 <= head[1] / h <= 1.5:
                    continue
                if best is None or d < best[0]:
                    best = (d, i, j)
        if best is None:
            return tracks
        _, i, j = best
        a, b = tracks[i], tracks[j]
        m = b.found
        merged = replace(a, uv=np.where(m[:, None, None], b.uv, a.uv),
                         confidence=np.where(m[:, None], b.confidence, a.confidence),
                         world=None if a.world is None or b.world is None else np.where(m[:, None, None], b.world, a.world),
                         found=a.found | m)
        tracks = [merged if k == i else t for k, t in enumerate(tracks) if k != j]


def detect_people(video: str, detector: KeypointDetector | None = None, *, fps: float | None = None,
                  max_people: int = 6, progress: bool = True) -> PeopleTracks:
    """Every person's keypoint track in a video file (see :func:`follow_people`)."""
    from humokit.optim.keypoints import create_detector
    from humokit.optim.video import iter_frames, probe_video

    info = probe_video(video)
    rate = float(fps) if fps else info.fps
    det = detector or create_detector("mediapipe")
    total = int(round(info.duration * rate)) or None
    return follow_people(iter_frames(video, fps=rate), det, fps=rate, max_people=max_people, total=total,
                         progress=progress)


def follow_person(
    frames: Iterable[tuple[int, float, np.ndarray]],
    detector: KeypointDetector,
    *,
    person: int | None = None,
    fps: float,
    total: int | None = None,
    progress: bool = True,
) -> KeypointTrack:
    """Detect and follow one person through ``frames`` (from :func:`~humokit.optim.video.iter_frames`).

    Every person is tracked (:func:`humokit.optim.people.follow_people`), so
    the chosen one keeps their identity when others pass or overlap: frames
    where only someone else is seen are left unfound, never filled with the
    other person.

    Args:
        person: index in :func:`humokit.optim.people.rank_people` order (0 =
            largest/most central on the first frame where anyone is seen; then
            the others there, then people who appear later); None = 0.
    Raises:
        InputError: nobody is found in any frame, or fewer than ``person + 1`` people.
    """
    if person is not None and person < 0:
        raise InputError(f"--person must be >= 0, got {person}")
    want = 0 if person is None else int(person)
    people = follow_people(frames, detector, fps=fps, total=total, progress=progress,
                           max_people=max(want + 1, 3))
    if len(people.tracks) <= want:
        raise InputError(f"--person {want}: only {len(people.tracks)} person(s) found in the video")
    return people.tracks[want]


def detect_track(
    video: str | Path,
    detector: KeypointDetector | None = None,
    *,
    person: int | None = None,
    fps: float | None = None,
    progress: bool = True,
) -> KeypointTrack:
    """Keypoint track of one person in a video file (see :func:`follow_person`)."""
    from humokit.optim.keypoints import create_detector
    from humokit.optim.video import iter_frames, probe_video

    info = probe_video(video)
    rate = float(fps) if fps else info.fps
    det = detector or create_detector("mediapipe")
    total = int(round(info.duration * rate)) or None
    return follow_person(iter_frames(video, fps=rate), det, person=person, fps=rate, total=total, progress=progress)


# ----------------------------------------------------------------------------- spans, dropouts, partial bodies


def reliable_span(found: np.ndarray, fps: float, *, min_run_s: float = 0.25) -> tuple[int, int] | None:
    """``(start, stop)`` frames from the first to the end of the last run of consecutive detections.

    A run counts when it lasts at least ``max(3, min_run_s * fps)`` frames
    (the whole track when it is shorter than that); isolated detections
    before the first or after the last run are left out. None when no run.
    """
    found = np.asarray(found, dtype=bool)
    need = min(max(3, int(round(min_run_s * fps))), max(int(found.sum()), 1))
    runs = _runs(found)
    good = [(a, b) for a, b in runs if b - a >= need]
    if not good:
        return None
    return good[0][0], good[-1][1]


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, stop), ...]`` of the True runs of a bool array."""
    m = np.r_[False, np.asarray(mask, dtype=bool), False].astype(np.int8)
    d = np.diff(m)
    return list(zip(np.nonzero(d == 1)[0].tolist(), np.nonzero(d == -1)[0].tolist()))


def dropouts(found: np.ndarray, fps: float, *, min_gap_s: float = 0.1) -> list[tuple[int, int]]:
    """Gaps ``[(start, stop), ...]`` (frames) without a detection inside the track, at least
    ``max(2, min_gap_s * fps)`` frames long (leading/trailing gaps are not dropouts: trim them)."""
    found = np.asarray(found, dtype=bool)
    if not found.any():
        return []
    first, last = int(np.argmax(found)), len(found) - int(np.argmax(found[::-1]))
    need = max(2, int(round(min_gap_s * fps)))
    return [(a + first, b + first) for a, b in _runs(~found[first:last]) if b - a >= need]


def trim(track: KeypointTrack, start: int, stop: int) -> KeypointTrack:
    """Frames ``start:stop`` of ``track`` (``track.start`` moves by ``start``)."""
    sl = slice(start, stop)
    return replace(track, uv=track.uv[sl], confidence=track.confidence[sl],
                   world=None if track.world is None else track.world[sl], found=track.found[sl],
                   start=track.start + start)


def body_visibility(track: KeypointTrack, *, min_conf: float = 0.5, margin: float = 0.0) -> dict[str, float]:
    """Per part of :data:`BODY_PARTS`, the fraction of found frames where it is seen.

    A part is seen in a frame when at least half of its landmarks have
    confidence >= ``min_conf`` and lie inside the image (``margin`` pixels in
    from its edges): landmarks a detector draws outside the frame are
    guesses. Parts whose landmarks the detector does not name are left out.
    """
    names = track.names
    f = track.found
    out: dict[str, float] = {}
    if not f.any():
        return out
    uv = track.uv[f]
    inside = ((uv[..., 0] >= margin) & (uv[..., 0] <= track.width - margin) & (uv[..., 1] >= margin)
              & (uv[..., 1] <= track.height - margin))
    seen = inside & (track.confidence[f] >= min_conf)
    for part, marks in BODY_PARTS.items():
        cols = [names.index(n) for n in marks if n in names]
        if not cols:
            continue
        out[part] = float((seen[:, cols].mean(1) >= 0.5).mean())
    return out


def outside_fraction(track: KeypointTrack) -> dict[str, float]:
    """Per part of :data:`BODY_PARTS`, the fraction of found frames where at least half of its
    landmarks lie outside the image (the person is cut by the frame there)."""
    names = track.names
    uv = track.uv[track.found]
    out: dict[str, float] = {}
    if len(uv) == 0:
        return out
    outside = ((uv[..., 0] < 0) | (uv[..., 0] > track.width) | (uv[..., 1] < 0) | (uv[..., 1] > track.height))
    for part, marks in BODY_PARTS.items():
        cols = [names.index(n) for n in marks if n in names]
        if cols:
            out[part] = float((outside[:, cols].mean(1) >= 0.5).mean())
    return out


def partial_parts(visibility: dict[str, float], outside: dict[str, float] | None = None, *,
                  unseen: float = 0.2) -> list[str]:
    """Parts the video does not show: seen in fewer than ``unseen`` of the frames.

    Arms count only when they are also outside the image in at least half of
    the frames (cut by the frame): an arm hidden behind the body in a side view
    is in the picture, and the fit's per-frame occluded-arm prior handles it.
    Legs, torso and head count whenever they are unseen (a close-up's legs
    under a table are as unknown as legs below the frame).
    """
    out = outside or {}
    return [p for p, v in visibility.items()
            if v < unseen and (not p.endswith("_arm") or out.get(p, 0.0) >= 0.5)]


# Neutral limb directions in the body frame (x: person's left, y: up, z: forward), and bone fractions of the
# torso length (mid-shoulder to mid-hip) used to place held limbs.
_HOLD = {
    "left_leg": ("left_hip", (("left_knee", 0.9), ("left_ankle", 1.75), ("left_heel", 1.82), ("left_foot_index", 1.85))),
    "right_leg": ("right_hip", (("right_knee", 0.9), ("right_ankle", 1.75), ("right_heel", 1.82), ("right_foot_index", 1.85))),
    "left_arm": ("left_shoulder", (("left_elbow", 0.6), ("left_wrist", 1.1))),
    "right_arm": ("right_shoulder", (("right_elbow", 0.6), ("right_wrist", 1.1))),
}


def hold_unseen_limbs(track: KeypointTrack, parts: list[str], *, confidence: float = 0.01) -> KeypointTrack:
    """Copy of ``track`` where the landmarks of unseen limbs carry no 2D evidence and a neutral 3D pose.

    For each limb of ``parts`` (``left_leg``, ``right_leg``, ``left_arm``,
    ``right_arm``) every landmark's confidence becomes ``confidence`` (below
    the fit's 2D visibility band: the image term ignores them) and, when the
    track has 3D landmarks, they are replaced by the limb hanging straight
    along the torso axis (legs: straight down from the hips, foot points
    slightly forward; arms: along the body), so the fit keeps the limb at a
    neutral pose instead of the detector's invented one (a close-up's
    "walking" legs). Heads and torsos are not held (nothing to hang them from).
    """
    names = track.names
    need = ("left_shoulder", "right_shoulder", "left_hip", "right_hip")
    held = [p for p in parts if p in _HOLD]
    if not held:
        return track
    conf = track.confidence.copy()
    world = None if track.world is None else track.world.copy()
    for p in held:
        anchor, marks = _HOLD[p]
        cols = [names.index(n) for n, _ in marks if n in names and n != anchor]
        conf[:, cols] = np.minimum(conf[:, cols], confidence)
        if world is None or any(n not in names for n in need) or anchor not in names:
            continue
        ls, rs, lh, rh = (world[:, names.index(n)] for n in need)
        down = 0.5 * (lh + rh) - 0.5 * (ls + rs)  # (T, 3) torso axis, camera axes
        length = np.linalg.norm(down, axis=-1, keepdims=True)
        down = down / np.clip(length, 1e-6, None)
        side = ls - rs
        fwd = np.cross(side, down)
        fwd = fwd / np.clip(np.linalg.norm(fwd, axis=-1, keepdims=True), 1e-6, None)
        base = world[:, names.index(anchor)]
        for n, frac in marks:
            if n not in names or n == anchor:
                continue
            pos = base + frac * length * down
            if n.endswith("foot_index"):
                pos = pos + 0.25 * length * fwd
            elif n.endswith("heel"):
                pos = pos - 0.05 * length * fwd
            world[:, names.index(n)] = pos
    return replace(track, confidence=conf, world=world)


@dataclass(frozen=True)
class TrackReport:
    """What the video shows of one person, for summaries and the camera json.

    Attributes:
        span: ``(start, stop)`` video frames recovered (outside: no reliable detection, not fabricated).
        frames: frames in the video; found: frames with a detection inside the span.
        dropouts: ``[(start, stop), ...]`` video frames inside the span without a detection (filled
            by interpolation, confidence 0).
        visibility: fraction of found frames each body part is seen (:func:`body_visibility`).
        unseen: parts never (or rarely) seen: not recovered, held at a neutral pose (partial body).
        edge: fraction of found frames where the body's box touches the image border.
    """

    span: tuple[int, int]
    frames: int
    found: int
    dropouts: list[tuple[int, int]]
    visibility: dict[str, float]
    unseen: list[str]
    edge: float

    @property
    def partial(self) -> bool:
        return bool(self.unseen)

    def warnings(self, fps: float) -> list[str]:
        """Plain-language warnings (empty when the person is fully and continuously seen)."""
        out = []
        a, b = self.span
        if a > 0 or b < self.frames:
            when = ([f"before {a / fps:.2f} s"] if a > 0 else []) + ([f"after {b / fps:.2f} s"] if b < self.frames else [])
            out.append(f"recovered frames {a}-{b - 1} of {self.frames} only: no reliable detection "
                       f"{' or '.join(when)} (not fabricated)")
        for s, e in self.dropouts:
            out.append(f"track dropped out {s / fps:.2f}-{e / fps:.2f} s ({e - s} frames): pose interpolated there")
        if self.unseen:
            out.append(f"partial body: {', '.join(self.unseen)} not seen; held at a neutral pose, not recovered")
        if self.edge > 0.5:
            out.append(f"the person touches the image border in {self.edge:.0%} of frames (cut by the frame)")
        return out

    def to_dict(self, fps: float) -> dict:
        return {"frame_start": self.span[0], "frame_stop": self.span[1], "video_frames": self.frames,
                "frames_found": self.found, "dropouts": [list(d) for d in self.dropouts],
                "visibility": {k: round(v, 3) for k, v in self.visibility.items()}, "unseen_parts": self.unseen,
                "partial_body": self.partial, "edge_fraction": round(self.edge, 3), "warnings": self.warnings(fps)}


def prepare_track(raw: KeypointTrack, *, min_run_s: float = 0.25, unseen: float = 0.2) -> tuple[KeypointTrack, TrackReport]:
    """A whole-video raw track -> ``(track trimmed to its reliable span, report)``.

    Trims to :func:`reliable_span` and finds :func:`dropouts` and unseen parts
    (:func:`body_visibility`, :func:`partial_parts`); after cleaning, hold the
    unseen limbs with :func:`hold_unseen_limbs` (``report.unseen``).

    Raises:
        InputError: the person is never seen for a run of frames.
    """
    span = reliable_span(raw.found, raw.fps, min_run_s=min_run_s)
    if span is None:
        raise InputError("no reliable detection of the person (no run of consecutive frames)")
    a, b = span
    tr = trim(raw, a, b)
    vis = body_visibility(tr)
    gaps = [(s + tr.start, e + tr.start) for s, e in dropouts(tr.found, tr.fps)]
    rep = TrackReport((tr.start, tr.start + tr.num_frames), raw.start + raw.num_frames, int(tr.found.sum()), gaps,
                      vis, partial_parts(vis, outside_fraction(tr), unseen=unseen), _edge_fraction(tr))
    return tr, rep


def _edge_fraction(track: KeypointTrack, *, margin: float = 2.0) -> float:
    """Fraction of found frames with a landmark (seen or guessed) on or beyond the image border."""
    uv = track.uv[track.found]
    if len(uv) == 0:
        return 0.0
    u, v = uv[..., 0], uv[..., 1]
    out = (u <= margin) | (v <= margin) | (u >= track.width - margin) | (v >= track.height - margin)
    return float((out & np.isfinite(u)).any(1).mean())
