"""Textured 3D backdrops: a ground plane and walls ray-cast through any camera.

A flat picture pasted behind a rendered body stays put when the camera
moves; a backdrop made of textured planes in the world moves with correct
perspective and parallax, so synthetic videos from a moving camera
(:class:`~humokit.render.camera.CameraTrajectory`) have a background a camera
tracker can measure. Each pixel's ray is intersected with every plane
(nearest hit wins) and the texture is sampled bilinearly; ``supersample``
renders at a multiple of the size and averages (less shimmer on far ground).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from humokit.errors import InputError, MissingDependencyError
from humokit.render.camera import Camera


@dataclass(frozen=True)
class TexturedPlane:
    """A textured rectangle in the world (metres).

    Attributes:
        origin: ``(3,)`` world position of the texture's top-left corner (texel ``(0, 0)``).
        u: ``(3,)`` world vector along the texture's width (its length is the rectangle's width).
        v: ``(3,)`` world vector along the texture's height.
        texture: ``(h, w, 3)`` uint8 RGB.
    """

    origin: np.ndarray
    u: np.ndarray
    v: np.ndarray
    texture: np.ndarray

    def __post_init__(self) -> None:
        for name in ("origin", "u", "v"):
            a = np.asarray(getattr(self, name), dtype=np.float64).reshape(-1)
            if a.shape != (3,) or not np.isfinite(a).all():
                raise InputError(f"textured plane: {name} must be 3 finite numbers")
            object.__setattr__(self, name, a)
        tex = np.asarray(self.texture)
        if tex.ndim != 3 or tex.shape[2] != 3 or tex.dtype != np.uint8 or min(tex.shape[:2]) < 2:
            raise InputError(f"textured plane: texture must be (h, w, 3) uint8, got {tex.shape} {tex.dtype}")
        if np.linalg.norm(np.cross(self.u, self.v)) < 1e-12:
            raise InputError("textured plane: u and v must not be parallel")


def procedural_texture(height: int, width: int, rng: np.random.Generator, *, shapes: int = 300,
                       blur: float = 1.2) -> np.ndarray:
    """``(height, width, 3)`` uint8 texture of random rectangles, discs and lines over mottled noise (many corners)."""
    from PIL import Image, ImageDraw, ImageFilter

    base = rng.integers(70, 190, 3)
    noise = rng.normal(size=(height // 16 + 2, width // 16 + 2, 3))
    low = np.asarray(Image.fromarray(((noise * 25) + 128).clip(0, 255).astype(np.uint8)).resize((width, height), Image.BICUBIC))
    img = Image.fromarray(((low.astype(np.float32) - 128) + base).clip(0, 255).astype(np.uint8))
    d = ImageDraw.Draw(img)
    size = max(4, min(height, width) // 12)
    for _ in range(shapes):
        x, y = int(rng.integers(0, width)), int(rng.integers(0, height))
        w, h = int(rng.integers(3, size)), int(rng.integers(3, size))
        col = tuple(int(c) for c in rng.integers(0, 256, 3))
        k = rng.random()
        if k < 0.45:
            d.rectangle([x, y, x + w, y + h], fill=col)
        elif k < 0.8:
            d.ellipse([x, y, x + w, y + h], fill=col)
        else:
            d.line([x, y, x + int(rng.integers(-size, size)), y + int(rng.integers(-size, size))], fill=col,
                   width=int(rng.integers(1, 4)))
    if blur > 0:
        img = img.filter(ImageFilter.GaussianBlur(blur))
    return np.asarray(img)


def room(center: np.ndarray | tuple[float, float, float], *, size: float = 16.0, wall_height: float = 5.0,
         seed: int = 0, texels_per_metre: float = 48.0) -> list[TexturedPlane]:
    """A ground plane (``y = 0``) of ``size`` metres and four walls around ``center`` (x, z used), each textured."""
    rng = np.random.default_rng(seed)
    c = np.asarray(center, dtype=np.float64)
    h = size / 2
    x0, x1, z0, z1 = c[0] - h, c[0] + h, c[2] - h, c[2] + h
    n = max(2, int(round(size * texels_per_metre)))
    m = max(2, int(round(wall_height * texels_per_metre)))
    planes = [TexturedPlane(np.array([x0, 0.0, z0]), np.array([size, 0.0, 0.0]), np.array([0.0, 0.0, size]),
                            procedural_texture(n, n, rng, shapes=int(size * size * 6)))]
    up = np.array([0.0, wall_height, 0.0])
    corners = [(x0, z1, x1, z1), (x1, z1, x1, z0), (x1, z0, x0, z0), (x0, z0, x0, z1)]
    for a, b, cc, d in corners:
        o = np.array([a, wall_height, b])
        planes.append(TexturedPlane(o, np.array([cc - a, 0.0, d - b]), -up,
                                    procedural_texture(m, n, rng, shapes=int(size * wall_height * 6))))
    return planes


def render_backdrop(camera: Camera, planes: list[TexturedPlane], *, supersample: int = 1,
                    sky: tuple[int, int, int] = (200, 215, 235)) -> tuple[np.ndarray, np.ndarray]:
    """Ray-cast ``planes`` through ``camera``.

    Returns:
        ``(image (H, W, 3) uint8, depth (H, W) metres along the optical axis, inf where no plane)``.
    """
    try:
        import cv2
    except ImportError:
        raise MissingDependencyError("OpenCV (backdrop rendering)", "recover") from None
    if supersample < 1:
        raise InputError(f"render_backdrop: supersample must be >= 1, got {supersample}")
    s = int(supersample)
    W, H = camera.width * s, camera.height * s
    K = camera.K.copy()
    K[:2] *= s
    u, v = np.meshgrid(np.arange(W, dtype=np.float64) + 0.5, np.arange(H, dtype=np.float64) + 0.5)
    rays_c = np.stack([(u - K[0, 2]) / K[0, 0], (v - K[1, 2]) / K[1, 1], np.ones_like(u)], axis=-1)  # z = 1
    rays_w = rays_c @ camera.R  # world directions, camera z-depth 1 per unit step
    C = camera.center
    depth = np.full((H, W), np.inf)
    img = np.empty((H, W, 3), np.float32)
    img[:] = sky
    for p in planes:
        nrm = np.cross(p.u, p.v)
        den = rays_w @ nrm
        with np.errstate(divide="ignore", invalid="ignore"):
            z = ((p.origin - C) @ nrm) / den
        P = C + z[..., None] * rays_w - p.origin
        a = P @ p.u / (p.u @ p.u)
        b = P @ p.v / (p.v @ p.v)
        hit = np.isfinite(z) & (z > 1e-3) & (a >= 0) & (a <= 1) & (b >= 0) & (b <= 1) & (z < depth)
        if not hit.any():
            continue
        th, tw = p.texture.shape[:2]
        mx = (np.where(hit, a, 0) * (tw - 1)).astype(np.float32)
        my = (np.where(hit, b, 0) * (th - 1)).astype(np.float32)
        col = cv2.remap(p.texture, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        img[hit] = col[hit]
        depth[hit] = z[hit]
    if s > 1:
        img = cv2.resize(img, (camera.width, camera.height), interpolation=cv2.INTER_AREA)
        depth = depth.reshape(camera.height, s, camera.width, s).min(axis=(1, 3))
    return img.clip(0, 255).astype(np.uint8), depth
