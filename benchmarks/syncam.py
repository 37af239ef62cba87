"""Multi-view camera adapter (humokit.video.syncam): training speed, loss with/without view attention, dataset throughput.

CPU (default), all in one run:

1. A tiny ``WanTransformer3DModel`` (2 blocks, dim 32) is first trained as a
   single-view denoiser of synthetic latent scenes (it stands in for a
   pretrained base), then frozen; an adapter is trained on 4-view scenes
   (3 latent frames = 9 video frames, 4x4 latents = 32x32 pixels) with the
   view attention and, as the ablation, with attention inside each view only.
   Printed: optimiser steps/s and the flow-matching loss on fixed held-out
   batches (fixed sigmas and noise) along training, plus the analytic optimum
   of a per-view and of a 4-view denoiser for these scenes.
2. ``humokit dataset multiview`` rendering throughput (views x frames / s) on
   the Anny body at 128x128.

``--gpu``: a production-shaped Wan2.1-T2V-1.3B transformer (30 blocks, dim
1536, random weights, bf16) with the adapter, 4 views x 21 latent frames
(81 video frames) at 480x832, gradient checkpointing: seconds per training
step and peak memory, with and without the adapter's view attention.

    python benchmarks/syncam.py [--steps 400] [--gpu]
"""

from __future__ import annotations

import argparse
import copy
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from humokit.video.syncam.adapter import SynCamConfig, inject
from humokit.video.syncam.synthetic import pretrain_base, synthetic_batches
from humokit.video.syncam.train import FlowSchedule, train_adapter

DATA = dict(channels=4, height=4, width=4, frames=3, text_dim=16)
V = 4


def tiny_transformer():  # noqa: ANN201
    from diffusers import WanTransformer3DModel

    return WanTransformer3DModel(patch_size=(1, 2, 2), num_attention_heads=2, attention_head_dim=16, in_channels=4,
                                 out_channels=4, text_dim=16, freq_dim=32, ffn_dim=64, num_layers=2,
                                 rope_max_seq_len=32)


def eval_loss(t: torch.nn.Module, a: object, batches: int = 16, seed: int = 123) -> float:
    make = synthetic_batches(num_views=V, batch_size=8, view_noise=0.0, seed=seed, **DATA)
    g = torch.Generator().manual_seed(seed)
    tot = 0.0
    for s in range(batches):
        b = make(s)
        sig = FlowSchedule(3.0).sample_sigmas(8, g).repeat_interleave(V)
        noise = torch.randn(b.latents.shape, generator=g)
        sv = sig[:, None, None, None, None]
        a.set_cameras(b.cameras, V)  # type: ignore[attr-defined]
        with torch.no_grad():
            pred = t((1 - sv) * b.latents + sv * noise, sig * 1000, b.text, return_dict=False)[0]
        tot += float(((pred - (noise - b.latents)) ** 2).mean())
    return tot / batches


def optimum(views: int, shift: float = 3.0, n: int = 4000) -> float:
    """Expected MMSE of the velocity for i.i.d. N(0,1) scenes seen by ``views`` views (sigma from the shifted schedule)."""
    u = np.random.default_rng(0).uniform(1e-3, 1 - 1e-3, n)
    out = []
    for s in shift * u / (1 + (shift - 1) * u):
        A = np.zeros((views, views + 1))
        A[:, 0] = 1 - s
        A[np.arange(views), np.arange(views) + 1] = s
        tv = np.zeros(views + 1)
        tv[0], tv[1] = -1.0, 1.0
        Syy, Sty = A @ A.T, tv @ A.T
        out.append(2.0 - Sty @ np.linalg.solve(Syy, Sty))
    return float(np.mean(out))


