"""Preview video of a recovery: the fitted body over the input video, beside a world-space view.

Left panel: the input frame with the fitted body drawn through the fitted
camera (a shaded Anny mesh via :mod:`humokit.render.raster`, or a skeleton
when no body model is given) and the detected 2D landmarks as small dots.
Right panel: the same body in the recovered world from a fixed three-quarter
view, with the ground grid (y = 0), the pelvis trajectory and the recovered
camera drawn as a small pyramid. Written as H.264 MP4 (atomic).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from humokit._io import atomic_path
from humokit.errors import HumokitError
from humokit.motion.skeleton import PARENTS
from humokit.optim.fit import FitResult
from humokit.optim.track import KeypointTrack
from humokit.render.camera import Camera, CameraTrajectory, look_at, project

_BODY_RGB = np.array([0.45, 0.65, 0.95])
_SIDE = {"left": (60, 200, 90), "right": (240, 140, 40), "mid": (80, 150, 255)}


def _bone_colour(j: int) -> tuple[int, int, int]:
    from humokit.motion.skeleton import JOINT_NAMES

    n = JOINT_NAMES[j]
    return _SIDE["left"] if n.startswith("left") else _SIDE["right"] if n.startswith("right") else _SIDE["mid"]


def _draw_skeleton(img: Image.Image, cam: Camera, joints: np.ndarray, width: int = 3) -> None:
    uv, z = project(cam, joints)
    d = ImageDraw.Draw(img)
    for j, p in enumerate(PARENTS):
        if p < 0 or not (np.isfinite(uv[j]).all() and np.isfinite(uv[p]).all()):
            continue
        d.line([tuple(uv[p]), tuple(uv[j])], fill=_bone_colour(j), width=width)
    for q in uv:
        if np.isfinite(q).all():
            d.ellipse([q[0] - width, q[1] - width, q[0] + width, q[1] + width], fill=(255, 255, 255))


def _draw_mesh(img: np.ndarray, cam: Camera, verts: torch.Tensor, faces: torch.Tensor, alpha: float) -> np.ndarray:
    from humokit.render.raster import rasterize, shade

    ras = rasterize(verts, faces, cam)
    if not bool(ras.mask.any()):
        return img
    colours = torch.as_tensor(np.broadcast_to(_BODY_RGB, (verts.shape[0], 3)).copy(), dtype=verts.dtype)
    sh = shade(ras, verts, faces, cam, vertex_colors=colours, ambient=0.35)
    m = ras.mask.numpy()
    rgb = (sh.rgb.numpy() * 255).astype(np.float32)
    out = img.astype(np.float32)
    out[m] = (1 - alpha) * out[m] + alpha * rgb[m]
    return out.astype(np.uint8)


def _grid_lines(cam: Camera, draw: ImageDraw.ImageDraw, centre: np.ndarray, extent: float) -> None:
    step = 0.5
    c = np.round(centre[[0, 2]] / step) * step
    ks = np.arange(-extent, extent + 1e-9, step)
    for k in ks:
        for a, b in (([c[0] + k, 0, c[1] - extent], [c[0] + k, 0, c[1] + extent]),
                     ([c[0] - extent, 0, c[1] + k], [c[0] + extent, 0, c[1] + k])):
            pts = np.linspace(a, b, 30)
            uv, z = project(cam, pts)
            ok = (z > 0.05) & np.isfinite(uv).all(-1)
            if ok.sum() > 1:
                draw.line([tuple(p) for p in uv[ok]], fill=(200, 204, 210), width=1)


def _camera_glyph(cam_view: Camera, fitted: Camera, draw: ImageDraw.ImageDraw, size: float = 0.25) -> None:
    C = fitted.center
    Rt = fitted.R.T  # camera axes in the world (columns)
    Kinv = np.linalg.inv(fitted.K)
    corners = []
    for u, v in ((0, 0), (fitted.width, 0), (fitted.width, fitted.height), (0, fitted.height)):
        ray = Kinv @ np.array([u, v, 1.0])
        corners.append(C + size * Rt @ (ray / ray[2]))
    pts = np.array([C] + corners)
    uv, z = project(cam_view, pts)
    if not np.isfinite(uv).all():
        return
    for i in range(1, 5):
        draw.line([tuple(uv[0]), tuple(uv[i])], fill=(90, 90, 90), width=2)
        draw.line([tuple(uv[i]), tuple(uv[1 + i % 4])], fill=(90, 90, 90), width=2)


def write_mp4(path: str | Path, frames: list[np.ndarray], *, fps: float) -> None:
    """Encode ``frames`` (each ``(H, W, 3)`` uint8, even sizes) as MP4 with PyAV (H.264, else MPEG-4)."""
    import av
    from fractions import Fraction

    from humokit._atomic import video_file

    if not frames:
        raise HumokitError(f"{path}: no frames to encode")
    codec = "libx264" if "libx264" in av.codecs_available else "mpeg4"
    rate = Fraction(fps).limit_denominator(1001)
    with video_file(path) as tmp, av.open(str(tmp), "w", format="mp4") as c:
        st = c.add_stream(codec, rate=rate)
        st.height, st.width = frames[0].shape[:2]
        st.pix_fmt = "yuv420p"
        if codec == "libx264":
            st.options = {"crf": "20", "preset": "veryfast"}
        for fr in frames:
            for pk in st.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(fr), format="rgb24")):
                c.mux(pk)
        for pk in st.encode():
            c.mux(pk)


def world_view_camera(joints: np.ndarray, fitted: Camera, width: int, height: int) -> Camera:
    """A fixed three-quarter view framing the whole trajectory and the body, metres."""
    root = joints[:, 0]
    centre = np.array([root[:, 0].mean(), 0.8, root[:, 2].mean()])
    extent = max(float(np.ptp(root[:, 0])), float(np.ptp(root[:, 2])), 1.0)
    # view from the fitted camera's side, rotated 45 degrees, a bit higher
    d = fitted.center - centre
    d[1] = 0.0
    if np.linalg.norm(d) < 1e-6:
        d = np.array([0.0, 0.0, -1.0])
    d = d / np.linalg.norm(d)
    c, s = np.cos(np.radians(45)), np.sin(np.radians(45))
    d = np.array([c * d[0] + s * d[2], 0.0, -s * d[0] + c * d[2]])
    dist = 2.2 + 1.2 * extent
    eye = centre + dist * d + np.array([0.0, 0.6 * dist, 0.0])
    return look_at(eye, centre, fov_y=40.0, width=width, height=height)


def render_preview(
    path: str | Path,
    video: str | Path,
    result: FitResult,
    track: KeypointTrack | None = None,
    *,
    body: object | None = None,
    height: int = 640,
    progress: bool = True,
    cameras: CameraTrajectory | None = None,
) -> Path:
    """Write the side-by-side preview MP4 (see module docstring).

    Args:
        path: output ``.mp4``.
        video: the input video (decoded again at the motion's frame rate).
        result: the fit.
        track: landmarks to draw as dots (optional).
        body: a :class:`~humokit.body.BodyModel` to draw as a mesh
            (its default shape, scaled like the fitted skeleton), or None for a skeleton.
        height: preview height in pixels (each panel).
        cameras: per-frame cameras of a moving camera (default: ``result.camera`` in every frame).
    """
    from humokit.body import pose_rest_body
    from humokit.optim.video import iter_frames

    motion = result.motion
    cam = result.camera
    s = height / cam.height
    pw = max(2, int(round(cam.width * s)) // 2 * 2)
    ph = max(2, int(round(height)) // 2 * 2)
    cam_p = cam.resized(pw, ph)
    joints = motion.joints()
    world_w = max(ph * 3 // 4 // 2 * 2, 2) if pw < ph else pw
    view = world_view_camera(joints, cam, world_w, ph)
    verts = faces = None
    if body is not None:
        rest = body.rest(body.default_shape())  # type: ignore[attr-defined]
        k = float(result.scale)
        rest = replace(rest, vertices=rest.vertices * k, joints=rest.joints * k, skeleton=rest.skeleton.scaled(k))
        R = torch.from_numpy(motion.rotations)
        out = pose_rest_body(rest, R, torch.from_numpy(motion.root_position))
        verts, faces = out.vertices, out.faces
    T = motion.num_frames
    frames: list[np.ndarray] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        start = track.start if track is not None else 0  # a track trimmed to the person's reliable span
        for f, _, img in tqdm(iter_frames(video, fps=motion.fps), total=start + T, desc="preview", unit="frame",
                              **({} if progress else {"disable": True})):
            t = f - start
            if t < 0:
                continue
            if t >= T:
                break
            base = np.asarray(Image.fromarray(img).resize((pw, ph), Image.BILINEAR))
            cam_t = cam_p if cameras is None or t >= len(cameras) else cameras[t].resized(pw, ph)
            if verts is not None:
                base = _draw_mesh(base, cam_t, verts[t], faces, alpha=0.65)
            left = Image.fromarray(base)
            if verts is None:
                _draw_skeleton(left, cam_t, joints[t], width=max(2, ph // 200))
            if track is not None and t < track.num_frames:
                d = ImageDraw.Draw(left)
                r = max(2, ph // 240)
                for (u, v), c in zip(track.uv[t] * s, track.confidence[t]):
                    if np.isfinite(u) and c > 0.3:
                        d.ellipse([u - r, v - r, u + r, v + r], fill=(255, 40, 40))
            right = Image.new("RGB", (world_w, ph), (238, 240, 244))
            dr = ImageDraw.Draw(right)
            _grid_lines(view, dr, joints[:, 0].mean(0), extent=max(3.0, float(np.ptp(joints[:, 0, [0, 2]], axis=0).max()) + 2))
            traj, _ = project(view, np.concatenate([joints[: t + 1, 0, :1] * 0 + joints[: t + 1, 0, :1],
                                                    np.zeros((t + 1, 1)), joints[: t + 1, 0, 2:3]], axis=1))
            traj = traj[np.isfinite(traj).all(-1)]
            if len(traj) > 1:
                dr.line([tuple(p) for p in traj], fill=(220, 60, 60), width=2)
            _camera_glyph(view, cam if cameras is None or t >= len(cameras) else cameras[t], dr)
            if verts is not None:
                right = Image.fromarray(_draw_mesh(np.asarray(right), view, verts[t], faces, alpha=1.0))
            else:
                _draw_skeleton(right, view, joints[t], width=3)
            canvas = Image.new("RGB", (pw + world_w, ph))
            canvas.paste(left, (0, 0))
            canvas.paste(right, (pw, 0))
            frames.append(np.asarray(canvas))
    finally:
        torch.set_num_threads(threads)
    path = Path(path)
    with atomic_path(path) as tmp:
        write_mp4(tmp, frames, fps=motion.fps)
    return path
