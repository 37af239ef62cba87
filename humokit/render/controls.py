"""Conditioning signals for human-video and camera-controlled video models.

For a posed body clip and per-frame cameras, :func:`render_view` writes to a
folder, per frame (PNG) and as MP4 (H.264 via imageio-ffmpeg):

- ``rgb``: Lambert-shaded body with a headlight (or a Gaussian avatar).
- ``depth``: **near = bright** in one of two styles (:data:`DEPTH_STYLES`):
  ``"clip"`` (default): foreground depth ``d`` maps to
  ``32 + 223 * (d_max - d) / (d_max - d_min)`` with ``d_min, d_max`` taken
  over each frame's foreground (``depth_range="clip"``: over the whole
  clip's); background 0. ``"inverse"`` (what
  VACE's and ControlNet's MiDaS/Depth-Anything annotators produce): relative
  inverse depth ``1/d`` (0 on the background, i.e. infinitely far), min-max
  normalised **per frame** to ``floor(255 * (x - min) / (max - min))``, the
  same value in all 3 channels. Raw metres along the camera z axis, on
  request only, in ``depth_m.npy`` ``(T, H, W)`` float16, 0 on background.
- ``normal``: camera-space unit normals ``n`` (OpenCV camera axes x right,
  y down, z forward) encoded as in ControlNet 1.1 normal maps (ScanNet/BAE
  protocol): ``RGB = 255 * (1 - n) / 2``, i.e. **red = surface facing the
  image's left, green = facing up, blue = facing the camera**; a surface
  facing the camera is (128, 128, 255); background (0, 0, 0).
- ``parts``: body-part semantic map (part id = the canonical joint that
  moves the surface; ``left_hip`` = left thigh, ``left_shoulder`` = left
  upper arm, ...). Style ``"humokit"``: :data:`PART_PALETTE`, background
  black. Style ``"champ"`` (Champ's semantic maps): SMPL part ``j`` gets the
  viridis colour at ``10 j / 255`` (:data:`CHAMP_PALETTE`, 24 SMPL parts; the
  canonical bodies have no separate hand parts 22-23, fingers take their
  wrist's colour), background viridis(0) = (68, 1, 84), the pelvis's colour.
- ``mask``: silhouette, 255 on the body.
- ``pose``: OpenPose-18 skeleton image + ``pose_json/NNNNN_keypoints.json``
  (OpenPose format); ``coco``: COCO-17 skeleton image. ``pose_style`` picks
  a model's drawing convention (:mod:`humokit.render.pose_styles`:
  ``"vace"``, ``"openpose"``, ``"wan_animate"``); the default ``"humokit"``
  draws limbs alpha-blended at 60 %.
- ``plucker.npz`` (on request): ``plucker`` ``(T, 6, H, W)`` float16 ray maps (see
  :func:`humokit.render.camera.plucker_rays`).
- ``cameras.json``: per frame K, 3x4 world-to-camera, 4x4 camera-to-world.
- ``control_styles.json``: the pose, depth and parts styles used (``humokit drive``
  warns when they are not the ones its model was trained on).

Clip conventions for video diffusion models: lengths of ``1 + 4k`` frames and
sizes that are multiples of 16 (:data:`SIZE_PRESETS`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from humokit._io import atomic_path
from humokit.errors import InputError
from humokit.motion.skeleton import JOINT_NAMES
from humokit.render.camera import CameraTrajectory, plucker_rays
from humokit.render.keypoints import (
    COCO17_NAMES,
    OPENPOSE18_NAMES,
    hide_occluded,
    body_keypoints,
    draw_pose,
    face_landmark_vertices,
    openpose_json,
    project_keypoints,
    toe_landmark_vertices,
)
from humokit.render.pose_styles import draw_pose_styled, face68_points, pose_style
from humokit.render.raster import rasterize, shade

SIGNALS = ("rgb", "depth", "normal", "parts", "mask", "pose", "coco")
DEFAULT_SIGNALS = ("rgb", "depth", "normal", "parts", "mask", "pose")
# (width, height); the names are how video models list them.
SIZE_PRESETS: dict[str, tuple[int, int]] = {
    "480x832": (480, 832),
    "832x480": (832, 480),
    "720x480": (720, 480),
    "512x512": (512, 512),
}
BODY_COLOR = (0.78, 0.74, 0.70)

#: RGB colour of each body part (index = canonical joint, see module docstring).
PART_PALETTE = np.array([
    (170, 170, 170),  # pelvis
    (0, 90, 255),     # left_hip      (left thigh)
    (255, 60, 0),     # right_hip     (right thigh)
    (255, 220, 0),    # spine1        (lower belly)
    (0, 170, 255),    # left_knee     (left shin)
    (255, 140, 0),    # right_knee    (right shin)
    (220, 190, 0),    # spine2        (upper belly)
    (0, 230, 230),    # left_ankle    (left foot)
    (255, 200, 80),   # right_ankle   (right foot)
    (180, 150, 0),    # spine3        (chest)
    (0, 255, 180),    # left_foot     (left toes)
    (255, 235, 160),  # right_foot    (right toes)
    (160, 0, 255),    # neck
    (0, 120, 120),    # left_collar
    (130, 60, 0),     # right_collar
    (255, 0, 200),    # head
    (0, 200, 60),     # left_shoulder (left upper arm)
    (200, 0, 60),     # right_shoulder(right upper arm)
    (90, 255, 60),    # left_elbow    (left forearm)
    (255, 60, 120),   # right_elbow   (right forearm)
    (170, 255, 160),  # left_wrist    (left hand)
    (255, 160, 190),  # right_wrist   (right hand)
], dtype=np.uint8)
PART_NAMES = JOINT_NAMES

#: Champ's semantic-map colours: SMPL part j -> viridis(10 j / 255), RGB (24 SMPL parts; 0-21 = canonical joints).
CHAMP_PALETTE = np.array([
    (68, 1, 84), (71, 16, 99), (72, 29, 111), (71, 42, 122), (69, 55, 129), (65, 66, 135), (61, 78, 138),
    (56, 89, 140), (51, 99, 141), (46, 109, 142), (42, 118, 142), (39, 128, 142), (35, 137, 142), (32, 146, 140),
    (30, 156, 137), (33, 165, 133), (40, 174, 128), (53, 183, 121), (70, 192, 111), (90, 200, 100),
    (112, 207, 87), (137, 213, 72), (162, 218, 55), (189, 223, 38),
], dtype=np.uint8)
CHAMP_BACKGROUND = (68, 1, 84)
DEPTH_STYLES = ("clip", "inverse")
PARTS_STYLES = ("humokit", "champ")


def check_styles(pose: str | object = "humokit", depth: str = "clip", parts: str = "humokit") -> None:
    """Raise a one-line :class:`InputError` for an unknown pose, depth or parts style."""
    if isinstance(pose, str) and pose != "humokit":
        pose_style(pose)
    if depth not in DEPTH_STYLES:
        raise InputError(f"unknown depth style {depth!r}; choose from {', '.join(DEPTH_STYLES)}")
    if parts not in PARTS_STYLES:
        raise InputError(f"unknown parts style {parts!r}; choose from {', '.join(PARTS_STYLES)}")


@dataclass(frozen=True)
class RenderPreset:
    """Clip geometry a video model was trained on.

    Attributes:
        sizes: allowed ``(width, height)`` pairs, the first is the default.
        frames: clip length.
        fps: frame rate the motion is resampled to.
    """

    sizes: tuple[tuple[int, int], ...]
    frames: int
    fps: float


RENDER_PRESETS: dict[str, RenderPreset] = {
    "wan": RenderPreset(((832, 480), (480, 832)), 81, 16.0),  # Wan 2.x / VACE
    "animatediff": RenderPreset(((512, 512),), 16, 8.0),
}


def check_size(width: int, height: int) -> None:
    """Sizes must be positive multiples of 16."""
    if width <= 0 or height <= 0:
        raise InputError(f"image size must be positive, got {width}x{height}")
    if width % 16 or height % 16:
        raise InputError(f"image size {width}x{height}: width and height must be multiples of 16")


def parse_size(text: str) -> tuple[int, int]:
    """``"WIDTHxHEIGHT"`` (or a :data:`SIZE_PRESETS` name) to ``(width, height)``, checked."""
    w, sep, h = text.lower().partition("x")
    try:
        width, height = int(w), int(h)
    except ValueError:
        raise InputError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 512x512") from None
    if not sep:
        raise InputError(f"--size {text!r}: expected WIDTHxHEIGHT, e.g. 512x512")
    check_size(width, height)
    return width, height


def clip_length(available: int, requested: int | None = None) -> int:
    """Number of frames of the form ``1 + 4k``: ``requested`` (checked) or the longest that fits."""
    if available < 1:
        raise InputError("the motion has no frames")
    if requested is None:
        return 1 + 4 * ((available - 1) // 4)
    if requested < 1 or (requested - 1) % 4:
        raise InputError(f"--frames {requested}: clip length must be 1 + 4k (1, 5, 9, ..., 81, ...)")
    if requested > available:
        raise InputError(f"--frames {requested}: the motion has only {available} frames at this fps")
    return requested


@dataclass(frozen=True)
class PosedClip:
    """A body animated by a motion, ready to render.

    Attributes:
        vertices: ``(T, V, 3)`` float32 world vertices, metres.
        faces: ``(F, 3)`` int64.
        joints: ``(T, 22, 3)`` world joints.
        R_world: ``(T, 22, 3, 3)`` joint-to-world rotations.
        part_labels: ``(V,)`` canonical joint per vertex.
        landmarks: face landmark vertex indices (see :func:`face_landmark_vertices`).
        fps: frames per second.
        gaussian_frames: optional callable ``t -> Gaussians`` (avatar = gaussians).
    """

    vertices: torch.Tensor
    faces: torch.Tensor
    joints: torch.Tensor
    R_world: torch.Tensor
    part_labels: np.ndarray
    landmarks: dict[str, int] | None
    fps: float
    gaussian_frames: Callable[[int], object] | None = None

    @property
    def num_frames(self) -> int:
        return int(self.vertices.shape[0])

    @property
    def timestamps(self) -> np.ndarray:
        return np.arange(self.num_frames) / self.fps


def pose_clip(motion: object, body: object, *, shape: object | None = None) -> PosedClip:
    """Pose ``body`` (a :class:`~humokit.body.BodyModel`) with ``motion``."""
    rest = body.rest(shape if shape is not None else body.shape_from_motion(motion))  # type: ignore[attr-defined]
    out = body.forward(motion, shape=shape)  # type: ignore[attr-defined]
    labels = rest.part_labels()
    try:
        lm = face_landmark_vertices(rest.vertices.detach().cpu().numpy(), labels, rest.joints.detach().cpu().numpy())
        lm.update(toe_landmark_vertices(rest.vertices.detach().cpu().numpy(), labels))
    except ValueError:
        lm = None
    return PosedClip(
        vertices=out.vertices.detach().to(torch.float32),
        faces=out.faces,
        joints=out.joints.detach().to(torch.float32),
        R_world=out.R_world.detach().to(torch.float32),
        part_labels=labels,
        landmarks=lm,
        fps=float(motion.fps),  # type: ignore[attr-defined]
    )


def attach_gaussians(clip: object, rest: object, *, per_face: int = 1) -> object:
    """A :class:`PosedClip` whose RGB is rendered from body-bound Gaussians."""
    from humokit.render.gaussians import Gaussians, gaussians_from_mesh, skin_gaussians

    colors = torch.tensor(BODY_COLOR).expand(rest.vertices.shape[0], 3)  # type: ignore[attr-defined]
    bg = gaussians_from_mesh(rest, per_face, colors=colors)

    def frame(t: int) -> Gaussians:
        return skin_gaussians(bg, clip.R_world[t], clip.joints[t])  # type: ignore[attr-defined]

    return replace(clip, gaussian_frames=frame)  # type: ignore[type-var]


def depth_to_image(depth: np.ndarray, mask: np.ndarray, d_range: tuple[float, float] | None = None) -> np.ndarray:
    """Depth ``(..., H, W)`` metres to uint8, near bright (see module docstring); range over all of ``depth`` unless given."""
    if d_range is None:
        fg = depth[mask]
        d_range = (float(fg.min()), float(fg.max())) if fg.size else (0.0, 1.0)
    lo, hi = d_range
    span = max(hi - lo, 1e-6)
    v = 32.0 + 223.0 * np.clip((hi - depth) / span, 0.0, 1.0)
    return np.where(mask, np.round(v), 0).astype(np.uint8)


def inverse_depth_to_image(depth: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Depth ``(H, W)`` metres to VACE/MiDaS-style relative inverse depth, ``(H, W, 3)`` uint8.

    ``x = 1/d`` on the foreground, 0 on the background; ``floor(255 * (x - min) / (max - min))``
    over this frame; near = bright. A frame that is all one value is all 0.
    """
    d = np.asarray(depth, dtype=np.float64)
    m = np.asarray(mask, dtype=bool) & (d > 0)
    x = np.zeros_like(d)
    x[m] = 1.0 / d[m]
    lo, hi = float(x.min()), float(x.max())
    v = np.zeros_like(x) if hi - lo <= 0 else (x - lo) / (hi - lo)
    img = np.clip(v * 255.0, 0, 255).astype(np.uint8)
    return np.repeat(img[..., None], 3, axis=-1)