def bench_tiny(steps: int, lr: float) -> None:
    torch.set_num_threads(1)  # tiny ops: more threads only add overhead
    torch.manual_seed(0)
    base = tiny_transformer()
    t0 = time.perf_counter()
    pre = pretrain_base(base, steps=300, batch_size=16, **DATA)
    print(f"tiny base pretraining (single-view, 300 steps): {time.perf_counter() - t0:.1f} s, "
          f"final loss {np.mean(pre[-30:]):.3f}")
    data = synthetic_batches(num_views=V, batch_size=8, view_noise=0.0, **DATA)
    marks = sorted({0, steps // 4, steps // 2, 3 * steps // 4, steps})
    rows = []
    for name, va in (("view attention", True), ("no view attention (ablation)", False)):
        t = copy.deepcopy(base)
        a = inject(t, SynCamConfig(view_attention=va))
        curve, done, sps = [eval_loss(t, a)], 0, []
        for m in marks[1:]:
            r = train_adapter(t, a, data, steps=m - done, lr=lr, schedule=FlowSchedule(3.0), progress=False,
                              seed=m)
            sps.append(r.steps_per_second)
            done = m
            curve.append(eval_loss(t, a))
        rows.append((name, float(np.mean(sps)), curve))
    print(f"\nadapter training: {V} views x 3 latent frames x 4x4 latents, batch 8 scenes, lr {lr}, "
          f"{sum(p.numel() for p in a.parameters())} adapter parameters")
    print(f"{'run':<30} {'steps/s':>8} " + " ".join(f"{'@' + str(m):>8}" for m in marks))
    for name, s, curve in rows:
        print(f"{name:<30} {s:8.1f} " + " ".join(f"{c:8.3f}" for c in curve))
    print(f"{'analytic optimum, 1 view':<30} {'':>8} {optimum(1):8.3f}")
    print(f"{'analytic optimum, 4 views':<30} {'':>8} {optimum(V):8.3f}")


def bench_dataset() -> None:
    import dataclasses

    from humokit.motion.builtin import builtin_motion
    from humokit.video.syncam.dataset import _body, build_dataset

    with tempfile.TemporaryDirectory() as d:
        m = dataclasses.replace(builtin_motion("walk", seconds=1.0), meta={"text": "a person walks"})
        m.save(str(Path(d) / "walk.npz"))
        _body()
        views, frames = 4, 9
        t0 = time.perf_counter()
        build_dataset([Path(d) / "walk.npz"], Path(d) / "ds", scenes=2, views=views, frames=frames, width=128,
                      height=128, layout="hemisphere")
        dt = time.perf_counter() - t0
    print(f"\ndataset multiview (Anny, 128x128, {views} views x {frames} frames x 2 scenes): {dt:.1f} s, "
          f"{2 * views * frames / dt:.2f} view-frames/s")


def bench_gpu(steps: int = 3) -> None:
    from diffusers import WanTransformer3DModel

    assert torch.cuda.is_available(), "--gpu needs CUDA"
    dev = torch.device("cuda")
    cfg = dict(patch_size=(1, 2, 2), num_attention_heads=12, attention_head_dim=128, in_channels=16, out_channels=16,
               text_dim=4096, freq_dim=256, ffn_dim=8960, num_layers=30, cross_attn_norm=True,
               qk_norm="rms_norm_across_heads", eps=1e-6)
    print("\nWan2.1-T2V-1.3B-shaped transformer, random weights, bf16, 4 views x 21 latent frames at 480x832, "
          "gradient checkpointing")
    print(f"{'run':<28} {'s/step':>8} {'peak GiB':>9} {'adapter M':>10}")
    for name, va in (("adapter, view attention", True), ("adapter, no view attention", False)):
        torch.manual_seed(0)
        t = WanTransformer3DModel(**cfg).to(dev, torch.bfloat16)
        t.enable_gradient_checkpointing()
        a = inject(t, SynCamConfig(view_attention=va), dtype=torch.float32)
        lat = torch.randn(4, 16, 21, 60, 104)
        text = torch.randn(4, 512, 4096)
        cams = torch.randn(4, 21, 12) * 0.1

        def batches(step: int, lat=lat, text=text, cams=cams):  # noqa: ANN001, ANN202
            from humokit.video.syncam.train import Batch

            return Batch(lat, text, cams, 4)

        torch.cuda.reset_peak_memory_stats()
        train_adapter(t, a, batches, steps=1, lr=1e-4, progress=False, autocast_dtype=torch.bfloat16, device=dev)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        r = train_adapter(t, a, batches, steps=steps, lr=1e-4, progress=False, autocast_dtype=torch.bfloat16,
                          device=dev)
        torch.cuda.synchronize()
        dt = (time.perf_counter() - t0) / steps
        peak = torch.cuda.max_memory_allocated() / 2**30
        n = sum(p.numel() for p in a.parameters()) / 1e6
        assert all(math.isfinite(x) for x in r.losses)
        print(f"{name:<28} {dt:8.2f} {peak:9.1f} {n:10.1f}")
        del t, a
        torch.cuda.empty_cache()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--steps", type=int, default=400, help="Adapter training steps per run (tiny model).")
    ap.add_argument("--lr", type=float, default=1e-2)
    ap.add_argument("--gpu", action="store_true", help="Only the production-shaped GPU measurement.")
    args = ap.parse_args()
    if args.gpu:
        bench_gpu()
        return
    bench_tiny(args.steps, args.lr)
    bench_dataset()


if __name__ == "__main__":
    main()
