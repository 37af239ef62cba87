"""Synthetic multi-person scenes for the tracking tests: two walkers whose boxes cross, and a fake detector."""

from __future__ import annotations

import numpy as np

from humokit.motion.builtin import builtin_motion
from humokit.optim.keypoints import MEDIAPIPE_NAMES, KeypointDetector, PersonKeypoints, _iou
from humokit.render.camera import look_at

from ._synth import synthetic_track

W, H = 640, 480
COLOURS = ((200, 40, 40), (40, 60, 200))


def walker_template(frames: int, fps: float = 20.0, seed: int = 0):
    """``(uv (T, 33, 2) hip-centred pixels, world (T, 33, 3), conf (T, 33))`` of a walk seen from the side."""
    m = builtin_motion("walk", seconds=frames / fps + 0.5, fps=fps)
    target = m.joints()[:, 0].mean(0)
    cam = look_at(target + np.array([6.0, 0.2, 0.0]), target, fov_y=40.0, width=W, height=H)
    tr = synthetic_track(m, cam, px_noise=0.5, world_noise=0.01, seed=seed)
    hip = 0.5 * (tr.uv[:, MEDIAPIPE_NAMES.index("left_hip")] + tr.uv[:, MEDIAPIPE_NAMES.index("right_hip")])
    return (tr.uv - hip[:, None])[:frames], tr.world[:frames], tr.confidence[:frames]


def crossing_scene(frames: int = 40, *, occlude: bool = True, seed: int = 0):
    """Two people of the same size walking towards each other along the same line; their boxes cross.

    Returns ``scene[t] = [(identity, PersonKeypoints), ...]`` of the people the detector sees at frame ``t``
    (while their boxes overlap, only the front person, 0, is seen when ``occlude``).
    """
    uv, world, conf = walker_template(frames + 10, seed=seed)
    x = np.linspace(140.0, 500.0, frames)
    scene = []
    for t in range(frames):
        a = uv[t] + np.array([x[t], 280.0])
        b = uv[t + 7] * np.array([-1.0, 1.0]) + np.array([x[::-1][t], 280.0])  # other phase, facing the other way
        pa = PersonKeypoints(a, conf[t], world[t])
        pb = PersonKeypoints(b, conf[t + 7], world[t + 7])
        seen = [(0, pa), (1, pb)]
        if occlude and _iou(pa.bbox(), pb.bbox()) > 0.2:
            seen = [(0, pa)]
        scene.append(seen)
    return scene


def paint(scene_t: list, t: int) -> np.ndarray:
    """A frame: grey, each seen person's torso filled with their colour; pixel (0, 0) holds ``t``."""
    img = np.full((H, W, 3), 120, np.uint8)
    for ident, p in scene_t[::-1]:  # front person last
        idx = [MEDIAPIPE_NAMES.index(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
        lo, hi = p.uv[idx].min(0), p.uv[idx].max(0)
        lo, hi = lo - np.array([12, 0]), hi + np.array([12, 0])
        img[int(lo[1]):int(hi[1]) + 1, int(lo[0]):int(hi[0]) + 1] = COLOURS[ident]
    img[0, 0] = t
    return img


class FakeDetector(KeypointDetector):
    """Returns the scene's people for the frame whose index is stored in pixel (0, 0) (or in ``frame_of``).

    ``track`` returns whoever's box centre is nearest the region's centre, so it slides onto
    another person when they pass through the region (as a real detector's tracking mode can).
    """

    name = "fake"
    landmark_names = MEDIAPIPE_NAMES
    has_world = True

    def __init__(self, scene: list, frame_of=None) -> None:
        self.scene = scene
        self.frame_of = frame_of or (lambda img: int(img[0, 0, 0]))
        self.calls = {"detect": 0, "track": 0}

    def _people(self, image: np.ndarray) -> list[PersonKeypoints]:
        if image.shape[:2] != (H, W):
            return []  # a crop (the tracker's second look): this fake only reads whole frames
        t = self.frame_of(image)
        return [p for _, p in self.scene[t]] if 0 <= t < len(self.scene) else []

    def detect(self, image, *, max_people=1):
        self.calls["detect"] += 1
        return self._people(image)[:max_people]

    def track(self, image, roi, *, key=0):
        self.calls["track"] += 1
        c = 0.5 * (np.asarray(roi[:2]) + np.asarray(roi[2:]))
        inside = []
        for p in self._people(image):
            b = p.bbox()
            m = 0.5 * (b[:2] + b[2:])
            if roi[0] <= m[0] <= roi[2] and roi[1] <= m[1] <= roi[3]:
                inside.append((float(np.linalg.norm(m - c)), p))
        return min(inside, key=lambda x: x[0])[1] if inside else None