def normals_to_image(normals: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """Camera-space normals ``(..., 3)`` (OpenCV axes) to ControlNet RGB uint8 (see module docstring)."""
    v = np.round(255.0 * (1.0 - np.clip(normals, -1.0, 1.0)) / 2.0)
    return np.where(mask[..., None], v, 0).astype(np.uint8)


def parts_to_image(parts: np.ndarray, style: str = "humokit") -> np.ndarray:
    """Part ids ``(H, W)`` (-1 background) to RGB uint8 with :data:`PART_PALETTE` or :data:`CHAMP_PALETTE`."""
    if style not in PARTS_STYLES:
        raise InputError(f"unknown parts style {style!r}; choose from {', '.join(PARTS_STYLES)}")
    palette = PART_PALETTE if style == "humokit" else CHAMP_PALETTE
    out = np.zeros(parts.shape + (3,), dtype=np.uint8)
    if style == "champ":
        out[...] = CHAMP_BACKGROUND
    m = parts >= 0
    out[m] = palette[np.clip(parts[m], 0, len(palette) - 1)]
    return out


def _write_png(path: Path, img: np.ndarray) -> None:
    import imageio.v2 as imageio

    with atomic_path(path) as tmp:
        imageio.imwrite(tmp, img, format="png", compress_level=3)


def _write_json(path: Path, obj: object) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(obj, indent=1))


