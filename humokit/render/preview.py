"""Quick-look preview videos of a posed mesh sequence (used by ``humokit demo``).

A camera follows the body from the front-right; each frame is the shaded
mesh from :func:`~humokit.render.raster.shade` composited over a ground grid.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw
from tqdm import tqdm

from humokit.errors import HumokitError
from humokit.render.camera import Camera, look_at, project
from humokit.render.raster import rasterize, shade

BACKGROUND = (235, 238, 242)
GRID = (196, 200, 206)
BODY = (0.47, 0.59, 0.78)


def grid_image(camera: Camera, centre_xz: np.ndarray, *, extent: float = 4.0, spacing: float = 0.5) -> Image.Image:
    """Background with the y = 0 ground grid around ``centre_xz`` (metres) drawn in perspective."""
    img = Image.new("RGB", (camera.width, camera.height), BACKGROUND)
    draw = ImageDraw.Draw(img)
    cx, cz = np.round(np.asarray(centre_xz) / spacing) * spacing
    for k in np.arange(-extent, extent + 1e-9, spacing):
        for a, b in (([cx + k, 0, cz - extent], [cx + k, 0, cz + extent]), ([cx - extent, 0, cz + k], [cx + extent, 0, cz + k])):
            pts = np.linspace(a, b, 48)
            uv, depth = project(camera, pts)
            uv = np.asarray(uv)[np.asarray(depth) > 0.1]
            if len(uv) > 1:
                draw.line([tuple(p) for p in uv], fill=GRID, width=1)
    return img


def preview_frame(vertices: np.ndarray, faces: torch.Tensor, camera: Camera, centre_xz: np.ndarray) -> np.ndarray:
    """One ``(H, W, 3)`` uint8 frame: shaded body over the ground grid."""
    V = torch.as_tensor(vertices, dtype=torch.float32)
    r = rasterize(V, faces, camera)
    colors = torch.tensor(BODY).expand(V.shape[0], 3)
    s = shade(r, V, faces, camera, vertex_colors=colors)
    bg = np.asarray(grid_image(camera, centre_xz), dtype=np.float32) / 255.0
    rgb = s.rgb.detach().numpy() if isinstance(s.rgb, torch.Tensor) else np.asarray(s.rgb)
    rgb = rgb.astype(np.float32) / (255.0 if rgb.dtype == np.uint8 else 1.0)
    m = np.asarray(r.mask, dtype=np.float32)[..., None]
    return (np.clip(m * rgb + (1 - m) * bg, 0, 1) * 255).astype(np.uint8)


def write_mp4(path: str | Path, frames: list[np.ndarray], *, fps: float) -> None:
    """Encode ``frames`` (each ``(H, W, 3)`` uint8) as H.264 MP4 with imageio-ffmpeg (atomic)."""
    import imageio.v2 as iio2

    from humokit._atomic import video_file

    if not frames:
        raise HumokitError(f"{path}: no frames to encode")
    with video_file(path) as tmp:
        with iio2.get_writer(str(tmp), format="FFMPEG", fps=fps, codec="libx264", quality=7, macro_block_size=1) as w:
            for fr in frames:
                w.append_data(fr)


def render_preview_video(
    path: str | Path,
    vertices: np.ndarray,
    faces: np.ndarray | torch.Tensor,
    *,
    fps: float,
    size: int = 384,
    max_fps: float = 15.0,
) -> Path:
    """Write an MP4 of ``vertices (T, V, 3)`` (metres) seen by a camera that follows the body."""
    path = Path(path)
    F = torch.as_tensor(np.asarray(faces), dtype=torch.long)
    step = max(1, int(round(fps / max_fps)))
    centres = vertices.mean(1)
    frames = []
    for t in tqdm(range(0, len(vertices), step), desc="preview", unit="frame"):
        target = np.array([centres[t, 0], 0.85, centres[t, 2]])
        cam = look_at(target + np.array([1.6, 0.45, 3.0]), target, fov_y=40.0, width=size, height=size)
        frames.append(preview_frame(vertices[t], F, cam, centres[t, [0, 2]]))
    write_mp4(path, frames, fps=fps / step)
    return path
