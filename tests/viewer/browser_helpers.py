"""Helpers shared by the headless-browser viewer tests: screenshots and a pinhole projection."""

from __future__ import annotations

import io

import numpy as np

W, H = 960, 640


def shot(page, timeout: float = 30_000) -> np.ndarray:
    """The page's screenshot as ``(H, W, 3)`` int16 RGB (``timeout`` in ms, playwright's default)."""
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(page.screenshot(timeout=timeout))).convert("RGB")).astype(np.int16)


def project(points, position, look_at, fov_deg, w=W, h=H):
    """Pinhole projection (Y up world, camera looks at ``look_at``) to pixel (u, v)."""
    f = look_at - position
    f = f / np.linalg.norm(f)
    r = np.cross(f, [0.0, 1.0, 0.0])
    r /= np.linalg.norm(r)
    u = np.cross(r, f)
    d = points - position
    x, y, z = d @ r, d @ u, d @ f
    fy = (h / 2) / np.tan(np.deg2rad(fov_deg) / 2)
    return np.stack([w / 2 + fy * x / z, h / 2 - fy * y / z], -1)