class _Video:
    """MP4 writer (H.264, yuv420p) that appears atomically on close."""

    def __init__(self, path: Path, fps: float) -> None:
        import imageio.v2 as imageio

        from humokit._atomic import video_file

        self._ctx = video_file(path)
        tmp = self._ctx.__enter__()
        self._w = imageio.get_writer(tmp, format="FFMPEG", fps=fps, codec="libx264", quality=8,
                                     pixelformat="yuv420p", macro_block_size=16, ffmpeg_log_level="error")

    def append(self, img: np.ndarray) -> None:
        if img.ndim == 2:
            img = np.repeat(img[..., None], 3, axis=2)
        self._w.append_data(img)

    def close(self, ok: bool = True) -> None:
        try:
            self._w.close()
        except BaseException as exc:  # the encoder failed at the end: an error, the temp file goes
            if not self._ctx.__exit__(type(exc), exc, exc.__traceback__):
                raise
            return
        if ok:
            self._ctx.__exit__(None, None, None)
        else:
            self._ctx.__exit__(_Aborted, _Aborted(), None)


class _Aborted(BaseException):
    """Passed to a writer's context to drop its temporary file without another error."""


def camera_records(traj: CameraTrajectory, timestamps: np.ndarray) -> list[dict[str, object]]:
    """Per-frame JSON records: frame, time (s), K, world_to_camera (3x4), camera_to_world (4x4)."""
    return [{"frame": i, "time": round(float(timestamps[i]), 6), **traj[i].to_dict()} for i in range(len(traj))]


