"""A fast differentiable CPU splatting path for avatars: per-pixel pair lists.

:func:`humokit.render.gaussians.render_gaussians` composites tile by tile
(gsplat's scheme), which on a CPU spends its time in Python-level loops over
Gaussian batches. For avatars (thousands of small Gaussians, a few pixels
each) this module enumerates every (Gaussian, pixel) pair inside each
Gaussian's opacity-aware screen footprint at once, sorts the pairs by (pixel,
Gaussian depth) with one ``argsort`` and composites front to back with a
segmented cumulative sum of ``log(1 - alpha)`` (float64):

``T_k = exp(sum_{i<k} log(1 - alpha_i))``, ``C = sum_k alpha_k T_k c_k``.

The maths is gsplat's (same projection :func:`~humokit.render.gaussians.project_gaussians`,
0.3 px^2 dilation, ``alpha = min(alpha_max, o exp(-q/2))``, pairs with
``alpha < 1/255`` skipped, sorting by the camera depth of the Gaussian centre);
the only difference is that no pixel stops early at ``T <= 1e-4`` (the
ignored contributions are below 1e-4). :func:`render_gaussians_fast` has the
signature of :func:`~humokit.render.gaussians.render_gaussians` and returns
the same :class:`~humokit.render.gaussians.GaussianRender`; tests compare the
two.

Cost is proportional to the number of pairs (sum of footprint areas), not to
tiles x Gaussians, so it suits many small splats at 256-512 px.
"""

from __future__ import annotations

import torch

from humokit.render.camera import Camera
from humokit.render.gaussians import (
    ALPHA_MIN,
    GaussianRender,
    Gaussians,
    Projected,
    background_color,
    empty_render,
    finish_render,
    project_gaussians,
    view_colors,
)

_MAX_PAIRS = 30_000_000


