"""3D Gaussian splatting: data, ``.ply`` I/O, a differentiable torch renderer and gsplat on CUDA.

Representation (:class:`Gaussians`, gsplat's conventions):

- ``means`` ``(N, 3)`` world positions, metres;
- ``quats`` ``(N, 4)`` rotations **wxyz** (normalised when used);
- ``scales`` ``(N, 3)`` **linear** standard deviations along the rotated axes, metres
  (the ``.ply`` stores their log);
- ``opacities`` ``(N,)`` in [0, 1] (the ``.ply`` stores their logit);
- ``sh`` ``(N, K, 3)`` real spherical-harmonic colour coefficients, ``K = (d+1)^2``
  for degree ``d`` in 0..3; colour = ``max(SH(dir) + 0.5, 0)`` with ``dir`` the
  unit vector from the camera centre to the mean (the 3DGS/gsplat rule).

Rendering maths (:func:`render_gaussians` ``backend="torch"``, same as gsplat):
world-to-camera; EWA projection ``cov2d = J W Sigma W^T J^T`` with the
perspective Jacobian ``J`` (the mean clamped to 1.3x the field of view for
``J``); a 0.3 px^2 low-pass dilation added to ``cov2d``; radius
``ceil(3.33 sqrt(cov2d_ii))`` (about 3 sigma) per axis; Gaussians nearer than
0.01 m or off-screen dropped; 16x16 tiles with per-tile lists sorted by camera
depth; front-to-back compositing per pixel centre ``(c+0.5, r+0.5)`` with
``alpha = min(alpha_max, o exp(-q/2))``, ``alpha < 1/255`` skipped, and the
pixel finished before the Gaussian that would bring the transmittance to
<= 1e-4. ``alpha_max`` defaults to 0.99 (original 3DGS); gsplat's CUDA kernel
uses 0.999 (pass ``alpha_max=0.999`` to match it bit for bit).

Body-bound avatars: :func:`gaussians_from_mesh` puts Gaussians on the faces of
a :class:`~humokit.body.RestBody` with barycentric skinning weights;
:func:`skin_gaussians` moves means and rotates quaternions with the blended
bone transforms (polar rotation of the blended matrix), so any motion animates them.
"""

from __future__ import annotations

import importlib.util
import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal

import numpy as np
import torch

from humokit._io import atomic_path
from humokit.errors import FileFormatError, InputError, MissingDependencyError
from humokit.render.camera import Camera

SH_C0 = 0.28209479177387814
SH_C1 = 0.4886025119029199
SH_C2 = (1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396)
SH_C3 = (-0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154,
         -0.4570457994644658, 1.445305721320277, -0.5900435899266435)
ALPHA_MIN = 1.0 / 255.0
T_MIN = 1e-4
EPS2D = 0.3
NEAR = 0.01
RADIUS_SIGMAS = 3.33
_STEP_BUDGET = 4_000_000


def has_gsplat() -> bool:
    """True when the ``gsplat`` package is installed."""
    return importlib.util.find_spec("gsplat") is not None


def has_gsplat_cuda() -> bool:
    """True when gsplat and a CUDA device are both available."""
    return has_gsplat() and torch.cuda.is_available()


@dataclass(frozen=True)
class Gaussians:
    """A set of 3D Gaussians (see module docstring for units and conventions)."""

    means: torch.Tensor
    quats: torch.Tensor
    scales: torch.Tensor
    opacities: torch.Tensor
    sh: torch.Tensor

    def __post_init__(self) -> None:
        N = self.means.shape[0] if self.means.ndim == 2 else -1
        shapes = {"means": (N, 3), "quats": (N, 4), "scales": (N, 3), "opacities": (N,)}
        for name, shape in shapes.items():
            if tuple(getattr(self, name).shape) != shape:
                raise InputError(f"gaussians: {name} must have shape {shape}, got {tuple(getattr(self, name).shape)}")
        if self.sh.ndim != 3 or self.sh.shape[0] != N or self.sh.shape[2] != 3 or self.sh.shape[1] not in (1, 4, 9, 16):
            raise InputError(f"gaussians: sh must have shape (N, K, 3) with K in 1, 4, 9, 16; got {tuple(self.sh.shape)}")

    def __len__(self) -> int:
        return int(self.means.shape[0])

    @property
    def sh_degree(self) -> int:
        return int(round(math.sqrt(self.sh.shape[1]))) - 1

    @classmethod
    def from_colors(cls, means: torch.Tensor, quats: torch.Tensor, scales: torch.Tensor,
                    opacities: torch.Tensor, rgb: torch.Tensor) -> "Gaussians":
        """Degree-0 Gaussians with view-independent colours ``rgb`` ``(N, 3)`` in [0, 1]."""
        return cls(means, quats, scales, opacities, ((rgb - 0.5) / SH_C0)[:, None, :])

    def to(self, device: torch.device | str, dtype: torch.dtype | None = None) -> "Gaussians":
        return Gaussians(*(x.to(device=device, dtype=dtype) for x in (self.means, self.quats, self.scales, self.opacities, self.sh)))