def root_trajectory(clip: PosedClip) -> dict[str, object]:
    """Per-frame pelvis 6-DoF pose in the world: position (metres) and rotation (3x3 and quaternion xyzw)."""
    from humokit.motion.rotations import rotmat_to_quat

    R = clip.R_world[:, 0].double().numpy()
    p = clip.joints[:, 0].double().numpy()
    q = np.asarray(rotmat_to_quat(R))
    return {
        "convention": "world Y up, +Z forward, metres; rotation = pelvis-to-world; quaternion xyzw",
        "fps": clip.fps,
        "frames": [
            {"frame": i, "time": round(i / clip.fps, 6), "position": p[i].tolist(),
             "rotation": R[i].tolist(), "quaternion_xyzw": q[i].tolist()}
            for i in range(len(p))
        ],
    }


def render_frame(
    clip: PosedClip,
    t: int,
    camera: object,
    signals: Sequence[str],
    *,
    avatar: Literal["mesh", "gaussians"] = "mesh",
    depth: np.ndarray | None = None,
    pose_style: str | object = "humokit",
    parts_style: str = "humokit",
) -> dict[str, np.ndarray]:
    """Render one frame's signals as arrays: rgb/normal/parts/mask/pose/coco uint8 images, depth float32 metres + ``_mask``.

    ``depth``: this frame's ``(H, W)`` depth from :func:`humokit.render.zbuffer.depth_maps`;
    when given and no shaded signal (rgb, normal, parts) is asked for, the frame is not
    rasterized again (depth, mask and keypoint occlusion all read it).
    ``pose_style``: a :data:`~humokit.render.pose_styles.POSE_STYLES` name or
    :class:`~humokit.render.pose_styles.PoseStyle` (``"humokit"``: this
    module's own drawing). With a pose signal, ``_pose_kp`` holds the
    OpenPose-18 keypoints and ``_face68`` the 68 face points ``(68, 3)``
    ``(u, v, visible)`` when the body has face landmarks.
    """
    V = clip.vertices[t]
    need_shade = bool({"rgb", "normal", "parts"} & set(signals))
    if depth is not None and not need_shade:
        out: dict[str, np.ndarray] = {"_mask": depth > 0, "_depth": depth}
    else:
        r = rasterize(V, clip.faces, camera)  # type: ignore[arg-type]
        out = {"_mask": r.mask.numpy(), "_depth": r.depth.numpy()}
    if need_shade:
        colors = torch.tensor(BODY_COLOR).expand(V.shape[0], 3)
        s = shade(r, V, clip.faces, camera, vertex_colors=colors, part_labels=clip.part_labels)  # type: ignore[arg-type]
    if "rgb" in signals:
        if avatar == "gaussians" and clip.gaussian_frames is not None:
            from humokit.render.gaussians_fast import render_gaussians_fast

            g = render_gaussians_fast(clip.gaussian_frames(t), camera)  # type: ignore[arg-type]
            out["rgb"] = (g.rgb.clamp(0, 1).numpy() * 255).round().astype(np.uint8)
        else:
            out["rgb"] = (s.rgb.numpy() * 255).round().astype(np.uint8)
    if "normal" in signals:
        out["normal"] = normals_to_image(s.normals.numpy(), out["_mask"])
    if "parts" in signals:
        out["parts"] = parts_to_image(s.parts.numpy(), parts_style)
    if "mask" in signals:
        out["mask"] = out["_mask"].astype(np.uint8) * 255
    if "depth" in signals:
        out["depth"] = out["_depth"].astype(np.float32)
    for scheme, key in (("openpose18", "pose"), ("coco17", "coco")):
        if key in signals:
            kp3 = body_keypoints(clip.joints[t].numpy(), clip.vertices[t].numpy(), clip.landmarks, scheme)  # type: ignore[arg-type]
            kp = project_keypoints(camera, kp3)  # type: ignore[arg-type]
            if clip.landmarks is not None:
                names = OPENPOSE18_NAMES if key == "pose" else COCO17_NAMES
                kp = hide_occluded(kp, camera, kp3, out["_depth"], names)  # type: ignore[arg-type]
            out[f"_{key}_kp"] = kp
            if key == "pose" and clip.landmarks is not None:
                out["_face68"] = _face68_keypoints(clip, t, camera, visible=kp[0, 2] > 0)
            if key == "pose" and pose_style != "humokit":
                out[key] = _styled_pose(clip, t, camera, out, pose_style)
            else:
                out[key] = draw_pose(kp, camera.width, camera.height, scheme)  # type: ignore[attr-defined,arg-type]
    return out


