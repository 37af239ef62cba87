"""A compiled depth-only z-buffer for many frames at once (NVIDIA Warp kernel, CPU or CUDA).

Depth, silhouette and keypoint occlusion need the nearest surface per pixel
only, not which face is visible: :func:`depth_maps` rasterizes a batch of
frames of one mesh with a Warp kernel (one thread per frame-face pair,
bounding-box scan with edge tests at pixel centres, perspective-correct
``1 / z`` interpolation, ``atomic_min`` into a float32 depth buffer). Its
reference twin is :func:`humokit.render.raster.rasterize` (same pixel-centre,
near-plane and two-sided conventions; ``tests/render/test_zbuffer.py``
compares them).

Warp is a dependency of the Anny body; the kernel compiles once per machine
(tens of seconds, cached in Warp's kernel cache) and Warp's start-up banner
is kept off stdout.
"""

from __future__ import annotations

import contextlib
import functools
import sys

import numpy as np

from humokit.errors import MissingDependencyError

DEFAULT_NEAR = 0.01


@functools.lru_cache(maxsize=1)
def _kernel() -> tuple[object, object]:
    try:
        with contextlib.redirect_stdout(sys.stderr):
            import warp as wp

            wp.config.quiet = True
            wp.init()
    except ImportError:
        raise MissingDependencyError("the fast depth rasterizer (package 'warp-lang')", "anny") from None

    @wp.kernel
    def raster_depth(
        uvz: wp.array2d(dtype=wp.vec3),  # (B, V) pixels u, v and depth z
        faces: wp.array(dtype=wp.vec3i),
        width: int,
        height: int,
        near: float,
        zbuf: wp.array3d(dtype=wp.float32),  # (B, H, W)
    ):
        b, f = wp.tid()
        tri = faces[f]
        p0 = uvz[b, tri[0]]
        p1 = uvz[b, tri[1]]
        p2 = uvz[b, tri[2]]
        if p0[2] < near or p1[2] < near or p2[2] < near:
            return
        if not (wp.isfinite(p0) and wp.isfinite(p1) and wp.isfinite(p2)):
            return
        area = (p1[0] - p0[0]) * (p2[1] - p0[1]) - (p1[1] - p0[1]) * (p2[0] - p0[0])
        if wp.abs(area) <= 1e-12:
            return
        x0 = wp.max(int(wp.ceil(wp.min(p0[0], wp.min(p1[0], p2[0])) - 0.5)), 0)
        x1 = wp.min(int(wp.floor(wp.max(p0[0], wp.max(p1[0], p2[0])) - 0.5)), width - 1)
        y0 = wp.max(int(wp.ceil(wp.min(p0[1], wp.min(p1[1], p2[1])) - 0.5)), 0)
        y1 = wp.min(int(wp.floor(wp.max(p0[1], wp.max(p1[1], p2[1])) - 0.5)), height - 1)
        for y in range(y0, y1 + 1):
            cy = float(y) + 0.5
            for x in range(x0, x1 + 1):
                cx = float(x) + 0.5
                w0 = ((p2[0] - p1[0]) * (cy - p1[1]) - (p2[1] - p1[1]) * (cx - p1[0])) / area
                w1 = ((p0[0] - p2[0]) * (cy - p2[1]) - (p0[1] - p2[1]) * (cx - p2[0])) / area
                w2 = 1.0 - w0 - w1
                if w0 >= 0.0 and w1 >= 0.0 and w2 >= 0.0:
                    inv_z = w0 / p0[2] + w1 / p1[2] + w2 / p2[2]
                    wp.atomic_min(zbuf, b, y, x, 1.0 / inv_z)

    return wp, raster_depth


def project_frames(vertices: np.ndarray, K: np.ndarray, R: np.ndarray, t: np.ndarray) -> np.ndarray:
    """World vertices ``(B, V, 3)`` through per-frame cameras ``K, R (B, 3, 3), t (B, 3)`` to ``(B, V, 3)`` = (u, v, z).

    OpenCV cameras, pixel units, z in metres along the optical axis.
    """
    Xc = np.einsum("bvj,bij->bvi", vertices, R) + t[:, None, :]
    z = Xc[..., 2:3]
    uv = np.einsum("bvj,bij->bvi", Xc, K)[..., :2] / np.where(np.abs(z) > 1e-12, z, 1e-12)
    return np.concatenate([uv, z], axis=-1).astype(np.float32)


def depth_maps(
    screen: np.ndarray,
    faces: np.ndarray,
    width: int,
    height: int,
    *,
    near: float = DEFAULT_NEAR,
    device: str = "cpu",
) -> np.ndarray:
    """Z-buffer a batch of frames of one mesh.

    Args:
        screen: ``(B, V, 3)`` projected vertices ``(u, v, z)`` (pixels, metres), see :func:`project_frames`.
        faces: ``(F, 3)`` triangle indices.
        width, height: image size in pixels.
        near: faces with a vertex nearer than this (or behind the camera) are dropped.
        device: Warp device (``"cpu"`` or ``"cuda"``).
    Returns:
        ``(B, H, W)`` float32 depth in metres along the camera z axis, 0 on the background.
    """
    wp, kernel = _kernel()
    screen = np.ascontiguousarray(screen, dtype=np.float32)
    B = screen.shape[0]
    if B == 0 or len(faces) == 0:
        return np.zeros((B, height, width), np.float32)
    dev = "cuda" if device.startswith("cuda") else "cpu"
    uvz = wp.array(screen, dtype=wp.vec3, device=dev)
    tri = wp.array(np.ascontiguousarray(faces, dtype=np.int32), dtype=wp.vec3i, device=dev)
    zbuf = wp.full((B, height, width), np.inf, dtype=wp.float32, device=dev)
    with contextlib.redirect_stdout(sys.stderr):  # Warp reports module loads on stdout
        wp.launch(kernel, dim=(B, len(faces)), inputs=[uvz, tri, int(width), int(height), float(near), zbuf], device=dev)
    z = zbuf.numpy()
    z[~np.isfinite(z)] = 0.0
    return z