# ---------------------------------------------------------------------------
# Maths


def quat_to_rotmat(q: torch.Tensor) -> torch.Tensor:
    """``(..., 4)`` wxyz (any norm) to ``(..., 3, 3)`` rotation matrices."""
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    w, x, y, z = q.unbind(-1)
    return torch.stack([
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    ], dim=-1).reshape(q.shape[:-1] + (3, 3))


def rotmat_to_quat_wxyz(R: torch.Tensor) -> torch.Tensor:
    """``(..., 3, 3)`` rotations to ``(..., 4)`` unit quaternions wxyz (w >= 0)."""
    import roma

    q = roma.rotmat_to_unitquat(R)  # xyzw
    q = torch.cat([q[..., 3:], q[..., :3]], dim=-1)
    return torch.where(q[..., :1] < 0, -q, q)


def covariances(quats: torch.Tensor, scales: torch.Tensor) -> torch.Tensor:
    """``(N, 3, 3)`` world covariances ``R S S R^T`` from wxyz quats and linear scales."""
    M = quat_to_rotmat(quats) * scales[..., None, :]
    return M @ M.transpose(-1, -2)


def eval_sh(sh: torch.Tensor, dirs: torch.Tensor) -> torch.Tensor:
    """Evaluate real SH colour ``(N, 3)`` from coefficients ``(N, K, 3)`` and unit directions ``(N, 3)`` (no +0.5)."""
    K = sh.shape[1]
    x, y, z = dirs.unbind(-1)
    basis = [torch.full_like(x, SH_C0)]
    if K > 1:
        basis += [-SH_C1 * y, SH_C1 * z, -SH_C1 * x]
    if K > 4:
        xx, yy, zz = x * x, y * y, z * z
        basis += [SH_C2[0] * x * y, SH_C2[1] * y * z, SH_C2[2] * (2 * zz - xx - yy), SH_C2[3] * x * z, SH_C2[4] * (xx - yy)]
    if K > 9:
        basis += [
            SH_C3[0] * y * (3 * xx - yy), SH_C3[1] * x * y * z, SH_C3[2] * y * (4 * zz - xx - yy),
            SH_C3[3] * z * (2 * zz - 3 * xx - 3 * yy), SH_C3[4] * x * (4 * zz - xx - yy),
            SH_C3[5] * z * (xx - yy), SH_C3[6] * x * (xx - 3 * yy),
        ]
    B = torch.stack(basis, dim=-1)  # (N, K)
    return (B[..., None] * sh).sum(dim=-2)


@dataclass(frozen=True)
class Projected:
    """Screen-space Gaussians for one camera.

    Attributes:
        means2d: ``(N, 2)`` pixels; conics: ``(N, 3)`` upper triangle (a, b, c) of the
            inverse 2D covariance; depths: ``(N,)`` camera z, metres; radii: ``(N, 2)``
            int pixels (0 = culled); cov2d: ``(N, 2, 2)`` dilated 2D covariance.
    """

    means2d: torch.Tensor
    conics: torch.Tensor
    depths: torch.Tensor
    radii: torch.Tensor
    cov2d: torch.Tensor


