"""Stick-figure PNGs of 22-joint motions (PIL only), for checking data by eye.

Front view: looking along -Z at the body (camera on +Z), so the body's left
(+X) appears on the image's *right*; side view: x dropped, +Z to the image's right. Left limbs are drawn in red, right limbs in blue,
the spine in black; the ground line y = 0 is grey.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from humokit._io import atomic_path
from humokit.motion.skeleton import JOINT_NAMES, PARENTS

_LEFT = {j for j, n in enumerate(JOINT_NAMES) if n.startswith("left")}
_RIGHT = {j for j, n in enumerate(JOINT_NAMES) if n.startswith("right")}


def _colour(j: int) -> tuple[int, int, int]:
    return (220, 30, 30) if j in _LEFT else (30, 60, 220) if j in _RIGHT else (0, 0, 0)


def plot_skeleton_frames(
    joints: np.ndarray,
    path: str | Path,
    *,
    frames: int = 6,
    size: int = 360,
    title: str = "",
) -> None:
    """Draw ``frames`` evenly spaced poses of ``joints (T, 22, 3)`` (metres) in front and side views.

    The top row is the front view (+X to the right, as seen from a camera on
    +Z), the bottom row the side view (+Z to the right); every panel has the same metric scale, centred on the pelvis,
    with the ground line y = 0 and the world origin's x or z marked by a tick.
    """
    J = np.asarray(joints, dtype=np.float64)
    T = len(J)
    idx = np.linspace(0, T - 1, min(frames, T)).round().astype(int)
    W, H = size * len(idx), 2 * size + 20
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    px = size / 2.4  # pixels per metre
    for col, t in enumerate(idx):
        for row, axis in enumerate((0, 2)):
            ox, oy = col * size + size / 2, 20 + row * size + size * 0.85
            cx = J[t, 0, axis]
            sign = 1.0  # front view: +X (left of body) drawn to the right
            def to_px(p: np.ndarray) -> tuple[float, float]:
                return (ox + sign * (p[axis] - cx) * px, oy - p[1] * px)
            d.line([(col * size, oy), ((col + 1) * size, oy)], fill=(160, 160, 160))
            d.line([(ox - cx * sign * px, oy - 4), (ox - cx * sign * px, oy + 4)], fill=(0, 160, 0))
            for j, p in enumerate(PARENTS):
                if p >= 0:
                    d.line([to_px(J[t, p]), to_px(J[t, j])], fill=_colour(j), width=3)
            for j in range(J.shape[1]):
                x, y = to_px(J[t, j])
                d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=_colour(j))
            d.text((col * size + 4, 22 + row * size), f"{'front x' if axis == 0 else 'side z'} t={t}", fill=(0, 0, 0))
    d.text((4, 4), title, fill=(0, 0, 0))
    with atomic_path(path) as tmp:
        img.save(tmp)


def plot_trajectory(joints: np.ndarray, path: str | Path, *, size: int = 400) -> None:
    """Top view (x right, z up on the image) of pelvis (black) and left/right foot (red/blue) paths."""
    J = np.asarray(joints, dtype=np.float64)
    img = Image.new("RGB", (size, size), "white")
    d = ImageDraw.Draw(img)
    ext = max(1.0, float(np.abs(J[:, :, [0, 2]]).max()) * 1.1)
    s = size / (2 * ext)

    def to_px(p: np.ndarray) -> tuple[float, float]:
        return (size / 2 + p[0] * s, size / 2 - p[2] * s)

    d.line([(size / 2, 0), (size / 2, size)], fill=(200, 200, 200))
    d.line([(0, size / 2), (size, size / 2)], fill=(200, 200, 200))
    for j, c in ((0, (0, 0, 0)), (10, (220, 30, 30)), (11, (30, 60, 220))):
        d.line([to_px(p) for p in J[:, j]], fill=c, width=2)
    d.text((4, 4), f"top view, +x right, +z up, {ext:.1f} m", fill=(0, 0, 0))
    with atomic_path(path) as tmp:
        img.save(tmp)
