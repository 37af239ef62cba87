"""Rendering throughput: frames/s at 512x512 for the mesh rasterizer and the Gaussian splatter.

Run: ``python benchmarks/render.py [--size 512] [--repeats 3] [--threads N]``. Prints a table:

- controls (``--controls``, issue 22 target >= 10 view-frames/s): ``humokit render``'s
  pose+depth+mask at 832x480 (Wan size), 4 views x 33 frames, PNG + MP4, on ``--threads``
  cores, next to the per-frame torch rasterizer it replaced (baseline, same run), with bytes
  written per view with and without the opt-in plucker/metric-depth files and the load average;

- mesh: rasterize + shade (colour, normals, parts) of the 13,718-vertex Anny body (27,420 faces);
- gaussians (torch CPU): body-bound Gaussians on the Anny mesh (10k / 50k / 200k), forward only,
  and forward + backward for 10k (what training an avatar costs per view);
- gsplat CUDA rows when gsplat and a CUDA GPU exist.
"""

from __future__ import annotations

import argparse
import math
import time

import torch


def _timeit(fn, repeats: int) -> float:
    fn()  # warm-up
    ts = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    return min(ts)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=512)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=None)
    ap.add_argument("--counts", default="10000,50000,200000")
    ap.add_argument("--tile", type=int, default=16, help="Gaussian tile size in pixels (8 is faster for many small splats)")
    ap.add_argument("--controls", action="store_true", help="only the control-signal table (humokit render)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    if args.controls:
        controls(args.threads or torch.get_num_threads())
        return

    from humokit.body import create_body
    from humokit.motion.builtin import builtin_pose
    from humokit.render.camera import look_at
    from humokit.render.gaussians import Gaussians, gaussians_from_mesh, has_gsplat_cuda, render_gaussians, skin_gaussians
    from humokit.render.raster import rasterize, shade

    body = create_body("anny")
    rest = body.rest()
    out = body.forward(builtin_pose("apose"))
    V, F = out.vertices[0].float(), out.faces
    S = args.size
    cam = look_at([0.0, 0.9, 2.6], [0.0, 0.9, 0.0], width=S, height=S, fov_y=45)
    labels = rest.part_labels()
    rows = []

    def mesh_frame() -> None:
        r = rasterize(V, F, cam)
        shade(r, V, F, cam, part_labels=labels)

    t_r = _timeit(lambda: rasterize(V, F, cam), args.repeats)
    t_m = _timeit(mesh_frame, args.repeats)
    rows.append((f"mesh rasterize only ({V.shape[0]} v, {F.shape[0]} f)", t_r))
    rows.append(("mesh rasterize + shade (rgb, normals, parts)", t_m))

    def body_gaussians(n: int) -> Gaussians:
        per_face = max(1, math.ceil(n / F.shape[0]))
        bg = gaussians_from_mesh(rest, per_face)
        g = skin_gaussians(bg, out.R_world[0].float(), out.joints[0].float())
        idx = torch.randperm(len(g), generator=torch.Generator().manual_seed(0))[:n]
        return Gaussians(g.means[idx], g.quats[idx], g.scales[idx], g.opacities[idx], g.sh[idx])

    counts = [int(c) for c in args.counts.split(",")]
    for n in counts:
        g = body_gaussians(n)
        rows.append((f"gaussians torch CPU, {n // 1000}k, forward", _timeit(lambda: render_gaussians(g, cam, backend="torch", tile=args.tile), args.repeats)))
    g = body_gaussians(counts[0])
    means = g.means.clone().requires_grad_(True)
    gg = Gaussians(means, g.quats, g.scales, g.opacities, g.sh)

    def fwd_bwd() -> None:
        means.grad = None
        render_gaussians(gg, cam, backend="torch", tile=args.tile).rgb.sum().backward()

    rows.append((f"gaussians torch CPU, {counts[0] // 1000}k, forward+backward", _timeit(fwd_bwd, args.repeats)))
    if has_gsplat_cuda():
        for n in counts:
            g = body_gaussians(n).to("cuda")

            def run() -> None:
                render_gaussians(g, cam, backend="gsplat")
                torch.cuda.synchronize()

            rows.append((f"gsplat CUDA, {n // 1000}k, forward", _timeit(run, args.repeats)))
    else:
        rows.append(("gsplat CUDA", None))

    print(f"humokit render benchmark, {S}x{S}, torch {torch.__version__}, {torch.get_num_threads()} threads, tile {args.tile}")
    print(f"{'path':<56} {'ms/frame':>10} {'frames/s':>10}")
    for name, t in rows:
        if t is None:
            print(f"{name:<56} {'n/a (no CUDA/gsplat)':>21}")
        else:
            print(f"{name:<56} {1000 * t:>10.1f} {1 / t:>10.2f}")


def _bytes(folder) -> int:
    from pathlib import Path

    return sum(p.stat().st_size for p in Path(folder).rglob("*") if p.is_file())


def controls(threads: int, views: int = 4, frames: int = 33, width: int = 832, height: int = 480) -> None:
    """pose+depth+mask view-frames/s of render_multiview vs the per-frame torch rasterizer baseline."""
    import os
    import tempfile

    import numpy as np

    from humokit.body import create_body
    from humokit.motion.builtin import builtin_motion
    from humokit.render.controls import pose_clip
    from humokit.render.multiview import render_multiview, view_cameras
    from humokit.render.raster import rasterize
    from humokit.render.zbuffer import depth_maps, project_frames

    m = builtin_motion("walk", seconds=(frames - 1) / 16 + 0.1, fps=16).slice(0, frames)
    clip = pose_clip(m, create_body("anny"))
    cams = view_cameras("ring", views, clip, width=width, height=height)
    sig = ("pose", "depth", "mask")
    tmp = tempfile.mkdtemp(prefix="humokit_bench_render_")
    c = cams[0]
    V = clip.vertices.numpy().astype(np.float64)
    depth_maps(project_frames(V[:1], c.K[:1], c.R[:1], c.t[:1]), clip.faces.numpy(), width, height)  # compile once
    load0 = os.getloadavg()[0]
    rows = []
    t0 = time.perf_counter()
    for t in range(4):
        rasterize(clip.vertices[t], clip.faces, cams[0][t])
    rows.append(("baseline: torch rasterize, 1 frame at a time", 4 / (time.perf_counter() - t0), None))
    t0 = time.perf_counter()
    for a in range(0, frames, 8):
        depth_maps(project_frames(V[a:a + 8], c.K[a:a + 8], c.R[a:a + 8], c.t[a:a + 8]), clip.faces.numpy(), width, height)
    rows.append(("z-buffer kernel, 8 frames per launch", frames / (time.perf_counter() - t0), None))
    for label, kw in (("render pose+depth+mask, MP4 + PNG", {}), ("render pose+depth+mask, MP4 only", {"png": False}),
                      ("  + --plucker --metric-depth (old default files)", {"plucker": True, "metric_depth": True})):
        out = f"{tmp}/{len(rows)}"
        t0 = time.perf_counter()
        render_multiview(out, clip, cams, signals=sig, threads=threads, **kw)
        rows.append((label, views * frames / (time.perf_counter() - t0), _bytes(out) / views))
    load1 = os.getloadavg()[0]
    print(f"controls at {width}x{height}, {views} views x {frames} frames, {threads} threads, "
          f"{os.cpu_count()} CPUs, load average {load0:.1f} -> {load1:.1f} (other jobs share the CPUs)")
    print(f"{'path':<56} {'view-frames/s':>14} {'MB/view':>9}")
    for name, fps, b in rows:
        print(f"{name:<56} {fps:>14.2f} {'' if b is None else f'{b / 1e6:9.1f}'}")
    print("target (issue 22): >= 10 view-frames/s for pose+depth+mask at 832x480 on 2 cores")


if __name__ == "__main__":
    main()