def footprint_pairs(
    means2d: torch.Tensor,
    cov2d: torch.Tensor,
    opacities: torch.Tensor,
    valid: torch.Tensor,
    width: int,
    height: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(Gaussian, pixel) pairs whose pixel centre lies in the Gaussian's footprint box.

    The footprint half-extent per axis is ``sqrt(2 ln(255 o) cov_ii)`` pixels,
    the distance at which ``o exp(-q/2)`` falls to 1/255 along that axis
    (3.33 sigma for ``o = 1``).

    Args:
        means2d: ``(N, 2)`` pixels; cov2d: ``(N, 2, 2)`` px^2; opacities: ``(N,)``;
        valid: ``(N,)`` bool (in front of the camera, finite).
    Returns:
        ``(gid (M,), pix (M,))`` int64, pixel index ``row * width + col``.
    """
    with torch.no_grad():
        dev = means2d.device
        o = opacities.detach().clamp(1e-6, 1.0)
        ext = torch.sqrt((2.0 * torch.log(255.0 * o)).clamp_min(0.0)[:, None]
                         * torch.stack([cov2d[:, 0, 0], cov2d[:, 1, 1]], -1).detach().clamp_min(0.0))
        m = means2d.detach()
        # pixel centres c + 0.5 within [m - ext, m + ext]
        x0 = torch.ceil(m[:, 0] - ext[:, 0] - 0.5).clamp(0, width)
        x1 = torch.floor(m[:, 0] + ext[:, 0] - 0.5).clamp(-1, width - 1)
        y0 = torch.ceil(m[:, 1] - ext[:, 1] - 0.5).clamp(0, height)
        y1 = torch.floor(m[:, 1] + ext[:, 1] - 0.5).clamp(-1, height - 1)
        ok = valid & (o * 1.0 >= ALPHA_MIN) & torch.isfinite(ext).all(-1)
        nx = torch.where(ok, (x1 - x0 + 1).clamp_min(0), torch.zeros_like(x0)).to(torch.int64)
        ny = torch.where(ok, (y1 - y0 + 1).clamp_min(0), torch.zeros_like(y0)).to(torch.int64)
        cnt = nx * ny
        total = int(cnt.sum())
        if total > _MAX_PAIRS:
            raise MemoryError(f"splatting: {total} Gaussian-pixel pairs (Gaussians too large for this image)")
        gid = torch.repeat_interleave(torch.arange(means2d.shape[0], device=dev), cnt)
        per = torch.stack([x0.to(torch.int64), y0.to(torch.int64), nx, torch.cumsum(cnt, 0) - cnt], 1).index_select(0, gid)
        local = torch.arange(total, device=dev) - per[:, 3]
        col = per[:, 0] + local % per[:, 2]
        row = per[:, 1] + torch.div(local, per[:, 2], rounding_mode="floor")
        return gid, row * width + col


def splat(
    p: Projected,
    colors: torch.Tensor,
    opacities: torch.Tensor,
    width: int,
    height: int,
    *,
    alpha_max: float = 0.99,
    keep: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Front-to-back compositing over per-pixel pair lists (differentiable).

    Args:
        p: projected Gaussians (``radii == 0`` marks culled ones); colors: ``(N, C)``; opacities: ``(N,)``.
        keep: optional ``(N,)`` bool, Gaussians to draw (e.g. not back-facing).
    Returns:
        ``(color (H, W, C), alpha (H, W), depth_sum (H, W))`` without background.
    """
    dev, dt = p.means2d.device, p.means2d.dtype
    C = colors.shape[1]
    P = width * height
    out_c = torch.zeros((P, C), dtype=dt, device=dev)
    out_a = torch.zeros(P, dtype=dt, device=dev)
    out_d = torch.zeros(P, dtype=dt, device=dev)

    def done() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        return out_c.reshape(height, width, C), out_a.reshape(height, width), out_d.reshape(height, width)

    with torch.no_grad():
        valid = (p.radii > 0).all(-1)
        if keep is not None:
            valid = valid & keep
        vis = torch.nonzero(valid).squeeze(1)
        vis = vis.index_select(0, torch.argsort(p.depths.detach().index_select(0, vis), stable=True))  # front to back
    if vis.numel() == 0:
        return done()
    # one packed gather per pair: mean (2), conic (3), opacity, depth
    pack = torch.cat([p.means2d, p.conics, opacities[:, None], p.depths[:, None]], dim=1).index_select(0, vis)
    col = colors.index_select(0, vis)
    need_grad = torch.is_grad_enabled() and (pack.requires_grad or col.requires_grad)
    with torch.no_grad():
        pk = pack.detach()
        lid, pix = footprint_pairs(pk[:, 0:2], p.cov2d.detach().index_select(0, vis), pk[:, 5],
                                   torch.ones_like(vis, dtype=torch.bool), width, height)
        a = pk.index_select(0, lid)
        px = (pix % width).to(dt) + 0.5
        py = torch.div(pix, width, rounding_mode="floor").to(dt) + 0.5
        dx, dy = px - a[:, 0], py - a[:, 1]
        q = a[:, 2] * dx * dx + 2.0 * a[:, 3] * dx * dy + a[:, 4] * dy * dy
        a0 = a[:, 5] * torch.exp(-0.5 * q)
        ok = torch.nonzero((q >= 0) & (a0 >= ALPHA_MIN)).squeeze(1)
        pix = pix.index_select(0, ok)
        pix, order = torch.sort(pix, stable=True)  # pairs were generated front to back
        sel = ok.index_select(0, order)
        lid = lid.index_select(0, sel)
        counts = torch.bincount(pix, minlength=P)
        starts = torch.cumsum(counts, 0) - counts
        if not need_grad:  # inference: reuse this pass's alphas
            alpha = a0.index_select(0, sel).clamp_max(alpha_max)
            depth = a[:, 6].index_select(0, sel)
        else:
            px, py = px.index_select(0, sel), py.index_select(0, sel)
    if lid.numel() == 0:
        return done()
    if need_grad:
        a = pack.index_select(0, lid)
        dx, dy = px - a[:, 0], py - a[:, 1]
        q = a[:, 2] * dx * dx + 2.0 * a[:, 3] * dx * dy + a[:, 4] * dy * dy
        alpha = torch.clamp(a[:, 5] * torch.exp(-0.5 * q), max=alpha_max)
        depth = a[:, 6]
    la = torch.log1p(-alpha).to(torch.float64)
    cs = torch.cumsum(la, 0)
    excl = cs - la
    T = torch.exp(excl - excl.index_select(0, starts.index_select(0, pix))).to(dt)
    w = alpha * T
    out_c = out_c.index_add(0, pix, w[:, None] * col.index_select(0, lid))
    out_a = out_a.index_add(0, pix, w)
    out_d = out_d.index_add(0, pix, w * depth)
    return done()


def render_gaussians_fast(
    g: Gaussians,
    camera: Camera,
    *,
    background: tuple[float, ...] | torch.Tensor | None = None,
    alpha_max: float = 0.99,
    colors: torch.Tensor | None = None,
    keep: torch.Tensor | None = None,
) -> GaussianRender:
    """Render Gaussians into one camera with :func:`splat` (same maths as ``render_gaussians``).

    Args:
        g: Gaussians (any SH degree); background: RGB in [0, 1] (default black).
        colors: optional precomputed ``(N, 3)`` colours (skips SH evaluation).
        keep: optional ``(N,)`` bool mask of Gaussians to draw (back-face culling).
    """
    W, H = camera.width, camera.height
    bg = background_color(g, background)
    if len(g) == 0:
        return empty_render(bg, W, H)
    p = project_gaussians(g, camera)
    if colors is None:
        if g.sh.shape[1] == 1:  # degree 0: view-independent, skip the directions
            colors = torch.clamp_min(g.sh[:, 0] * 0.28209479177387814 + 0.5, 0.0)
        else:
            colors = view_colors(g, camera)
    rgb, alpha, dsum = splat(p, colors, g.opacities, W, H, alpha_max=alpha_max, keep=keep)
    return finish_render(rgb, alpha, dsum, bg)