def project_gaussians(g: Gaussians, camera: Camera, *, eps2d: float = EPS2D, near: float = NEAR) -> Projected:
    """EWA-project Gaussians into a camera (gsplat's pinhole maths, see module docstring)."""
    dt, dev = g.means.dtype, g.means.device
    R = torch.as_tensor(camera.R, dtype=dt, device=dev)
    t = torch.as_tensor(camera.t, dtype=dt, device=dev)
    K = torch.as_tensor(camera.K, dtype=dt, device=dev)
    W, H = camera.width, camera.height
    mc = g.means @ R.T + t
    cov_c = R @ covariances(g.quats, g.scales) @ R.T
    tx, ty, tz = mc.unbind(-1)
    fx, fy, cx, cy = K[0, 0], K[1, 1], K[0, 2], K[1, 2]
    tan_x, tan_y = 0.5 * W / fx, 0.5 * H / fy
    lim_xp, lim_xn = (W - cx) / fx + 0.3 * tan_x, cx / fx + 0.3 * tan_x
    lim_yp, lim_yn = (H - cy) / fy + 0.3 * tan_y, cy / fy + 0.3 * tan_y
    tz_safe = torch.where(tz.abs() > 1e-12, tz, torch.full_like(tz, 1e-12))
    txc = tz * torch.clamp(tx / tz_safe, min=-lim_xn, max=lim_xp)
    tyc = tz * torch.clamp(ty / tz_safe, min=-lim_yn, max=lim_yp)
    zero = torch.zeros_like(tz)
    J = torch.stack([fx / tz_safe, zero, -fx * txc / tz_safe**2, zero, fy / tz_safe, -fy * tyc / tz_safe**2], -1).reshape(-1, 2, 3)
    cov2d = J @ cov_c @ J.transpose(-1, -2) + eps2d * torch.eye(2, dtype=dt, device=dev)
    means2d = torch.stack([fx * tx / tz_safe + cx, fy * ty / tz_safe + cy], -1)
    det = (cov2d[:, 0, 0] * cov2d[:, 1, 1] - cov2d[:, 0, 1] * cov2d[:, 1, 0]).clamp_min(1e-10)
    conics = torch.stack([cov2d[:, 1, 1] / det, -0.5 * (cov2d[:, 0, 1] + cov2d[:, 1, 0]) / det, cov2d[:, 0, 0] / det], -1)
    with torch.no_grad():
        radii = torch.ceil(RADIUS_SIGMAS * torch.sqrt(torch.stack([cov2d[:, 0, 0], cov2d[:, 1, 1]], -1).clamp_min(0)))
        valid = (det > 0) & (tz > near) & torch.isfinite(mc).all(-1) & torch.isfinite(cov2d).flatten(1).all(-1)
        inside = ((means2d[:, 0] + radii[:, 0] > 0) & (means2d[:, 0] - radii[:, 0] < W)
                  & (means2d[:, 1] + radii[:, 1] > 0) & (means2d[:, 1] - radii[:, 1] < H))
        keep = valid & inside
        radii = torch.where(keep[:, None], torch.nan_to_num(radii), torch.zeros_like(radii)).to(torch.int64)
    return Projected(means2d=means2d, conics=conics, depths=tz, radii=radii, cov2d=cov2d)


