"""Differentiable soft silhouettes (SoftRas-style) for fitting.

Each face covers pixel ``p`` with probability ``sigmoid(d(p) / sigma)`` where
``d`` is the signed screen distance (pixels, positive inside) from the pixel
centre to the triangle's boundary; faces combine as
``S(p) = 1 - prod_f (1 - prob_f(p))``. Only pixels within ``margin * sigma``
of a face's bounding box are evaluated, so cost scales with the covered area.
Gradients reach the vertices through the projected positions.

For a differentiable depth map use :func:`humokit.render.raster.rasterize`:
its ``depth`` and ``bary`` are recomputed from the vertices with autograd
(gradient inside the silhouette; the silhouette's edges come from here).
"""

from __future__ import annotations

import torch

from humokit.errors import InputError
from humokit.render.camera import Camera
from humokit.render.raster import DEFAULT_NEAR, _check_mesh, face_pixel_pairs, to_screen


def _segment_distance(px: torch.Tensor, py: torch.Tensor, ax: torch.Tensor, ay: torch.Tensor,
                      bx: torch.Tensor, by: torch.Tensor) -> torch.Tensor:
    dx, dy = bx - ax, by - ay
    L2 = (dx * dx + dy * dy).clamp_min(1e-12)
    s = (((px - ax) * dx + (py - ay) * dy) / L2).clamp(0.0, 1.0)
    ex, ey = px - (ax + s * dx), py - (ay + s * dy)
    return torch.sqrt(ex * ex + ey * ey + 1e-12)


def soft_silhouette(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    camera: Camera,
    *,
    sigma: float = 1.0,
    margin: float = 6.0,
    near: float = DEFAULT_NEAR,
) -> torch.Tensor:
    """Soft silhouette ``(H, W)`` in [0, 1], differentiable w.r.t. ``vertices``.

    Args:
        vertices: ``(V, 3)`` world vertices, metres.
        faces: ``(F, 3)`` triangles.
        sigma: edge softness in pixels (smaller = sharper).
        margin: evaluate pixels up to ``margin * sigma`` pixels outside each face.
        near: faces with a vertex closer than this (metres) are dropped.
    """
    if sigma <= 0:
        raise InputError(f"soft_silhouette: sigma must be positive, got {sigma}")
    vertices, faces = _check_mesh(vertices, faces)
    H, W = camera.height, camera.width
    out_log = torch.zeros(H * W, dtype=vertices.dtype, device=vertices.device)
    if faces.shape[0] == 0:
        return out_log.view(H, W)
    _, screen = to_screen(vertices, camera)
    with torch.no_grad():
        s = screen.detach()
        ok = torch.isfinite(s).all(1)[faces].all(1) & (s[faces][..., 2] > near).all(1)
    for f, px, py in face_pixel_pairs(torch.nan_to_num(s), faces, ok, H, W, margin=margin * sigma):
        t = screen[faces[f]]
        cx = px.to(t.dtype) + 0.5
        cy = py.to(t.dtype) + 0.5
        a, b, c = t[:, 0], t[:, 1], t[:, 2]
        area = (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])
        sgn = torch.where(area >= 0, 1.0, -1.0).to(t.dtype)
        e0 = ((c[:, 0] - b[:, 0]) * (cy - b[:, 1]) - (c[:, 1] - b[:, 1]) * (cx - b[:, 0])) * sgn
        e1 = ((a[:, 0] - c[:, 0]) * (cy - c[:, 1]) - (a[:, 1] - c[:, 1]) * (cx - c[:, 0])) * sgn
        e2 = ((b[:, 0] - a[:, 0]) * (cy - a[:, 1]) - (b[:, 1] - a[:, 1]) * (cx - a[:, 0])) * sgn
        inside = (e0 >= 0) & (e1 >= 0) & (e2 >= 0)
        d = torch.minimum(torch.minimum(
            _segment_distance(cx, cy, b[:, 0], b[:, 1], c[:, 0], c[:, 1]),
            _segment_distance(cx, cy, c[:, 0], c[:, 1], a[:, 0], a[:, 1])),
            _segment_distance(cx, cy, a[:, 0], a[:, 1], b[:, 0], b[:, 1]))
        d = torch.where(inside, d, -d)
        # log(1 - sigmoid(x)) = -softplus(x), numerically stable
        out_log = out_log.index_add(0, py * W + px, -torch.nn.functional.softplus(d / sigma))
    return (1.0 - torch.exp(out_log)).view(H, W)