def _face68_keypoints(clip: PosedClip, t: int, camera: object, *, visible: bool) -> np.ndarray:
    """``(68, 3)`` image face points ``(u, v, visible)``, all hidden when the nose is."""
    from humokit.render.keypoints import J

    lm = clip.landmarks or {}
    V = clip.vertices[t].numpy()
    pts = face68_points(clip.R_world[t, J["head"]].numpy(), V[lm["left_eye"]], V[lm["right_eye"]])
    kp = project_keypoints(camera, pts)  # type: ignore[arg-type]
    if not visible:
        kp[:] = 0.0
    return kp


def _styled_pose(clip: PosedClip, t: int, camera: object, fr: dict[str, np.ndarray], name: str | object) -> np.ndarray:
    st = pose_style(name)  # type: ignore[arg-type]
    kp3 = body_keypoints(clip.joints[t].numpy(), clip.vertices[t].numpy(), clip.landmarks, st.keypoints)  # type: ignore[arg-type]
    kp = project_keypoints(camera, kp3)  # type: ignore[arg-type]
    if clip.landmarks is not None:
        kp = hide_occluded(kp, camera, kp3, fr["_depth"], st.names)  # type: ignore[arg-type]
    return draw_pose_styled(kp, camera.width, camera.height, st, face=fr.get("_face68"))  # type: ignore[attr-defined]