def tile_lists(p: Projected, width: int, height: int, tile: int = 16) -> tuple[torch.Tensor, torch.Tensor]:
    """(tile id, gaussian id) pairs sorted by tile then depth: gsplat's tile intersection.

    A Gaussian touches tiles ``floor((mean - r) / tile) <= i < ceil((mean + r) / tile)`` (clamped).
    """
    tw, th = (width + tile - 1) // tile, (height + tile - 1) // tile
    with torch.no_grad():
        vis = torch.nonzero((p.radii > 0).all(-1)).squeeze(1)
        if vis.numel() == 0:
            e = torch.zeros(0, dtype=torch.int64, device=p.means2d.device)
            return e, e
        m = p.means2d[vis].detach()
        r = p.radii[vis].to(m.dtype)
        x0 = torch.floor((m[:, 0] - r[:, 0]) / tile).clamp(0, tw).to(torch.int64)
        x1 = torch.ceil((m[:, 0] + r[:, 0]) / tile).clamp(0, tw).to(torch.int64)
        y0 = torch.floor((m[:, 1] - r[:, 1]) / tile).clamp(0, th).to(torch.int64)
        y1 = torch.ceil((m[:, 1] + r[:, 1]) / tile).clamp(0, th).to(torch.int64)
        nx, ny = (x1 - x0).clamp_min(0), (y1 - y0).clamp_min(0)
        cnt = nx * ny
        rep = torch.repeat_interleave(torch.arange(vis.numel(), device=vis.device), cnt)
        local = torch.arange(rep.numel(), device=vis.device) - (torch.cumsum(cnt, 0) - cnt)[rep]
        tiles = (y0[rep] + local // nx[rep]) * tw + x0[rep] + local % nx[rep]
        gids = vis[rep]
        order = torch.argsort(p.depths.detach()[gids], stable=True)
        tiles, gids = tiles[order], gids[order]
        order = torch.argsort(tiles, stable=True)
        return tiles[order], gids[order]


@dataclass(frozen=True)
class GaussianRender:
    """Splatted image. rgb: ``(H, W, C)`` (background composited); alpha: ``(H, W)``;
    depth: ``(H, W)`` expected camera-z depth (accumulated depth / alpha, 0 where alpha = 0)."""

    rgb: torch.Tensor
    alpha: torch.Tensor
    depth: torch.Tensor


def composite(
    p: Projected,
    colors: torch.Tensor,
    opacities: torch.Tensor,
    width: int,
    height: int,
    *,
    tile: int = 16,
    alpha_max: float = 0.99,
    batch: int = 32,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Tiled front-to-back alpha compositing (differentiable).

    Args:
        p: projected Gaussians; colors: ``(N, C)``; opacities: ``(N,)``.
        batch: minimum Gaussians per tile composited per vectorised step (raised
            automatically when few tiles remain).
    Returns:
        ``(color (H, W, C), alpha (H, W), depth_sum (H, W))`` without background.
    """
    dev, dt = p.means2d.device, p.means2d.dtype
    C = colors.shape[1]
    tw, th = (width + tile - 1) // tile, (height + tile - 1) // tile
    n_tiles = tw * th
    out_c = torch.zeros((n_tiles, tile * tile, C), dtype=dt, device=dev)
    out_a = torch.zeros((n_tiles, tile * tile), dtype=dt, device=dev)
    out_d = torch.zeros((n_tiles, tile * tile), dtype=dt, device=dev)
    tiles, gids = tile_lists(p, width, height, tile)
    if tiles.numel():
        counts = torch.bincount(tiles, minlength=n_tiles)
        starts = torch.cumsum(counts, 0) - counts
        active = torch.nonzero(counts).squeeze(1)
        # pixel centres of every tile: (n_tiles, tile*tile, 2)
        ly, lx = torch.meshgrid(torch.arange(tile, device=dev), torch.arange(tile, device=dev), indexing="ij")
        tx, ty = active % tw, active // tw
        px = (tx[:, None] * tile + lx.reshape(1, -1)).to(dt) + 0.5
        py = (ty[:, None] * tile + ly.reshape(1, -1)).to(dt) + 0.5
        T = torch.ones((active.numel(), tile * tile), dtype=dt, device=dev)
        done = torch.zeros((active.numel(), tile * tile), dtype=torch.bool, device=dev)
        acc_c = torch.zeros((active.numel(), tile * tile, C), dtype=dt, device=dev)
        acc_d = torch.zeros((active.numel(), tile * tile), dtype=dt, device=dev)
        cnt_a, start_a = counts[active], starts[active]
        k, kmax = 0, int(cnt_a.max())
        while k < kmax:
            live = torch.nonzero((cnt_a > k) & (~done).any(1)).squeeze(1)
            if live.numel() == 0:
                break
            # Gaussians per step: at least `batch`, more when few tiles are left (~4M pair evaluations)
            B = int(min(max(batch, _STEP_BUDGET // (live.numel() * tile * tile)), 4096))
            j = torch.arange(k, k + B, device=dev)
            k += B
            slot_ok = j[None, :] < cnt_a[live, None]  # (L, B); padded slots get zero opacity
            idx = gids[(start_a[live, None] + j[None, :]).clamp(max=gids.numel() - 1)]  # (L, B)
            op = torch.where(slot_ok, opacities[idx], torch.zeros_like(opacities[idx]))
            mx, my = p.means2d[idx, 0], p.means2d[idx, 1]  # (L, B)
            ca, cb, cc = 0.5 * p.conics[idx, 0], p.conics[idx, 1], 0.5 * p.conics[idx, 2]
            dx = px[live][:, :, None] - mx[:, None, :]  # (L, P, B)
            dy = py[live][:, :, None] - my[:, None, :]
            sigma = dx * (ca[:, None] * dx + cb[:, None] * dy) + cc[:, None] * dy * dy
            alpha = torch.clamp_max(op[:, None, :] * torch.exp(-sigma), alpha_max)
            use = (sigma >= 0) & (alpha >= ALPHA_MIN) & ~done[live][:, :, None]
            alpha = torch.where(use, alpha, torch.zeros_like(alpha))
            T0 = T[live][:, :, None]
            Tcum = T0 * torch.cumprod(1.0 - alpha, dim=2)  # transmittance after each Gaussian
            # a pixel stops before the Gaussian that would bring it to <= T_MIN (Tcum is monotone,
            # so `include` is a prefix and zeroing the rest leaves the earlier weights unchanged)
            include = Tcum.detach() > T_MIN
            done = done.index_put((live,), done[live] | (~include).any(2))
            Tbefore = torch.cat([T0, Tcum[:, :, :-1]], dim=2)
            w = torch.where(include, alpha * Tbefore, torch.zeros_like(alpha))  # (L, P, B)
            acc_c = acc_c.index_add(0, live, torch.einsum("lpb,lbc->lpc", w, colors[idx]))
            acc_d = acc_d.index_add(0, live, torch.einsum("lpb,lb->lp", w, p.depths[idx]))
            T = T.index_put((live,), torch.where(include, Tcum, T0).amin(dim=2))
        out_c = out_c.index_put((active,), acc_c)
        out_a = out_a.index_put((active,), 1.0 - T)
        out_d = out_d.index_put((active,), acc_d)

    def untile(x: torch.Tensor) -> torch.Tensor:
        x = x.reshape(th, tw, tile, tile, *x.shape[2:]).transpose(1, 2)
        return x.reshape(th * tile, tw * tile, *x.shape[4:])[:height, :width]

    return untile(out_c), untile(out_a), untile(out_d)


def composite_reference(
    p: Projected, colors: torch.Tensor, opacities: torch.Tensor, width: int, height: int,
    *, tile: int = 16, alpha_max: float = 0.99,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Naive per-pixel Python loop twin of :func:`composite` (tests only; slow)."""
    tiles, gids = tile_lists(p, width, height, tile)
    tw = (width + tile - 1) // tile
    nc = colors.shape[1]
    img = [[[0.0] * nc for _ in range(width)] for _ in range(height)]
    acc = [[0.0] * width for _ in range(height)]
    m, con, op, col = (x.detach().double().tolist() for x in (p.means2d, p.conics, opacities, colors))
    tl, gl = tiles.tolist(), gids.tolist()
    per_tile: dict[int, list[int]] = {}
    for t_, g_ in zip(tl, gl):
        per_tile.setdefault(t_, []).append(g_)
    for r in range(height):
        for c in range(width):
            Tr = 1.0
            for g in per_tile.get((r // tile) * tw + c // tile, []):
                dx, dy = c + 0.5 - m[g][0], r + 0.5 - m[g][1]
                s = 0.5 * (con[g][0] * dx * dx + con[g][2] * dy * dy) + con[g][1] * dx * dy
                if s < 0:
                    continue
                a = min(alpha_max, op[g] * math.exp(-s))
                if a < ALPHA_MIN:
                    continue
                nT = Tr * (1 - a)
                if nT <= T_MIN:
                    break
                for ch in range(nc):
                    img[r][c][ch] += a * Tr * col[g][ch]
                Tr = nT
            acc[r][c] = 1 - Tr
    return torch.tensor(img, dtype=torch.float64), torch.tensor(acc, dtype=torch.float64)


def render_gaussians(
    g: Gaussians,
    camera: Camera,
    *,
    background: tuple[float, ...] | torch.Tensor | None = None,
    backend: Literal["auto", "torch", "gsplat"] = "auto",
    alpha_max: float = 0.99,
    tile: int = 16,
) -> GaussianRender:
    """Render Gaussians into one camera.

    Args:
        background: RGB in [0, 1] composited under the splats (default black).
        backend: ``"torch"`` (CPU/GPU, differentiable), ``"gsplat"`` (CUDA kernels;
            needs ``humokit[gsplat]`` and a GPU), ``"auto"`` = gsplat when
            :func:`has_gsplat_cuda` and the tensors are on CUDA, else torch.
    Returns:
        :class:`GaussianRender`; an empty (background) frame for an empty set.
    """
    W, H = camera.width, camera.height
    bg = background_color(g, background)
    if len(g) == 0:
        return empty_render(bg, W, H)
    use_gsplat = backend == "gsplat" or (backend == "auto" and has_gsplat_cuda() and g.means.is_cuda)
    if use_gsplat:
        return _render_gsplat(g, camera, bg)
    p = project_gaussians(g, camera)
    rgb, alpha, dsum = composite(p, view_colors(g, camera), g.opacities, W, H, tile=tile, alpha_max=alpha_max)
    return finish_render(rgb, alpha, dsum, bg)


def background_color(g: Gaussians, background: tuple[float, ...] | torch.Tensor | None) -> torch.Tensor:
    """``(3,)`` background RGB on the Gaussians' device and dtype (black by default)."""
    dev, dt = g.means.device, g.means.dtype
    return torch.zeros(3, dtype=dt, device=dev) if background is None else torch.as_tensor(background, dtype=dt, device=dev)


def empty_render(bg: torch.Tensor, W: int, H: int) -> GaussianRender:
    """The frame of an empty Gaussian set: background colour, zero alpha and depth."""
    zeros = torch.zeros((H, W), dtype=bg.dtype, device=bg.device)
    return GaussianRender(rgb=bg.expand(H, W, 3).clone(), alpha=zeros, depth=zeros.clone())


def view_colors(g: Gaussians, camera: Camera) -> torch.Tensor:
    """``(N, 3)`` RGB of each Gaussian seen from ``camera``'s centre (SH + 0.5, clamped at 0)."""
    cam_center = torch.as_tensor(camera.center, dtype=g.means.dtype, device=g.means.device)
    dirs = g.means - cam_center
    dirs = dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    return torch.clamp_min(eval_sh(g.sh, dirs) + 0.5, 0.0)


def finish_render(rgb: torch.Tensor, alpha: torch.Tensor, dsum: torch.Tensor, bg: torch.Tensor) -> GaussianRender:
    """Blend the background under accumulated ``rgb`` and normalise accumulated depth by alpha."""
    rgb = rgb + (1.0 - alpha)[..., None] * bg
    depth = torch.where(alpha > 0, dsum / alpha.clamp_min(1e-12), torch.zeros_like(dsum))
    return GaussianRender(rgb=rgb, alpha=alpha, depth=depth)


def _render_gsplat(g: Gaussians, camera: Camera, bg: torch.Tensor) -> GaussianRender:
    if not has_gsplat():
        raise MissingDependencyError("gsplat", "gsplat")
    if not torch.cuda.is_available():
        raise InputError("render_gaussians: backend 'gsplat' needs a CUDA device; use backend='torch'")
    from gsplat import rasterization

    dev = torch.device("cuda")
    gg = g.to(dev, torch.float32)
    viewmat = torch.as_tensor(camera.world_to_camera, dtype=torch.float32, device=dev)[None]
    K = torch.as_tensor(camera.K, dtype=torch.float32, device=dev)[None]
    colors, alphas, _ = rasterization(
        gg.means, gg.quats, gg.scales, gg.opacities, gg.sh, viewmat, K, camera.width, camera.height,
        sh_degree=g.sh_degree, backgrounds=bg.to(dev, torch.float32)[None], render_mode="RGB+ED",
    )
    return GaussianRender(rgb=colors[0, ..., :3].to(g.means.device), alpha=alphas[0, ..., 0].to(g.means.device),
                          depth=colors[0, ..., 3].to(g.means.device))


# ---------------------------------------------------------------------------
# .ply I/O (the standard 3DGS layout)

_PLY_TYPES = {"float": "f4", "float32": "f4", "double": "f8", "float64": "f8", "uchar": "u1", "uint8": "u1",
              "char": "i1", "int8": "i1", "short": "i2", "int16": "i2", "ushort": "u2", "uint16": "u2",
              "int": "i4", "int32": "i4", "uint": "u4", "uint32": "u4"}


def save_ply(path: str | Path, g: Gaussians) -> None:
    """Write the standard 3DGS ``.ply`` (binary little endian; log scales, logit opacity, wxyz rot)."""
    N, K = len(g), g.sh.shape[1]
    sh = g.sh.detach().cpu().double().numpy()
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(3 * (K - 1))]
    names += ["opacity", "scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"]
    op = g.opacities.detach().cpu().double().numpy().clip(1e-7, 1 - 1e-7)
    cols = [
        g.means.detach().cpu().double().numpy(), np.zeros((N, 3)), sh[:, 0, :],
        sh[:, 1:, :].transpose(0, 2, 1).reshape(N, -1),  # channel-major, as 3DGS stores f_rest
        np.log(op / (1 - op))[:, None], np.log(g.scales.detach().cpu().double().numpy().clip(1e-12)),
        g.quats.detach().cpu().double().numpy(),
    ]
    data = np.concatenate(cols, axis=1).astype("<f4")
    header = "ply\nformat binary_little_endian 1.0\nelement vertex %d\n" % N
    header += "".join(f"property float {n}\n" for n in names) + "end_header\n"
    with atomic_path(path) as tmp:
        with open(tmp, "wb") as fh:
            fh.write(header.encode("ascii"))
            fh.write(np.ascontiguousarray(data).tobytes())


def load_ply(path: str | Path) -> Gaussians:
    """Read a 3DGS ``.ply`` (binary; any SH degree 0..3) into :class:`Gaussians` (linear scales, opacity in [0, 1])."""
    path = Path(path)
    raw = path.read_bytes()
    end = raw.find(b"end_header\n")
    if not raw.startswith(b"ply") or end < 0:
        raise FileFormatError(path, "not a PLY file")
    header = raw[:end].decode("ascii", errors="replace").splitlines()
    fmt, n, props, in_vertex = None, 0, [], False
    for line in header:
        tok = line.split()
        if not tok:
            continue
        if tok[0] == "format":
            fmt = tok[1]
        elif tok[0] == "element":
            in_vertex = tok[1] == "vertex"
            if in_vertex:
                n = int(tok[2])
            elif props == [] and n == 0:
                raise FileFormatError(path, "the vertex element must come first")
        elif tok[0] == "property" and in_vertex:
            if tok[1] == "list" or tok[1] not in _PLY_TYPES:
                raise FileFormatError(path, f"unsupported vertex property {' '.join(tok[1:])!r}")
            props.append((tok[2], _PLY_TYPES[tok[1]]))
    if fmt not in ("binary_little_endian", "binary_big_endian"):
        raise FileFormatError(path, f"unsupported PLY format {fmt!r} (binary only)")
    order = "<" if fmt == "binary_little_endian" else ">"
    dtype = np.dtype([(name, order + t) for name, t in props])
    body = raw[end + len(b"end_header\n"):]
    if len(body) < n * dtype.itemsize:
        raise FileFormatError(path, f"file is truncated ({len(body)} bytes for {n} vertices)")
    arr = np.frombuffer(body, dtype=dtype, count=n)
    names = set(arr.dtype.names or ())
    need = ["x", "y", "z", "f_dc_0", "f_dc_1", "f_dc_2", "opacity", "scale_0", "scale_1", "scale_2",
            "rot_0", "rot_1", "rot_2", "rot_3"]
    missing = [k for k in need if k not in names]
    if missing:
        raise FileFormatError(path, f"not a 3DGS PLY: missing {', '.join(missing)}")
    n_rest = sum(1 for k in names if k.startswith("f_rest_"))
    K = 1 + n_rest // 3
    if K not in (1, 4, 9, 16) or n_rest % 3:
        raise FileFormatError(path, f"{n_rest} f_rest_* properties do not match an SH degree of 0..3")

    def col(*ks: str) -> np.ndarray:
        return np.stack([arr[k].astype(np.float64) for k in ks], axis=1)

    sh = np.zeros((n, K, 3))
    sh[:, 0] = col("f_dc_0", "f_dc_1", "f_dc_2")
    if K > 1:
        sh[:, 1:] = col(*[f"f_rest_{i}" for i in range(n_rest)]).reshape(n, 3, K - 1).transpose(0, 2, 1)
    f = lambda a: torch.from_numpy(np.ascontiguousarray(a)).float()  # noqa: E731
    return Gaussians(
        means=f(col("x", "y", "z")),
        quats=f(col("rot_0", "rot_1", "rot_2", "rot_3")),
        scales=f(np.exp(col("scale_0", "scale_1", "scale_2"))),
        opacities=f(1.0 / (1.0 + np.exp(-arr["opacity"].astype(np.float64)))),
        sh=f(sh),
    )


# ---------------------------------------------------------------------------
# Gaussians bound to a body


@dataclass(frozen=True)
class BodyGaussians:
    """Gaussians in a body's rest pose with skinning weights.

    Attributes:
        gaussians: rest-pose Gaussians (world axes, metres).
        weights: ``(N, 22)`` LBS weights on the canonical joints.
        face_ids: ``(N,)`` face each Gaussian was made on.
        joints_rest: ``(22, 3)`` rest joints; R_rest_to_canonical: ``(22, 3, 3)``.
    """

    gaussians: Gaussians
    weights: torch.Tensor
    face_ids: torch.Tensor
    joints_rest: torch.Tensor
    R_rest_to_canonical: torch.Tensor


def gaussians_from_mesh(
    rest: object,
    per_face: int = 1,
    *,
    colors: torch.Tensor | np.ndarray | None = None,
    opacity: float = 0.95,
    thickness: float = 0.15,
    seed: int = 0,
) -> BodyGaussians:
    """Initialise Gaussians on the faces of a rest body.

    ``per_face`` Gaussians per face at barycentric points (centroid for 1,
    seeded random points otherwise), flat discs: in-plane scale = mean edge
    length / (3 sqrt(per_face)), normal scale ``thickness`` times that; rotation
    from the face's (edge, normal) frame; weights and colours barycentric
    blends of the vertices'.

    Args:
        rest: a :class:`~humokit.body.RestBody`.
        colors: ``(V, 3)`` vertex colours in [0, 1] (default light grey).
    """
    if per_face < 1:
        raise InputError(f"gaussians_from_mesh: per_face must be >= 1, got {per_face}")
    V = rest.vertices.detach().to(torch.float32)  # type: ignore[attr-defined]
    Fc = rest.faces.to(torch.int64)  # type: ignore[attr-defined]
    Wv = rest.weights.detach().to(torch.float32)  # type: ignore[attr-defined]
    nF = Fc.shape[0]
    if per_face == 1:
        b = torch.full((nF, 1, 3), 1.0 / 3.0)
    else:
        gen = torch.Generator().manual_seed(seed)
        r1, r2 = torch.rand(nF, per_face, generator=gen), torch.rand(nF, per_face, generator=gen)
        s = r1.sqrt()
        b = torch.stack([1 - s, s * (1 - r2), s * r2], dim=-1)
    tri = V[Fc]  # (F, 3, 3)
    means = torch.einsum("fkc,fcd->fkd", b, tri).reshape(-1, 3)
    wts = torch.einsum("fkc,fcj->fkj", b, Wv[Fc]).reshape(-1, Wv.shape[1])
    e0 = tri[:, 1] - tri[:, 0]
    n = torch.cross(e0, tri[:, 2] - tri[:, 0], dim=1)
    n = n / n.norm(dim=1, keepdim=True).clamp_min(1e-12)
    x = e0 / e0.norm(dim=1, keepdim=True).clamp_min(1e-12)
    y = torch.cross(n, x, dim=1)
    Rf = torch.stack([x, y, n], dim=2)  # columns = local axes in the world
    quats = rotmat_to_quat_wxyz(Rf.double()).float().repeat_interleave(per_face, dim=0)
    edge = ((tri[:, 1] - tri[:, 0]).norm(dim=1) + (tri[:, 2] - tri[:, 1]).norm(dim=1) + (tri[:, 0] - tri[:, 2]).norm(dim=1)) / 3
    s_in = (edge / (3 * math.sqrt(per_face))).clamp_min(1e-5)
    scales = torch.stack([s_in, s_in, thickness * s_in], dim=1).repeat_interleave(per_face, dim=0)
    if colors is None:
        rgb = torch.full((means.shape[0], 3), 0.8)
    else:
        cv = torch.as_tensor(np.asarray(colors), dtype=torch.float32)
        rgb = torch.einsum("fkc,fcd->fkd", b, cv[Fc]).reshape(-1, 3)
    N = means.shape[0]
    g = Gaussians.from_colors(means, quats, scales, torch.full((N,), float(opacity)), rgb)
    return BodyGaussians(
        gaussians=g, weights=wts, face_ids=torch.arange(nF).repeat_interleave(per_face),
        joints_rest=rest.joints.detach().to(torch.float32),  # type: ignore[attr-defined]
        R_rest_to_canonical=rest.R_rest_to_canonical.detach().to(torch.float32),  # type: ignore[attr-defined]
    )


def skin_gaussians(body: BodyGaussians, R_world: torch.Tensor, joints: torch.Tensor) -> Gaussians:
    """Pose body-bound Gaussians with LBS (differentiable).

    Means go through the blended affine ``A_g x + b_g``; quaternions are
    rotated by the rotation nearest to ``A_g`` (polar decomposition); scales,
    opacities and SH stay (SH are not rotated).

    Args:
        R_world: ``(22, 3, 3)`` posed joint-to-world rotations (``BodyOutput.R_world[t]``).
        joints: ``(22, 3)`` posed joints, metres (``BodyOutput.joints[t]``).
    """
    import roma

    from humokit.body.skinning import skinning_transforms

    g = body.gaussians
    dt = g.means.dtype
    A, b = skinning_transforms(R_world.to(dt), joints.to(dt), body.joints_rest.to(dt), body.R_rest_to_canonical.to(dt))
    Ag = torch.einsum("nj,jab->nab", body.weights.to(dt), A)
    bg = body.weights.to(dt) @ b
    means = (Ag @ g.means[..., None])[..., 0] + bg
    Rg = roma.special_procrustes(Ag.double()).to(dt)
    quats = rotmat_to_quat_wxyz((Rg @ quat_to_rotmat(g.quats).double().to(dt)).double()).to(dt)
    return replace(g, means=means, quats=quats)


def __getattr__(name: str) -> object:
    """Names that moved to another module (one release, with a ``DeprecationWarning``)."""
    from humokit import _deprecated

    return _deprecated.moved_name(__name__, name)
