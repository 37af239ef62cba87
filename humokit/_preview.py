"""A small dependency-free preview renderer (painter's algorithm with PIL) for the demo.

It draws back-face-culled, Lambert-shaded triangles sorted far to near from a
fixed perspective camera that follows the body, plus a ground grid. The full
renderer with depth, normals and control signals lives in :mod:`humokit.render`.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from humokit._io import atomic_path


def _look_at(eye: np.ndarray, target: np.ndarray) -> np.ndarray:
    """World-to-camera rotation (OpenCV: x right, y down, z forward)."""
    z = target - eye
    z /= np.linalg.norm(z)
    x = np.cross(z, [0.0, 1.0, 0.0])  # camera right, for a camera looking along z with y up
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    return np.stack([x, y, z])


def draw_frame(verts: np.ndarray, faces: np.ndarray, eye: np.ndarray, target: np.ndarray, size: int) -> np.ndarray:
    """One ``(size, size, 3)`` uint8 image of the mesh seen from ``eye`` looking at ``target``."""
    R = _look_at(eye, target)
    f = 1.4 * size
    cam = (verts - eye) @ R.T
    img = Image.new("RGB", (size, size), (235, 238, 242))
    draw = ImageDraw.Draw(img)
    # ground grid (y = 0), 0.5 m spacing around the target
    cx, cz = np.round(target[[0, 2]] * 2) / 2
    lines = []
    for k in np.arange(-4, 4.5, 0.5):
        lines.append(([cx + k, 0, cz - 4], [cx + k, 0, cz + 4]))
        lines.append(([cx - 4, 0, cz + k], [cx + 4, 0, cz + k]))
    for a, b in lines:
        pts = np.linspace(a, b, 40)
        pc = (pts - eye) @ R.T
        ok = pc[:, 2] > 0.1
        uv = f * pc[ok, :2] / pc[ok, 2:3] + size / 2
        if len(uv) > 1:
            draw.line([tuple(p) for p in uv], fill=(200, 203, 208), width=1)
    tri = cam[faces]  # (F, 3, 3)
    n = np.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0])
    center = tri.mean(1)
    visible = ((n * center).sum(-1) < 0) & (tri[..., 2].min(1) > 0.05)
    tri, n, center = tri[visible], n[visible], center[visible]
    n /= np.linalg.norm(n, axis=-1, keepdims=True) + 1e-12
    light = -center / np.linalg.norm(center, axis=-1, keepdims=True)
    shade = 0.25 + 0.75 * np.clip((n * light).sum(-1), 0, 1)
    uv = f * tri[..., :2] / tri[..., 2:3] + size / 2
    order = np.argsort(-center[:, 2])
    base = np.array([120, 150, 200])
    for i in order:
        c = tuple(int(x) for x in base * shade[i])
        draw.polygon([tuple(p) for p in uv[i]], fill=c)
    return np.asarray(img)


def render_preview_video(
    path: str | Path,
    vertices: np.ndarray,
    faces: np.ndarray,
    *,
    fps: float,
    size: int = 384,
    joints: np.ndarray | None = None,
    max_fps: float = 15.0,
) -> Path:
    """Write an MP4 of a posed mesh sequence ``vertices (T, V, 3)`` seen from the front-right."""
    path = Path(path)
    step = max(1, int(round(fps / max_fps)))
    frames = []
    centre_all = vertices.mean(1)
    for t in tqdm(range(0, len(vertices), step), desc="preview", unit="frame"):
        target = np.array([centre_all[t, 0], 0.9, centre_all[t, 2]])
        eye = target + np.array([1.8, 0.5, 3.2])
        frames.append(draw_frame(vertices[t], faces, eye, target, size))
    with atomic_path(path) as tmp:
        write_mp4(tmp, frames, fps=fps / step)
    return path


def write_mp4(path: str | Path, frames: list[np.ndarray], *, fps: float) -> None:
    """Encode ``frames`` (each ``(H, W, 3)`` uint8) as H.264 MP4 with imageio-ffmpeg."""
    import imageio.v2 as iio2

    with iio2.get_writer(str(path), format="FFMPEG", fps=fps, codec="libx264", quality=7, macro_block_size=1) as w:
        for fr in frames:
            w.append_data(fr)
