"""A vectorised z-buffered triangle rasterizer in pure torch (CPU or GPU).

Algorithm: project vertices with a :class:`~humokit.render.camera.Camera`;
for every face enumerate the pixel centres inside its screen bounding box
(faces in chunks that bound memory), test them with edge functions, and keep
the nearest face per pixel with one ``scatter_reduce_("amin")`` over packed
int64 keys ``(float32 depth bits << 32) | face`` (positive float32 bit
patterns order like the floats). A second pass recomputes barycentrics and
depth of the winning faces from the vertex tensor, so ``bary`` and ``depth``
carry gradients to the vertices (the face assignment itself is discrete).

Conventions: pixel centres at ``(col + 0.5, row + 0.5)`` (see
:mod:`humokit.render.camera`); depth is metres along the camera z axis;
barycentrics are perspective-correct; faces are two-sided; faces with a
vertex closer than ``near`` metres (or behind the camera) are dropped rather
than clipped; non-finite vertices drop their faces.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from humokit.errors import InputError
from humokit.render.camera import Camera

DEFAULT_NEAR = 0.01
_CHUNK_PIXELS = 4_000_000  # candidate (face, pixel) pairs processed at once


@dataclass(frozen=True)
class RasterOutput:
    """Per-pixel visibility of a mesh.

    Attributes:
        face_id: ``(H, W)`` int64 visible face index, -1 on background.
        bary: ``(H, W, 3)`` perspective-correct barycentrics of the visible face (0 on background).
        depth: ``(H, W)`` metres along camera z, **0 on background**.
        mask: ``(H, W)`` bool, True where a face is visible.
    """

    face_id: torch.Tensor
    bary: torch.Tensor
    depth: torch.Tensor
    mask: torch.Tensor

    @property
    def height(self) -> int:
        return int(self.face_id.shape[0])

    @property
    def width(self) -> int:
        return int(self.face_id.shape[1])


def camera_tensors(camera: Camera, dtype: torch.dtype, device: torch.device | str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """``(K, R, t)`` of a camera as tensors."""
    return (torch.as_tensor(camera.K, dtype=dtype, device=device),
            torch.as_tensor(camera.R, dtype=dtype, device=device),
            torch.as_tensor(camera.t, dtype=dtype, device=device))


def to_screen(vertices: torch.Tensor, camera: Camera) -> tuple[torch.Tensor, torch.Tensor]:
    """Camera-space points ``(V, 3)`` and screen points ``(V, 3)`` = ``(u, v, z)`` pixels/metres."""
    K, R, t = camera_tensors(camera, vertices.dtype, vertices.device)
    Xc = vertices @ R.T + t
    z = Xc[:, 2:3]
    uv = (Xc @ K.T)[:, :2] / torch.where(z.abs() > 1e-12, z, torch.full_like(z, 1e-12))
    return Xc, torch.cat([uv, z], dim=1)


def _check_mesh(vertices: torch.Tensor, faces: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    vertices = torch.as_tensor(vertices)
    faces = torch.as_tensor(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3:
        raise InputError(f"rasterize: vertices must have shape (V, 3), got {tuple(vertices.shape)}")
    if faces.ndim != 2 or faces.shape[1] != 3:
        raise InputError(f"rasterize: faces must have shape (F, 3), got {tuple(faces.shape)}")
    faces = faces.to(torch.int64)
    if faces.numel() and (faces.min() < 0 or faces.max() >= vertices.shape[0]):
        raise InputError(f"rasterize: face indices out of range for {vertices.shape[0]} vertices")
    if not vertices.is_floating_point():
        vertices = vertices.to(torch.float32)
    return vertices, faces


def _empty(H: int, W: int, dtype: torch.dtype, device: torch.device) -> RasterOutput:
    return RasterOutput(
        face_id=torch.full((H, W), -1, dtype=torch.int64, device=device),
        bary=torch.zeros((H, W, 3), dtype=dtype, device=device),
        depth=torch.zeros((H, W), dtype=dtype, device=device),
        mask=torch.zeros((H, W), dtype=torch.bool, device=device),
    )


def _edge(ax: torch.Tensor, ay: torch.Tensor, bx: torch.Tensor, by: torch.Tensor,
          px: torch.Tensor, py: torch.Tensor) -> torch.Tensor:
    """Twice the signed area of (a, b, p)."""
    return (bx - ax) * (py - ay) - (by - ay) * (px - ax)


def face_pixel_pairs(
    screen: torch.Tensor,
    faces: torch.Tensor,
    face_ok: torch.Tensor,
    H: int,
    W: int,
    *,
    margin: float = 0.0,
) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
    """Enumerate (face, pixel) pairs inside each face's screen bounding box.

    Args:
        screen: ``(V, 3)`` screen points (u, v, z).
        faces: ``(F, 3)``; face_ok: ``(F,)`` bool faces to consider.
        margin: pixels added around each bounding box (soft rasterization).
    Returns:
        A list of chunks ``(face (M,), px (M,), py (M,))`` with integer pixel
        columns/rows; each chunk holds at most ~4M pairs unless one face alone is larger.
    """
    with torch.no_grad():
        fidx = torch.nonzero(face_ok).squeeze(1)
        if fidx.numel() == 0:
            return []
        tri = screen[faces[fidx]]  # (F', 3, 3)
        lo = tri[..., :2].min(dim=1).values - margin
        hi = tri[..., :2].max(dim=1).values + margin
        # pixel centre c+0.5 inside [lo, hi]  <=>  ceil(lo-0.5) <= c <= floor(hi-0.5)
        x0 = torch.ceil(lo[:, 0] - 0.5).clamp(0, W).to(torch.int64)
        x1 = torch.floor(hi[:, 0] - 0.5).clamp(-1, W - 1).to(torch.int64)
        y0 = torch.ceil(lo[:, 1] - 0.5).clamp(0, H).to(torch.int64)
        y1 = torch.floor(hi[:, 1] - 0.5).clamp(-1, H - 1).to(torch.int64)
        nx = (x1 - x0 + 1).clamp_min(0)
        ny = (y1 - y0 + 1).clamp_min(0)
        count = nx * ny
        keep = count > 0
        fidx, x0, y0, nx, count = fidx[keep], x0[keep], y0[keep], nx[keep], count[keep]
        if fidx.numel() == 0:
            return []
        csum = torch.cumsum(count, 0)
        total = int(csum[-1])
        chunks = []
        bounds = [0]
        if total > _CHUNK_PIXELS:
            cuts = torch.searchsorted(csum, torch.arange(_CHUNK_PIXELS, total, _CHUNK_PIXELS, device=csum.device))
            bounds += sorted(set(int(c) + 1 for c in cuts.tolist()))
        bounds.append(fidx.numel())
        for a, b in zip(bounds[:-1], bounds[1:]):
            if b <= a:
                continue
            cnt = count[a:b]
            rep = torch.repeat_interleave(torch.arange(b - a, device=fidx.device), cnt)
            start = torch.cumsum(cnt, 0) - cnt
            local = torch.arange(rep.numel(), device=fidx.device) - start[rep]
            nxr = nx[a:b][rep]
            px = x0[a:b][rep] + local % nxr
            py = y0[a:b][rep] + local // nxr
            chunks.append((fidx[a:b][rep], px, py))
        return chunks


def rasterize(
    vertices: torch.Tensor,
    faces: torch.Tensor,
    camera: Camera,
    *,
    near: float = DEFAULT_NEAR,
) -> RasterOutput:
    """Rasterize a triangle mesh (z-buffer, nearest face per pixel centre).

    Args:
        vertices: ``(V, 3)`` world-space vertices, metres (float tensor; may require grad).
        faces: ``(F, 3)`` int triangle indices.
        camera: the camera (image size from it).
        near: faces with any vertex at camera depth < ``near`` metres are dropped.
    Returns:
        :class:`RasterOutput`; an empty frame when nothing is visible (camera
        behind the body, all vertices NaN, empty mesh).
    """
    vertices, faces = _check_mesh(vertices, faces)
    H, W = camera.height, camera.width
    dev, dtype = vertices.device, vertices.dtype
    if faces.shape[0] == 0 or vertices.shape[0] == 0:
        return _empty(H, W, dtype, dev)
    _, screen = to_screen(vertices, camera)
    with torch.no_grad():
        s = screen.detach()
        finite = torch.isfinite(s).all(dim=1)
        tri = s[faces]  # (F, 3, 3)
        ok = finite[faces].all(dim=1) & (tri[..., 2] > near).all(dim=1)
        area = _edge(tri[:, 0, 0], tri[:, 0, 1], tri[:, 1, 0], tri[:, 1, 1], tri[:, 2, 0], tri[:, 2, 1])
        ok &= area.abs() > 1e-12
        s = torch.where(finite[:, None], s, torch.zeros_like(s))
        zbuf = torch.full((H * W,), torch.iinfo(torch.int64).max, dtype=torch.int64, device=dev)
        for f, px, py in face_pixel_pairs(s, faces, ok, H, W):
            t = s[faces[f]]  # (M, 3, 3)
            cx = px.to(s.dtype) + 0.5
            cy = py.to(s.dtype) + 0.5
            w0 = _edge(t[:, 1, 0], t[:, 1, 1], t[:, 2, 0], t[:, 2, 1], cx, cy)
            w1 = _edge(t[:, 2, 0], t[:, 2, 1], t[:, 0, 0], t[:, 0, 1], cx, cy)
            w2 = _edge(t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1], cx, cy)
            a = area[f]
            inside = torch.where(a > 0, (w0 >= 0) & (w1 >= 0) & (w2 >= 0), (w0 <= 0) & (w1 <= 0) & (w2 <= 0))
            if not bool(inside.any()):
                continue
            f, px, py, t, a = f[inside], px[inside], py[inside], t[inside], a[inside]
            b = torch.stack([w0[inside], w1[inside], w2[inside]], dim=1) / a[:, None]
            inv_z = (b / t[..., 2]).sum(dim=1)
            z = (1.0 / inv_z).to(torch.float32).clamp_min(0.0)
            key = (z.view(torch.int32).to(torch.int64) << 32) | f
            zbuf.scatter_reduce_(0, py * W + px, key, reduce="amin")
        hit = zbuf != torch.iinfo(torch.int64).max
        face_id = torch.where(hit, zbuf & 0xFFFFFFFF, torch.full_like(zbuf, -1))
    if not bool(hit.any()):
        return _empty(H, W, dtype, dev)
    # Second pass (differentiable): barycentrics and depth of the winning faces.
    pix = torch.nonzero(hit).squeeze(1)
    f = face_id[pix]
    t = screen[faces[f]]  # (P, 3, 3) with grad
    cx = (pix % W).to(dtype) + 0.5
    cy = (pix // W).to(dtype) + 0.5
    w0 = _edge(t[:, 1, 0], t[:, 1, 1], t[:, 2, 0], t[:, 2, 1], cx, cy)
    w1 = _edge(t[:, 2, 0], t[:, 2, 1], t[:, 0, 0], t[:, 0, 1], cx, cy)
    w2 = _edge(t[:, 0, 0], t[:, 0, 1], t[:, 1, 0], t[:, 1, 1], cx, cy)
    b_screen = torch.stack([w0, w1, w2], dim=1)
    b_screen = b_screen / b_screen.sum(dim=1, keepdim=True)
    bp = b_screen / t[..., 2]
    inv_z = bp.sum(dim=1, keepdim=True)
    bary_v = bp / inv_z
    depth_v = 1.0 / inv_z[:, 0]
    bary = torch.zeros((H * W, 3), dtype=dtype, device=dev).index_put((pix,), bary_v)
    depth = torch.zeros((H * W,), dtype=dtype, device=dev).index_put((pix,), depth_v)
    return RasterOutput(face_id=face_id.view(H, W), bary=bary.view(H, W, 3), depth=depth.view(H, W), mask=hit.view(H, W))


def interpolate(raster: RasterOutput, faces: torch.Tensor, attributes: torch.Tensor) -> torch.Tensor:
    """Interpolate per-vertex attributes ``(V, C)`` to pixels ``(H, W, C)`` (0 on background)."""
    H, W = raster.height, raster.width
    out = torch.zeros((H, W, attributes.shape[1]), dtype=attributes.dtype, device=attributes.device)
    m = raster.mask
    if not bool(m.any()):
        return out
    f = raster.face_id[m]
    vals = (attributes[faces[f]] * raster.bary[m].to(attributes.dtype)[..., None]).sum(dim=1)
    return out.index_put((m,), vals)


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """``(V, 3)`` area-weighted unit vertex normals (counter-clockwise faces point outward)."""
    tri = vertices[faces]
    fn = torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=1)
    n = torch.zeros_like(vertices).index_add_(0, faces.reshape(-1), fn.repeat_interleave(3, dim=0))
    return n / n.norm(dim=1, keepdim=True).clamp_min(1e-12)


@dataclass(frozen=True)
class ShadeOutput:
    """Shaded images of a rasterized mesh.

    Attributes:
        rgb: ``(H, W, 3)`` float in [0, 1] (background colour where ``mask`` is False).
        normals: ``(H, W, 3)`` unit camera-space normals (OpenCV axes, facing the camera), 0 on background.
        parts: ``(H, W)`` int64 part id per pixel (-1 on background or when no labels were given).
        mask: ``(H, W)`` bool.
    """

    rgb: torch.Tensor
    normals: torch.Tensor
    parts: torch.Tensor
    mask: torch.Tensor


def shade(
    raster: RasterOutput,
    vertices: torch.Tensor,
    faces: torch.Tensor,
    camera: Camera,
    *,
    vertex_colors: torch.Tensor | np.ndarray | None = None,
    part_labels: torch.Tensor | np.ndarray | None = None,
    ambient: float = 0.25,
    smooth: bool = True,
    background: tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> ShadeOutput:
    """Lambert shading with a headlight (a light at the camera), normals and part maps.

    Args:
        raster: output of :func:`rasterize` for the same mesh and camera.
        vertices: ``(V, 3)`` world vertices; faces: ``(F, 3)``.
        vertex_colors: ``(V, 3)`` in [0, 1] (default light grey).
        part_labels: ``(V,)`` int part id per vertex (e.g. ``RestBody.part_labels()``);
            a pixel takes the label of its face's vertex with the largest barycentric.
        ambient: ambient term; diffuse = ``1 - ambient``.
        smooth: interpolate area-weighted vertex normals (True) or use flat face normals.
    """
    vertices, faces = _check_mesh(vertices, faces)
    H, W = raster.height, raster.width
    dev, dtype = vertices.device, vertices.dtype
    m = raster.mask
    _, R, t = camera_tensors(camera, dtype, dev)
    Xc = vertices @ R.T + t
    if smooth:
        normals = interpolate(raster, faces, vertex_normals(Xc, faces))
    else:
        tri = Xc[faces]
        fn = torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0], dim=1)
        normals = torch.zeros((H, W, 3), dtype=dtype, device=dev)
        if bool(m.any()):
            normals = normals.index_put((m,), fn[raster.face_id[m]])
    p_cam = interpolate(raster, faces, Xc)
    normals = normals / normals.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    # two-sided: make normals face the camera (n . p < 0 for a visible surface)
    flip = (normals * p_cam).sum(-1, keepdim=True) > 0
    normals = torch.where(flip, -normals, normals) * m[..., None]
    view = -p_cam / p_cam.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    lam = (normals * view).sum(-1).clamp(0.0, 1.0)
    intensity = ambient + (1.0 - ambient) * lam
    if vertex_colors is None:
        colors = torch.full((vertices.shape[0], 3), 0.8, dtype=dtype, device=dev)
    else:
        colors = torch.as_tensor(vertex_colors, dtype=dtype, device=dev)
        if colors.shape != (vertices.shape[0], 3):
            raise InputError(f"shade: vertex_colors must have shape ({vertices.shape[0]}, 3), got {tuple(colors.shape)}")
    albedo = interpolate(raster, faces, colors)
    bg = torch.tensor(background, dtype=dtype, device=dev)
    rgb = torch.where(m[..., None], albedo * intensity[..., None], bg).clamp(0.0, 1.0)
    parts = torch.full((H, W), -1, dtype=torch.int64, device=dev)
    if part_labels is not None:
        labels = torch.as_tensor(np.asarray(part_labels), dtype=torch.int64, device=dev)
        if labels.shape != (vertices.shape[0],):
            raise InputError(f"shade: part_labels must have shape ({vertices.shape[0]},), got {tuple(labels.shape)}")
        if bool(m.any()):
            fv = faces[raster.face_id[m]]
            k = raster.bary[m].argmax(dim=1)
            parts[m] = labels[fv.gather(1, k[:, None])[:, 0]]
    return ShadeOutput(rgb=rgb, normals=normals, parts=parts, mask=m)