def _batch_depth(clip: PosedClip, cameras: CameraTrajectory, t0: int, t1: int, device: str) -> np.ndarray:
    """``(t1 - t0, H, W)`` depth of frames ``t0:t1`` from the compiled z-buffer."""
    from humokit.render.zbuffer import depth_maps, project_frames

    V = clip.vertices[t0:t1].detach().cpu().numpy().astype(np.float64)
    uvz = project_frames(V, cameras.K[t0:t1], cameras.R[t0:t1], cameras.t[t0:t1])
    return depth_maps(uvz, clip.faces.cpu().numpy(), cameras.width, cameras.height, device=device)


def render_view(
    out_dir: str | Path,
    clip: PosedClip,
    cameras: CameraTrajectory,
    *,
    signals: Sequence[str] = DEFAULT_SIGNALS,
    fps: float | None = None,
    avatar: Literal["mesh", "gaussians"] = "mesh",
    png: bool = True,
    video: bool = True,
    plucker: bool = False,
    metric_depth: bool = False,
    depth_range: Literal["frame", "clip"] = "frame",
    batch: int = 8,
    device: str = "cpu",
    progress: object | None = None,
    pose_style: str | object = "humokit",
    depth_style: str = "clip",
    parts_style: str = "humokit",
) -> dict[str, Path]:
    """Render all frames of ``clip`` through ``cameras`` and write the requested signals to ``out_dir``.

    Only what is asked for is written: the ``signals`` (MP4 and/or PNG frames),
    ``plucker.npz`` (float16 ray maps) when ``plucker``, ``depth_m.npy``
    (float16 metres) when ``metric_depth``, and ``cameras.json``. Each
    view-frame is rasterized once and that result feeds every signal; when
    no shaded signal (rgb, normal, parts) is asked for, ``batch`` frames at a
    time go through the compiled depth z-buffer (:mod:`humokit.render.zbuffer`).

    Args:
        out_dir: folder (created).
        clip: posed body; cameras: one camera per frame (``len(cameras) == clip.num_frames``).
        signals: subset of :data:`SIGNALS`.
        fps: video frame rate (default the clip's).
        depth_range: depth image normalisation: ``"frame"`` (each frame's own
            near..far, the VACE/ControlNet annotators' convention, so late
            frames do not go dark) or ``"clip"`` (one range for the clip).
        batch: frames rasterized together by the depth z-buffer.
        device: ``"cpu"`` or ``"cuda"`` for the depth z-buffer.
        progress: optional tqdm-like object with ``update(n)``.
        pose_style, depth_style, parts_style: drawing conventions (module docstring).
    Returns:
        ``{name: path}`` of the written videos and files.
    """
    unknown = [s for s in signals if s not in SIGNALS]
    if unknown:
        raise InputError(f"unknown signal(s) {', '.join(unknown)}; choose from {', '.join(SIGNALS)}")
    if len(cameras) != clip.num_frames:
        raise InputError(f"render: {len(cameras)} cameras for {clip.num_frames} frames")
    if depth_range not in ("frame", "clip"):
        raise InputError(f"render: depth range must be 'frame' or 'clip', got {depth_range!r}")
    check_size(cameras.width, cameras.height)
    check_styles(pose_style, depth_style, parts_style)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    fps = float(fps or clip.fps)
    T = clip.num_frames
    image_signals = [s for s in signals if s != "depth"]
    stream_depth = "depth" in signals and depth_range == "frame"
    writers = {s: _Video(out / f"{s}.mp4", fps) for s in image_signals + (["depth"] if stream_depth else [])} if video else {}
    fast = avatar == "mesh" and not ({"rgb", "normal", "parts"} & set(signals))
    depths: list[np.ndarray] = []
    masks: list[np.ndarray] = []
    ok = False
    try:
        for t0 in range(0, T, max(1, int(batch))):
            t1 = min(T, t0 + max(1, int(batch)))
            zb = _batch_depth(clip, cameras, t0, t1, device) if fast else None
            for t in range(t0, t1):
                fr = render_frame(clip, t, cameras[t], signals, avatar=avatar,
                                  depth=None if zb is None else zb[t - t0], pose_style=pose_style,
                                  parts_style=parts_style)
                for s in image_signals:
                    if png:
                        _write_png(out / s / f"{t:05d}.png", fr[s])
                    if video:
                        writers[s].append(fr[s])
                if "pose" in signals:
                    _write_json(out / "pose_json" / f"{t:05d}_keypoints.json",
                                openpose_json(fr["_pose_kp"], cameras.width, cameras.height))
                if "depth" in signals:
                    if stream_depth:
                        im = (depth_to_image(fr["depth"], fr["_mask"]) if depth_style == "clip"
                              else inverse_depth_to_image(fr["depth"], fr["_mask"]))
                        if png:
                            _write_png(out / "depth" / f"{t:05d}.png", im)
                        if video:
                            writers["depth"].append(im)
                    else:
                        masks.append(fr["_mask"])
                    if metric_depth or not stream_depth:
                        depths.append(fr["depth"].astype(np.float16 if stream_depth else np.float32))
                if progress is not None:
                    progress.update(1)  # type: ignore[attr-defined]
        ok = True
    finally:
        for w in writers.values():
            w.close(ok)
    paths = {s: out / f"{s}.mp4" for s in writers}
    if "depth" in signals and not stream_depth:
        D, M = np.stack(depths), np.stack(masks)
        imgs = depth_to_image(D, M) if depth_style == "clip" else [inverse_depth_to_image(d, m) for d, m in zip(D, M)]
        if video:
            w = _Video(out / "depth.mp4", fps)
            for im in imgs:
                w.append(im)
            w.close()
            paths["depth"] = out / "depth.mp4"
        if png:
            for t, im in enumerate(imgs):
                _write_png(out / "depth" / f"{t:05d}.png", im)
    if metric_depth and depths:
        with atomic_path(out / "depth_m.npy") as tmp:
            np.save(tmp, np.stack(depths).astype(np.float16))
        paths["depth_m"] = out / "depth_m.npy"
    if plucker:
        P = np.stack([plucker_rays(c) for c in cameras]).astype(np.float16)
        with atomic_path(out / "plucker.npz") as tmp:
            np.savez_compressed(tmp, plucker=P)
        paths["plucker"] = out / "plucker.npz"
    _write_json(out / "control_styles.json", {
        "pose": pose_style if isinstance(pose_style, str) else "custom", "depth": depth_style, "parts": parts_style})
    paths["control_styles"] = out / "control_styles.json"
    _write_json(out / "cameras.json", {
        "convention": "OpenCV camera (x right, y down, z forward); world Y up, +Z forward, metres; "
                      "pixel centres at +0.5; world_to_camera = [R|t], X_cam = R X_world + t",
        "fps": fps, "frames": camera_records(cameras, np.arange(T) / fps),
    })
    paths["cameras"] = out / "cameras.json"
    return paths
